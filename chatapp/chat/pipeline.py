"""One chat pipeline for both transports (POST and the WebSocket): a message's steps, in call order, as events.

`conversation_reply_events` counts a message against its rate limits while it makes the reads it needs, screens
it, streams the chat model's answer through the output check, stores the pair and yields what a client is told:
`Accepted` (screening passed), `Delta`s (text that passed the output check) and `Done` (after storage). A
failure raises the app's error instead; nothing is stored then. A transport that can no longer reach its
client throws `ClientGone` in at the `yield` whose frame failed: the text delivered so far is stored with
stop_reason `stopped` (nothing when none was).
"""

import contextlib
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from billing.services import MessageSpend
from chatapp import repositories, selectors
from chatapp.chat.events import Accepted, ChatEvent, ChatReply, ClientGone, Delta, Done
from chatapp.chat.feed import ReleasedText, ReplyFeed
from chatapp.chat.replacement import STALE_REPLACEMENT, last_pair_split
from chatapp.chat.turn_order import History, exchange_store_in_order, pair_time_after
from chatapp.clients import CHAT_SYSTEM_PROMPT
from chatapp.repositories import Message, MessageItem, StoredPair
from chatapp.throttling import chat_rate_limits_check
from core import concurrency, observability
from core.exceptions import Conflict, NotFound
from security.services.output import ReplyGate, chat_system_prompt
from security.services.screening import (
    PromptLookup,
    ScreeningResult,
    prompt_lookup,
    prompt_screen,
    prompt_verdict_store,
)

TITLE_CHARS = 60


@dataclass(frozen=True)
class FirstReads:
    """What a message needs before screening: a stored answer to its request_id, else its history and lookup."""

    replay: ChatReply | None
    history: History
    lookup: PromptLookup | None
    replaced: StoredPair | None = None  # the pair `replaces` names, taken out of `history`


def conversation_reply_events(
    *,
    owner: str,
    ip: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    deadline: float | None = None,
    admission: Callable[[], None] | None = None,
    replaces: str | None = None,
) -> Iterator[ChatEvent]:
    """Yield `_reply_events`, the message's spend reserved beside its first reads and settled however it ends."""
    spend = MessageSpend(owner=owner, ip=ip, raw=raw, conversation_id=conversation_id)
    try:
        yield from _reply_events(
            owner=owner,
            ip=ip,
            raw=raw,
            conversation_id=conversation_id,
            request_id=request_id,
            deadline=deadline,
            spend=spend,
            admission=admission,
            replaces=replaces,
        )
    finally:
        spend.settle()


def _reply_events(
    *,
    owner: str,
    ip: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    deadline: float | None,
    spend: MessageSpend,
    admission: Callable[[], None] | None,
    replaces: str | None,
) -> Iterator[ChatEvent]:
    """Screen `raw` (the message as received), stream its answer, store the pair; yield Accepted, Deltas, Done.

    An answered `request_id` replays Accepted, one Delta with the stored reply, and Done, with no model call.
    At `deadline` (time.monotonic()) the text written so far becomes the reply, stop_reason `time_limit`.
    `admission` is the transport's own check on the caller (the socket's: does its ticket's session live?),
    made with the first reads; what it raises is raised before any model call. `spend` reserves the message's
    worst case beside the first reads (over a ceiling: BudgetExhausted, before any model call). `replaces` (the id
    of the conversation's last user message) answers the message as if that pair had never been: the pair goes
    when the new one is stored, in the same transaction (Conflict when it is not, or no longer, the last).
    """
    reads = _first_reads(
        owner=owner,
        ip=ip,
        raw=raw,
        conversation_id=conversation_id,
        request_id=request_id,
        spend=spend,
        admission=admission,
        replaces=replaces,
    )
    if reads.replay is not None:
        yield from _replayed(reads.replay)
        return
    assert reads.lookup is not None  # noqa: S101 - set whenever there is no replay
    received_at = datetime.now(tz=UTC)
    screening, feed = _screened_feed(owner=owner, lookup=reads.lookup, turns=_history_turns(reads.history.messages))
    accepted = Accepted(conversation_id or str(uuid.uuid4()), screening.source)
    earlier = [m.content for m in reads.history.messages if m.role == "assistant"]
    delivered, stop_reason = yield from _answer_streamed(
        feed, accepted=accepted, owner=owner, deadline=deadline, earlier=earlier
    )
    spend.settle_start()  # every call's usage is known now: settled beside the pair's write
    if not delivered:
        return  # stopped before any text reached the client: nothing to store
    reply = _reply_store(
        owner=owner,
        conversation_id=conversation_id,
        new_conversation_id=accepted.conversation_id,
        request_id=request_id,
        screening=screening,
        history=reads.history,
        raw=raw,
        pair_times=(received_at, datetime.now(tz=UTC)),
        content=delivered,
        stop_reason=stop_reason,
        replaces=reads.replaced,
    )
    with contextlib.suppress(ClientGone):
        yield Done(reply)


def _first_reads(
    *,
    owner: str,
    ip: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    spend: MessageSpend,
    admission: Callable[[], None] | None = None,
    replaces: str | None = None,
) -> FirstReads:
    """Make the reads a message needs, all at once, while it is counted against its rate limits.

    The reads: a stored answer to `request_id`, the conversation's history (none for a new one), and the
    intent-cache lookup of `raw` (a follow-up's in the context of its stored user turns, so after its history);
    and the `admission` check, if any; beside them, `spend` reserves the message's worst case. Once every read
    has finished, a refusal by the rate limits is raised first, then what the admission check raised, then one
    by the spending ceilings (a replay needs no model), then whatever the reads raised.
    """
    stored = concurrency.submit(_stored_reply, owner, request_id) if request_id else None
    if conversation_id:
        looked_up = concurrency.submit(_history_and_lookup, owner, conversation_id, raw, replaces)
    else:
        looked_up = concurrency.submit(lambda: (History(), prompt_lookup(raw=raw), None))
    admitted = concurrency.submit(admission) if admission is not None else None
    reads = [read for read in (stored, looked_up, admitted, spend.reserve_start()) if read is not None]
    try:
        chat_rate_limits_check(owner=owner, ip=ip)
    finally:
        concurrency.settle(reads)
    if admitted is not None:
        admitted.result()
    if stored is not None and (replay := stored.result()):
        return FirstReads(replay, History(), None)
    spend.admitted()
    history, lookup, replaced = looked_up.result()
    return FirstReads(None, history, lookup, replaced)


def _history_and_lookup(
    owner: str, conversation_id: str, raw: str, replaces: str | None = None
) -> tuple[History, PromptLookup, StoredPair | None]:
    """Read the history, then look up the verdict on the message `raw` in the context of the user turns the chat
    model will be shown with it (every one of them). The pair `replaces` names is taken out of the history first
    (read one pair longer, to make up for it), and returned apart."""
    # Whole user/assistant pairs, so the history starts with a user turn; never more pairs than a message is
    # screened with, so the chat model is shown no user turn that screening did not see with the message.
    limit = 2 * max(0, min(settings.HISTORY_MESSAGES // 2, settings.SCREENING_CONTEXT_TURNS)) + (2 if replaces else 0)
    with observability.stage("history_read"):
        meta, messages = repositories.conversation_history(conversation_id, limit=limit)
    selectors.conversation_owned(owner=owner, meta=meta)
    messages, replaced = last_pair_split(messages, replaces=replaces) if replaces else (messages, None)
    shown = [content for role, content in _history_turns(messages) if role == "user"]
    turns = int(meta.turns or 0) if meta is not None else 0
    return History(messages, turns), prompt_lookup(raw=raw, context=shown), replaced


def _replayed(reply: ChatReply) -> Iterator[ChatEvent]:
    """Replay a stored answer: Accepted, one Delta with the whole reply, and Done; no model is called.

    ClientGone thrown in ends the replay as it ends any reply: quietly, stop_reason `stopped` before the text.
    """
    observability.record(idempotent_replay=True)
    try:
        yield Accepted(reply.conversation_id, reply.verdict_source)
        yield Delta(reply.message.content)
    except ClientGone:
        observability.record(stop_reason="stopped")
        return
    with contextlib.suppress(ClientGone):
        yield Done(reply)


def _history_turns(messages: list[MessageItem]) -> list[tuple[str, str]]:
    """Return the history as (role, content) turns, whole pairs dropped oldest first past HISTORY_MAX_CHARS."""
    turns = [(m.role, m.content) for m in messages]
    total = sum(len(content) for _, content in turns)
    while turns and total > settings.HISTORY_MAX_CHARS:
        total -= sum(len(content) for _, content in turns[:2])
        turns = turns[2:]
    return turns


def _screened_feed(
    *, owner: str, lookup: PromptLookup, turns: list[tuple[str, str]]
) -> tuple[ScreeningResult, ReplyFeed]:
    """Screen the looked-up message, then start its answer; the chat model never sees a message that failed.

    A passing model verdict is written to the intent cache while the answer starts; if that write fails, the
    answer is discarded unread. With SCREENING_MODE=parallel a cache miss starts the answer while the
    screening model runs, to hide its latency; its text stays unread until screening has passed, and is
    discarded unread (never stored, sent or logged) otherwise. A cached verdict is used first, so a
    known-malicious message never reaches the chat model in either mode. The system prompt (with the canary)
    is built once: the feed hands it to the chat model and keeps it for the reply's output check.
    """
    system_prompt = chat_system_prompt(instructions=CHAT_SYSTEM_PROMPT)
    speculative = None
    if settings.SCREENING_MODE == "parallel" and lookup.cached is None:
        speculative = ReplyFeed(turns, lookup.screened, system_prompt)
    try:
        screening = prompt_screen(lookup=lookup, owner=owner)
    except Exception:
        if speculative is not None:
            speculative.discard()
        raise
    feed = speculative or ReplyFeed(turns, screening.screened, system_prompt)
    if screening.source == "model":
        try:
            prompt_verdict_store(result=screening)
        except Exception:
            feed.discard()
            raise
    observability.record(chat_model=feed.model_id)
    return screening, feed


def _answer_streamed(
    feed: ReplyFeed, *, accepted: Accepted, owner: str, deadline: float | None, earlier: list[str]
) -> Generator[ChatEvent, None, tuple[str, str]]:
    """Yield `accepted`, then the answer's text as Deltas as it passes the output check; close the feed after.

    The output check judges the answer after `earlier`, the conversation's stored replies (oldest first).

    Return the text delivered and its stop_reason. ClientGone thrown in ends it, stop_reason `stopped`: the
    text delivered before it is kept (none when the client left before Accepted).
    """
    with feed:
        try:
            yield accepted
        except ClientGone:
            observability.record(stop_reason="stopped")
            return "", "stopped"
        gate = ReplyGate(system_prompt=feed.system_prompt, model_id=feed.model_id, owner=owner, earlier=earlier)
        released = ReleasedText(feed, gate, deadline)
        delivered, stop_reason = "", "stopped"
        for piece in released:
            try:
                yield Delta(piece)
            except ClientGone:
                break
            delivered += piece
        else:
            stop_reason = released.stop_reason
    observability.record(stop_reason=stop_reason)
    observability.add_usage("chat", feed.end.usage)
    return delivered, stop_reason


def _reply_store(
    *,
    owner: str,
    conversation_id: str | None,
    new_conversation_id: str,
    request_id: str | None,
    screening: ScreeningResult,
    history: History,
    raw: str,
    pair_times: tuple[datetime, datetime],
    content: str,
    stop_reason: str,
    replaces: StoredPair | None = None,
) -> ChatReply:
    """Store the message and its reply (with the request marker) after the `history` it was screened with, or
    screened again after the turns stored since (chat.turn_order); return the stored reply, or an earlier one.

    A replacement takes the place of the pair it `replaces` only on that very history: once another exchange was
    stored it is a Conflict, never screened again (the pair it was to replace may be gone, or no longer last)."""
    received_at, replied_at = pair_times
    assistant = _new_message("assistant", content, replied_at, stop_reason=stop_reason)
    try:
        with observability.stage("history_write"):
            exchange_store_in_order(
                owner=owner,
                history=history,
                store=lambda after: repositories.exchange_store(
                    owner=owner,
                    conversation_id=new_conversation_id,
                    title=None if conversation_id else conversation_title(screening.screened),
                    pair=(_new_message("user", screening.screened, pair_time_after(after, received_at)), assistant),
                    request_id=request_id,
                    verdict_source=screening.source,
                    now=replied_at,
                    after_turns=after.turns,
                    replaces=replaces,
                ),
                reread=lambda: _history_and_lookup(owner, new_conversation_id, raw)[:2],
            )
    except repositories.RequestAlreadyStored:
        answered = _stored_reply(owner, request_id or "")
        if answered is None:
            raise
        observability.record(idempotent_replay=True)
        return answered
    except repositories.ConversationGone:
        raise NotFound("The conversation was deleted.") from None
    except repositories.ExchangeStale:
        raise Conflict(STALE_REPLACEMENT) from None
    return ChatReply(new_conversation_id, assistant, screening.source)


def conversation_title(text: str) -> str:
    """Return a title from the first message: its first line, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut.rstrip(".,;:") + "…"


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
