"""Conversation writes: answering a message and deleting a conversation."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from chatapp import repositories
from chatapp.clients import chat_model, chat_system_prompt
from chatapp.repositories import Message, MessageItem
from core import observability
from core.exceptions import NotFound
from security.services import prompt_screen, reply_check

TITLE_CHARS = 60


@dataclass(frozen=True)
class ChatReply:
    conversation_id: str
    message: Message
    verdict_source: str


def conversation_reply(*, owner: str, text: str, conversation_id: str | None, request_id: str | None) -> ChatReply:
    """Screen `text`, answer it, and store the message with its reply; nothing is stored on any failure.

    A `request_id` already answered returns the stored answer again without screening or a model call.
    """
    if request_id and (stored := _stored_reply(owner, request_id)):
        return stored
    history = _history(owner, conversation_id) if conversation_id else []
    screening = prompt_screen(text=text, owner=owner)
    received_at = datetime.now(tz=UTC)
    text = screening.text
    with observability.stage("chat_model"):
        reply = chat_model().reply(history=[(m.role, m.content) for m in history], message=text)
    observability.record(chat_model=reply.model_id)
    observability.add_usage("chat", reply.usage)
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
        stored = _stored_reply(owner, request_id or "")
        if stored is None:
            raise
        return stored
    except repositories.ConversationGone:
        raise NotFound("The conversation was deleted.") from None
    return ChatReply(new_conversation_id, pair[1], screening.source)


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


def _stored_reply(owner: str, request_id: str) -> ChatReply | None:
    stored = repositories.request_get(owner, request_id)
    if stored is None:
        return None
    observability.record(idempotent_replay=True)
    message = Message(stored.message_id, "assistant", stored.content, stored.created_at)
    return ChatReply(stored.conversation_id, message, stored.verdict_source)


def _new_message(role: str, content: str, at: datetime) -> Message:
    return Message(id=str(uuid.uuid4()), role=role, content=content, created_at=at.isoformat())
