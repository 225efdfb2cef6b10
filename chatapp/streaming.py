"""One chat pipeline for both transports (POST and the WebSocket): a reply as a sequence of events.

`conversation_reply_events` screens a message, streams the chat model's answer through the output check,
stores the pair and yields what a client is told, in order: `Accepted` (screening passed), `Delta`s (text
that passed the output check, batched into a few frames a second) and `Done` (after storage). A failure
raises the app's error instead; nothing is stored then. The POST view gathers the events into one answer;
the socket handler sends each as a frame. A transport that can no longer reach its client throws
`ClientGone` into the events at the `yield` whose frame failed: the model stream is closed and the text
delivered so far is stored with stop_reason `stopped` (nothing when none was delivered).
"""

import contextlib
import contextvars
import queue
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from chatapp import repositories, selectors
from chatapp.clients import CHAT_SYSTEM_PROMPT, ReplyEnd, chat_model
from chatapp.exceptions import ModelUnavailable
from chatapp.repositories import Message, MessageItem
from chatapp.throttling import ChatRateLimits
from core import concurrency, observability
from core.exceptions import NotFound
from security.services.output import ReplyGate, chat_system_prompt
from security.services.screening import PromptLookup, ScreeningResult, prompt_lookup, prompt_screen

TITLE_CHARS = 60


@dataclass(frozen=True)
class ChatReply:
    conversation_id: str
    message: Message
    verdict_source: str


@dataclass(frozen=True)
class Accepted:
    conversation_id: str
    verdict_source: str


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Done:
    reply: ChatReply


ChatEvent = Accepted | Delta | Done


class ClientGone(Exception):
    """The client cannot be reached any more (its socket closed): thrown into the events by the transport."""


def conversation_reply_events(
    *,
    owner: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    rate_limits: ChatRateLimits,
    deadline: float | None = None,
    lookup: Future[PromptLookup] | None = None,
) -> Iterator[ChatEvent]:
    """Screen `raw` (the message as received), stream its answer, store the pair; yield Accepted, Deltas, Done.

    The message is counted against its `rate_limits` while the reads this needs are made at once: a stored
    answer to `request_id`, the conversation's history and the intent cache; over a limit is RateLimited,
    before any model call. An answered `request_id` replays Accepted, one Delta with the stored reply, and
    Done, with no model call. At `deadline` (time.monotonic()) the text written so far becomes the reply,
    stop_reason `time_limit`; with no text by then the model is unavailable. `lookup` is the intent-cache
    lookup of a first message when the caller started it already (it needs no owner); a follow-up
    is looked up in the context of its stored user turns, after its history is read.
    """
    reads = _reads_admitted(
        owner=owner,
        raw=raw,
        conversation_id=conversation_id,
        request_id=request_id,
        rate_limits=rate_limits,
        lookup=lookup,
    )
    if isinstance(reads, ChatReply):
        yield from _replayed(reads)
        return
    messages, looked_up = reads
    turns = _history_turns(messages)
    received_at = datetime.now(tz=UTC)
    screening, feed = _screened_feed(owner=owner, lookup=looked_up, turns=turns)
    accepted = Accepted(conversation_id or str(uuid.uuid4()), screening.source)
    delivered, stop_reason = yield from _answer_streamed(feed, accepted=accepted, owner=owner, deadline=deadline)
    if not delivered:
        return  # stopped before any text reached the client: nothing to store
    reply = _reply_store(
        owner=owner,
        conversation_id=conversation_id,
        new_conversation_id=accepted.conversation_id,
        request_id=request_id,
        screening=screening,
        pair_times=(received_at, datetime.now(tz=UTC)),
        content=delivered,
        stop_reason=stop_reason,
    )
    with contextlib.suppress(ClientGone):
        yield Done(reply)


def _reads_admitted(
    *,
    owner: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    rate_limits: ChatRateLimits,
    lookup: Future[PromptLookup] | None,
) -> ChatReply | tuple[list[MessageItem], PromptLookup]:
    """Make the reads a reply needs, all at once, while the message is counted against its rate limits.

    Return the stored answer to `request_id` if there is one, else the conversation's history (none for a new
    one) and the intent-cache lookup of `raw`. Once every read has finished, a refusal by the rate limits is
    raised first, then whatever the reads raised.
    """
    stored = concurrency.submit(_stored_reply, owner, request_id) if request_id else None
    # A follow-up's verdict is keyed on its context, so its cache read follows the history read in one task.
    history = concurrency.submit(_history_and_lookup, owner, conversation_id, raw) if conversation_id else None
    if history is None:
        lookup = lookup or prompt_lookup_start(raw=raw)
    reads = [read for read in (stored, history, lookup) if read is not None]
    try:
        rate_limits.check()
    finally:
        concurrency.settle(reads)
    if stored is not None and (replay := stored.result()):
        return replay
    return history.result() if history is not None else ([], lookup.result())


def _replayed(reply: ChatReply) -> Iterator[ChatEvent]:
    """Replay a stored answer: Accepted, one Delta with the whole reply, and Done; no model is called."""
    observability.record(idempotent_replay=True)
    yield Accepted(reply.conversation_id, reply.verdict_source)
    yield Delta(reply.message.content)
    yield Done(reply)


def _answer_streamed(
    feed: "ReplyFeed", *, accepted: Accepted, owner: str, deadline: float | None
) -> Generator[ChatEvent, None, tuple[str, str]]:
    """Yield `accepted`, then the answer's text as Deltas as it passes the output check; close the feed after.

    Return the text delivered and its stop_reason. ClientGone thrown in ends it, stop_reason `stopped`: the
    text delivered before it is kept (none when the client left before Accepted).
    """
    with feed:
        try:
            yield accepted
        except ClientGone:
            observability.record(stop_reason="stopped")
            return "", "stopped"
        gate = ReplyGate(system_prompt=feed.system_prompt, model_id=feed.model_id, owner=owner)
        delivered, stop_reason = "", "stopped"
        for piece in _released_text(feed, gate, deadline):
            try:
                yield Delta(piece)
            except ClientGone:
                break
            delivered += piece
        else:
            stop_reason = feed.end.stop_reason
    observability.record(stop_reason=stop_reason)
    observability.add_usage("chat", feed.end.usage)
    return delivered, stop_reason


def prompt_lookup_start(*, raw: str) -> Future[PromptLookup]:
    """Start the intent-cache lookup of the message `raw` in the request I/O pool (it needs no owner)."""
    return concurrency.submit(prompt_lookup, raw=raw)


def _reply_store(
    *,
    owner: str,
    conversation_id: str | None,
    new_conversation_id: str,
    request_id: str | None,
    screening: ScreeningResult,
    pair_times: tuple[datetime, datetime],
    content: str,
    stop_reason: str,
) -> ChatReply:
    """Store the message and its reply (with the request marker); return the stored reply, or an earlier one."""
    received_at, replied_at = pair_times
    user = _new_message("user", screening.screened, received_at)
    assistant = _new_message("assistant", content, replied_at, stop_reason=stop_reason)
    try:
        with observability.stage("history_write"):
            repositories.exchange_store(
                owner=owner,
                conversation_id=new_conversation_id,
                title=None if conversation_id else conversation_title(screening.screened),
                pair=(user, assistant),
                request_id=request_id,
                verdict_source=screening.source,
                now=replied_at,
            )
    except repositories.RequestAlreadyStored:
        answered = _stored_reply(owner, request_id or "")
        if answered is None:
            raise
        observability.record(idempotent_replay=True)
        return answered
    except repositories.ConversationGone:
        raise NotFound("The conversation was deleted.") from None
    return ChatReply(new_conversation_id, assistant, screening.source)


def _released_text(feed: "ReplyFeed", gate: ReplyGate, deadline: float | None) -> Iterator[str]:
    """Yield the reply's text as it passes the output check: the first text at once, then a frame at most
    every STREAM_FRAME_SECONDS (fewer, larger frames: each is one Management API call), the rest at the end.

    At `deadline` what was written so far is the whole reply (stop_reason time_limit), or, if nothing was,
    the model is unavailable.
    """
    interval = settings.STREAM_FRAME_SECONDS
    last_frame: float | None = None
    checked = 0  # how much text the last release looked at: a held tail alone never wakes the loop again
    while True:
        now = time.monotonic()
        due = [deadline] if deadline is not None else []
        if last_frame is not None and len(gate.text) > checked:
            due.append(last_frame + interval)
        piece = feed.next(timeout=max(0.0, min(due) - now) if due else None)
        if piece is ReplyFeed.END:
            if rest := gate.release(final=True):
                yield rest
            return
        if piece is not ReplyFeed.WAITING:
            gate.add(piece)
        elif deadline is not None and time.monotonic() >= deadline:
            if not gate.text.strip():
                raise ModelUnavailable(cause=TimeoutError("no text before the reply deadline"))
            feed.end.stop_reason = "time_limit"
            if rest := gate.release(final=True):
                yield rest
            return
        now = time.monotonic()
        if last_frame is None or now - last_frame >= interval:
            checked = len(gate.text)
            if released := gate.release():
                last_frame = now
                observability.record_first_text()
                yield released


class ReplyFeed:
    """The chat model's answer, read in its own thread into a queue: a transport never blocks on the model.

    Started before the verdict in parallel screening mode, its text stays in the queue until screening
    passes. Leaving the `with` block closes it: the model stream is closed at its next chunk. `system_prompt`
    is the one the model writes under, and the one the reply's output check compares it with.
    """

    END = object()
    WAITING = object()

    def __init__(self, turns: list[tuple[str, str]], screened: str, system_prompt: str) -> None:
        model = chat_model()
        self.model_id, self.system_prompt = model.model_id, system_prompt
        self.end = ReplyEnd()
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = threading.Event()
        run_in_context = contextvars.copy_context().run
        thread = threading.Thread(target=run_in_context, args=(self._pump, turns, screened), daemon=True)
        thread.name = "chat-model-stream"
        thread.start()
        self._thread = thread

    def _pump(self, turns: list[tuple[str, str]], screened: str) -> None:
        try:
            with observability.stage("chat_model"):
                stream = chat_model().stream(
                    system_prompt=self.system_prompt, history=turns, message=screened, end=self.end
                )
                try:
                    for piece in stream:
                        if self._closed.is_set():
                            return
                        self._queue.put(piece)
                finally:
                    stream.close()  # type: ignore[attr-defined]
            self._queue.put(self.END)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
            self._queue.put(exc)

    def next(self, *, timeout: float | None) -> object:
        """Return the next piece of text, END, or WAITING after `timeout` seconds; raise the model's error."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return self.WAITING
        if isinstance(item, BaseException):
            raise item
        return item

    def finished(self, *, timeout: float) -> bool:
        """Wait up to `timeout` for the model stream to end; return True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        self._closed.set()

    def __enter__(self) -> "ReplyFeed":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _screened_feed(
    *, owner: str, lookup: PromptLookup, turns: list[tuple[str, str]]
) -> tuple[ScreeningResult, ReplyFeed]:
    """Screen the looked-up message, then start its answer; the chat model never sees a message that failed.

    A passing model verdict starts the answer while the verdict is written to the intent cache; if that write
    fails, the answer is closed unread and the request fails as before. With SCREENING_MODE=parallel a cache
    miss starts the answer while the screening model runs, to hide its latency. Either way the text stays
    unread until screening has fully passed; otherwise it is closed unread (never stored, sent or logged) and
    only the tokens it had cost are counted. A cached verdict is used first, so a known-malicious message
    never reaches the chat model in either mode. The reply's system prompt (with the canary) is built here,
    once: the feed hands it to the chat model and keeps it for the reply's output check.
    """
    system_prompt = chat_system_prompt(instructions=CHAT_SYSTEM_PROMPT)
    if settings.SCREENING_MODE != "parallel" or lookup.cached is not None:
        started: list[ReplyFeed] = []
        try:
            screening = prompt_screen(
                lookup=lookup,
                owner=owner,
                while_caching=lambda passed: started.append(ReplyFeed(turns, passed.screened, system_prompt)),
            )
        except Exception:
            for feed in started:
                _discard(feed)
            raise
        return screening, _revealed(started[0] if started else ReplyFeed(turns, screening.screened, system_prompt))
    speculative = ReplyFeed(turns, lookup.screened, system_prompt)
    try:
        screening = prompt_screen(lookup=lookup, owner=owner)
    except Exception:
        _discard(speculative)
        raise
    return screening, _revealed(speculative)


def _revealed(feed: ReplyFeed) -> ReplyFeed:
    observability.record(chat_model=feed.model_id)
    return feed


def _discard(speculative: ReplyFeed) -> None:
    """Close a speculative answer screening refused, and count the tokens it cost; never read its text."""
    speculative.close()
    # Closed before the model reported its usage (its last event), the answer's cost is unknown: cancelled.
    if not speculative.finished(timeout=settings.SPECULATION_DISCARD_WAIT_SECONDS) or not speculative.end.usage:
        observability.record(speculative_reply="cancelled")
        return
    observability.record(speculative_reply="discarded")
    observability.add_usage("discarded", speculative.end.usage)


def conversation_title(text: str) -> str:
    """Return a title from the first message: its first line, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut.rstrip(".,;:") + "…"


def _history(owner: str, conversation_id: str) -> list[MessageItem]:
    # An even count keeps whole user/assistant pairs, so the history starts with a user turn.
    limit = settings.HISTORY_MESSAGES - settings.HISTORY_MESSAGES % 2
    with observability.stage("history_read"):
        meta, messages = repositories.conversation_history(conversation_id, limit=limit)
    selectors.conversation_owned(owner=owner, meta=meta)
    return messages


def _history_and_lookup(owner: str, conversation_id: str, raw: str) -> tuple[list[MessageItem], PromptLookup]:
    """Read the history, then look up the verdict on the message `raw` in the context of its stored user turns."""
    messages = _history(owner, conversation_id)
    return messages, prompt_lookup(raw=raw, context=[m.content for m in messages if m.role == "user"])


def _history_turns(messages: list[MessageItem]) -> list[tuple[str, str]]:
    """Return the history as (role, content) turns, whole pairs dropped oldest first past HISTORY_MAX_CHARS."""
    turns = [(m.role, m.content) for m in messages]
    total = sum(len(content) for _, content in turns)
    while turns and total > settings.HISTORY_MAX_CHARS:
        total -= sum(len(content) for _, content in turns[:2])
        turns = turns[2:]
    return turns


def _stored_reply(owner: str, request_id: str) -> ChatReply | None:
    stored = repositories.request_get(owner, request_id)
    if stored is None:
        return None
    stop_reason = stored.stop_reason or "end_turn"
    message = Message(stored.message_id, "assistant", stored.content, stored.created_at, stop_reason)
    return ChatReply(stored.conversation_id, message, stored.verdict_source)


def _new_message(role: str, content: str, at: datetime, *, stop_reason: str | None = None) -> Message:
    return Message(
        id=str(uuid.uuid4()), role=role, content=content, created_at=at.isoformat(), stop_reason=stop_reason
    )
