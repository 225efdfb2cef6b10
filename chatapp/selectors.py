"""Conversation reads for the API."""

from dataclasses import dataclass

from chatapp import repositories
from chatapp.repositories import Conversation, ConversationMeta, Message, MessageItem
from core.exceptions import NotFound

LIST_LIMIT = 100


@dataclass(frozen=True)
class ConversationDetail(Conversation):
    messages: list[Message]


def conversation_list(*, owner: str) -> list[Conversation]:
    """Return the owner's conversations, most recently active first (at most LIST_LIMIT)."""
    return [Conversation.from_item(item) for item in repositories.conversations_of(owner, limit=LIST_LIMIT)]


def conversation_get(*, owner: str, conversation_id: str) -> ConversationDetail:
    """Return the owner's conversation with all its messages, oldest first; NotFound for anyone else's."""
    items = list(repositories.conversation_items(conversation_id))
    meta = next((item for item in items if isinstance(item, ConversationMeta)), None)
    if meta is None or meta.owner != owner:
        raise NotFound("No such conversation.")
    messages = [Message.from_item(item) for item in items if isinstance(item, MessageItem)]
    return ConversationDetail(**vars(Conversation.from_item(meta)), messages=messages)
