"""Conversation writes: answering a message and deleting a conversation."""

import contextvars
import functools
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from chatapp import repositories
from chatapp.clients import Reply, chat_model, chat_system_prompt
from chatapp.repositories import Message, MessageItem
from core import concurrency, observability
from core.exceptions import NotFound
from security.services import PromptLookup, ScreeningResult, prompt_lookup, prompt_screen, reply_check

TITLE_CHARS = 60


@dataclass(frozen=True)
class ChatReply:
    conversation_id: str
    message: Message
    verdict_source: str


def conversation_reply(
    *,
    owner: str,
    text: str,
    conversation_id: str | None,
    request_id: str | None,
    admission: Callable[[], object] = lambda: None,
) -> ChatReply:
    """Screen `text`, answer it, and store the message with its reply; nothing is stored on any failure.

    `admission` (the caller's rate limits) runs while the reads this needs are made, at once: a stored
    answer to `request_id`, the conversation's history and the intent cache. It raises to refuse, and no
    model is called before it has passed. A `request_id` already answered returns the stored answer again
    without screening or a model call.
    """
    stored = concurrency.submit(_stored_reply, owner, request_id) if request_id else None
    # A follow-up's verdict is keyed on its context, so its cache read follows the history read in one task.
    history = concurrency.submit(_history_and_lookup, owner, conversation_id, text)
    reads = [read for read in (stored, history) if read is not None]
    try:
        admission()
    finally:
        concurrency.settle(reads)
    if stored is not None and (replay := stored.result()):
        observability.record(idempotent_replay=True)
        return replay
    messages, looked_up = history.result()
    turns = [(m.role, m.content) for m in messages]
    received_at = datetime.now(tz=UTC)
    screening, reply = _screened_reply(owner=owner, lookup=looked_up, turns=turns)
    text = screening.text
    reply_check(reply=reply.content, system_prompt=chat_system_prompt(), model_id=reply.model_id, owner=owner)
    replied_at = datetime.now(tz=UTC)
    pair = (_new_message("user", text, received_at), _new_message("assistant", reply.content, replied_at))
    new_conversation_id = conversation_id or str(uuid.uuid4())
    try:
        with observability.stage("history_write"):
            repositories.exchange_store(
                owner=owner,
                conversation_id=new_conversation_id,
                title=None if conversation_id else conversation_title(text),
                pair=pair,
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
    return ChatReply(new_conversation_id, pair[1], screening.source)


def _screened_reply(
    *, owner: str, lookup: PromptLookup, turns: list[tuple[str, str]]
) -> tuple[ScreeningResult, Reply]:
    """Screen the looked-up message, then answer it; the chat model never sees a message screening did not pass.

    With SCREENING_MODE=parallel a cache miss starts the answer while the screening model runs, to hide
    its latency. The answer is revealed only once the verdict is safe; otherwise it is discarded unread
    (never stored, returned or logged) and only its wasted tokens are counted. A cached verdict is used
    first, so a known-malicious message never reaches the chat model in either mode.
    """
    if settings.SCREENING_MODE != "parallel" or lookup.cached is not None:
        screening = prompt_screen(text=lookup.raw, owner=owner, lookup=lookup)
        return screening, _answer(turns, screening.text)
    run_in_context = contextvars.copy_context().run
    speculative = _speculation_pool().submit(run_in_context, _call_chat_model, turns, lookup.text)
    try:
        screening = prompt_screen(text=lookup.raw, owner=owner, lookup=lookup)
    except Exception:
        _discard(speculative)
        raise
    return screening, _revealed(speculative.result())


def _answer(turns: list[tuple[str, str]], text: str) -> Reply:
    return _revealed(_call_chat_model(turns, text))


def _call_chat_model(turns: list[tuple[str, str]], text: str) -> Reply:
    with observability.stage("chat_model"):
        return chat_model().reply(history=turns, message=text)


def _revealed(reply: Reply) -> Reply:
    observability.record(chat_model=reply.model_id)
    observability.add_usage("chat", reply.usage)
    return reply


def _discard(speculative: Future[Reply]) -> None:
    """Wait for a speculative answer screening refused, and count its tokens as wasted; never read its text."""
    try:
        reply = speculative.result(timeout=settings.CHAT_MODEL_READ_TIMEOUT + 2)
    except Exception:  # a failed speculation cost nothing worth counting
        observability.record(speculative_reply="failed")
        return
    observability.record(speculative_reply="discarded")
    observability.add_usage("discarded", reply.usage)


@functools.cache
def _speculation_pool() -> ThreadPoolExecutor:
    """Speculative replies (seconds each) get their own threads, so they never delay the request I/O pool."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="speculative-reply")


def conversation_delete(*, owner: str, conversation_id: str) -> None:
    """Delete the owner's conversation and all its messages; NotFound when it is not theirs."""
    meta, _ = repositories.conversation_history(conversation_id, limit=0)
    if meta is None or meta.owner != owner:
        raise NotFound("No such conversation.")
    repositories.conversation_delete_items(conversation_id)


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
    if meta is None or meta.owner != owner:
        raise NotFound("No such conversation.")
    return messages


def _history_and_lookup(owner: str, conversation_id: str | None, text: str) -> tuple[list[MessageItem], PromptLookup]:
    """Read the history (none for a new conversation), then look up the verdict on `text` in the context of its
    stored user turns; a first message's lookup needs no history and starts at once."""
    messages = _history(owner, conversation_id) if conversation_id else []
    return messages, prompt_lookup(text=text, context=[m.content for m in messages if m.role == "user"])


def _stored_reply(owner: str, request_id: str) -> ChatReply | None:
    stored = repositories.request_get(owner, request_id)
    if stored is None:
        return None
    message = Message(stored.message_id, "assistant", stored.content, stored.created_at)
    return ChatReply(stored.conversation_id, message, stored.verdict_source)


def _new_message(role: str, content: str, at: datetime) -> Message:
    return Message(id=str(uuid.uuid4()), role=role, content=content, created_at=at.isoformat())
