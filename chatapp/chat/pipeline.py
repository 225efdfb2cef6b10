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
from datetime import UTC, datetime

from django.conf import settings

from billing.services import MessageSpend
from chatapp.chat.events import Accepted, ChatEvent, ChatReply, ClientGone, Delta, Done
from chatapp.chat.feed import ReleasedText, ReplyFeed
from chatapp.chat.reads import first_reads, history_turns
from chatapp.chat.storage import reply_store
from chatapp.clients import CHAT_SYSTEM_PROMPT
from core import observability
from security.services.output import ReplyGate, chat_system_prompt
from security.services.screening import (
    PromptLookup,
    ScreeningResult,
    prompt_screen,
    prompt_verdict_store,
)


def conversation_reply_events(
    *,
    owner: str,
    ip: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,  # an answered one replays its stored reply: Accepted, one Delta, Done; no model call
    deadline: float | None = None,  # time.monotonic(): the text written by then is the reply, stop_reason `time_limit`
    # The transport's own check on the caller (the socket's: does its ticket's session live?), made with the first
    # reads; what it raises is raised before any model call.
    admission: Callable[[], None] | None = None,
    # The id of the conversation's last user message: the message is answered as if that pair had never been, and
    # the pair goes when the new one is stored, in the same transaction (Conflict when it is not, or no longer,
    # the last).
    replaces: str | None = None,
) -> Iterator[ChatEvent]:
    """Yield `_reply_events`, the message's spend reserved beside its first reads and settled however it ends."""
    observability.record(owner=observability.owner_hash(owner))
    if settings.LOG_MESSAGE_CONTENT:
        observability.record(message_text=raw)
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
    """Screen `raw` (the message as received), stream its answer, store the pair; yield Accepted, Deltas, Done."""
    # `spend` reserves the message's worst case beside these reads (over a ceiling: BudgetExhausted, before any
    # model call).
    reads = first_reads(
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
    screening, feed = _screened_feed(owner=owner, lookup=reads.lookup, turns=history_turns(reads.history.messages))
    accepted = Accepted(conversation_id or str(uuid.uuid4()), screening.source)
    earlier = [m.content for m in reads.history.messages if m.role == "assistant"]
    delivered, stop_reason = yield from _answer_streamed(
        feed, accepted=accepted, owner=owner, deadline=deadline, earlier=earlier
    )
    spend.settle_start()  # every call's usage is known now: settled beside the pair's write
    if not delivered:
        return  # stopped before any text reached the client: nothing to store
    reply = reply_store(
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


def _replayed(reply: ChatReply) -> Iterator[ChatEvent]:
    """Replay a stored answer: Accepted, one Delta with the whole reply, and Done; no model is called."""
    observability.record(idempotent_replay=True)
    try:
        yield Accepted(reply.conversation_id, reply.verdict_source)
        yield Delta(reply.message.content)
    except ClientGone:  # ends the replay as it ends any reply: quietly
        observability.record(stop_reason="stopped")
        return
    with contextlib.suppress(ClientGone):
        yield Done(reply)


def _screened_feed(
    *, owner: str, lookup: PromptLookup, turns: list[tuple[str, str]]
) -> tuple[ScreeningResult, ReplyFeed]:
    """Screen the looked-up message, then start its answer; the chat model never sees a message that failed."""
    # Built once (with the canary): the feed hands it to the chat model and keeps it for the reply's output check.
    system_prompt = chat_system_prompt(instructions=CHAT_SYSTEM_PROMPT)
    speculative = None
    # In parallel mode a cache miss starts the answer while the screening model runs, to hide its latency; its
    # text stays unread until screening has passed, and is discarded unread (never stored, sent or logged)
    # otherwise. A cached verdict is used first, so a known-malicious message never reaches the chat model.
    if settings.SCREENING_MODE == "parallel" and lookup.cached is None:
        speculative = ReplyFeed(turns, lookup.screened, system_prompt)
    try:
        screening = prompt_screen(lookup=lookup, owner=owner)
    except Exception:
        if speculative is not None:
            speculative.discard()
        raise
    feed = speculative or ReplyFeed(turns, screening.screened, system_prompt)
    if screening.source == "model":  # written while the answer starts; if the write fails, it is discarded unread
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
    """Yield `accepted`, then Deltas of text that passed the output check; return the text sent and stop_reason."""
    with feed:
        try:
            yield accepted
        except ClientGone:  # the client left before Accepted: nothing was delivered
            observability.record(stop_reason="stopped")
            return "", "stopped"
        # `earlier` is the conversation's stored replies (oldest first): the check judges the answer after them.
        gate = ReplyGate(system_prompt=feed.system_prompt, model_id=feed.model_id, owner=owner, earlier=earlier)
        released = ReleasedText(feed, gate, deadline)
        delivered, stop_reason = "", "stopped"
        for piece in released:
            try:
                yield Delta(piece)
            except ClientGone:  # stop_reason `stopped`: the text delivered before it is kept
                break
            delivered += piece
        else:
            stop_reason = released.stop_reason
    observability.record(stop_reason=stop_reason)
    observability.add_usage("chat", feed.end.usage)
    return delivered, stop_reason
