"""The chat pipeline's first reads: a stored answer to the request, the history and the intent-cache lookup,
made at once while the message is counted against its rate limits and its spend is reserved."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from billing.services import MessageSpend
from chatapp import repositories, selectors
from chatapp.chat.events import ChatReply
from chatapp.chat.replacement import last_pair_split
from chatapp.chat.turn_order import History
from chatapp.repositories import Message, MessageItem, StoredPair
from chatapp.throttling import chat_rate_limits_check
from core import concurrency, observability
from security.services.screening import (
    PromptLookup,
    prompt_lookup,
)


@dataclass(frozen=True)
class FirstReads:
    """What a message needs before screening: a stored answer to its request_id, else its history and lookup."""

    replay: ChatReply | None
    history: History
    lookup: PromptLookup | None
    replaced: StoredPair | None = None  # the pair `replaces` names, taken out of `history`


def first_reads(
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
    """Make the reads a message needs, all at once, while it is counted against its rate limits."""
    stored = concurrency.submit(stored_reply, owner, request_id) if request_id else None
    if conversation_id:
        looked_up = concurrency.submit(history_and_lookup, owner, conversation_id, raw, replaces)
    else:
        looked_up = concurrency.submit(lambda: (History(), prompt_lookup(raw=raw), None))
    admitted = concurrency.submit(admission) if admission is not None else None
    reads = [read for read in (stored, looked_up, admitted, spend.reserve_start()) if read is not None]
    # Once every read has finished, a refusal by the rate limits is raised first, then what the admission check
    # raised, then one by the spending ceilings (a replay needs no model), then whatever the reads raised.
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


def history_and_lookup(
    owner: str, conversation_id: str, raw: str, replaces: str | None = None
) -> tuple[History, PromptLookup, StoredPair | None]:
    """Read the history, then look up the verdict on `raw` among every user turn the chat model is shown with it."""
    # Whole user/assistant pairs, so the history starts with a user turn; never more pairs than a message is
    # screened with, so the chat model is shown no user turn that screening did not see with the message.
    limit = 2 * max(0, min(settings.HISTORY_MESSAGES // 2, settings.SCREENING_CONTEXT_TURNS)) + (2 if replaces else 0)
    with observability.stage("history_read"):
        meta, messages = repositories.conversation_history(conversation_id, limit=limit)
    selectors.conversation_owned(owner=owner, meta=meta)
    # The pair `replaces` names (read one pair longer to make up for it) leaves the history and is returned apart.
    messages, replaced = last_pair_split(messages, replaces=replaces) if replaces else (messages, None)
    shown = [content for role, content in history_turns(messages) if role == "user"]
    turns = int(meta.turns or 0) if meta is not None else 0
    return History(messages, turns), prompt_lookup(raw=raw, context=shown), replaced


def stored_reply(owner: str, request_id: str) -> ChatReply | None:
    stored = repositories.request_get(owner, request_id)
    if stored is None:
        return None
    stop_reason = stored.stop_reason or "end_turn"
    message = Message(stored.message_id, "assistant", stored.content, stored.created_at, stop_reason)
    return ChatReply(stored.conversation_id, message, stored.verdict_source)


def history_turns(messages: list[MessageItem]) -> list[tuple[str, str]]:
    """Return the history as (role, content) turns, whole pairs dropped oldest first past HISTORY_MAX_CHARS."""
    turns = [(m.role, m.content) for m in messages]
    total = sum(len(content) for _, content in turns)
    while turns and total > settings.HISTORY_MAX_CHARS:
        total -= sum(len(content) for _, content in turns[:2])
        turns = turns[2:]
    return turns
