"""Conversation reads for the API: pages of conversations and of messages, with their cursors."""

import functools
from dataclasses import dataclass

from chatapp import repositories
from chatapp.pagination import DEFAULT_LIMIT, cursor_dump, cursor_load
from chatapp.repositories import Conversation, ConversationMeta, Message
from core import concurrency
from core.exceptions import InvalidRequest, NotFound

CONVERSATIONS = "conversations"


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    next: str | None


@dataclass(frozen=True)
class ConversationDetail(Conversation):
    messages: list[Message]
    earlier: str | None


def conversation_list(*, owner: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> ConversationPage:
    """Return a page of the owner's conversations, most recently active first, and the cursor to the next page."""
    # InvalidRequest when `cursor` was not made for this owner's list.
    after = cursor_load(cursor, owner=owner, listing=CONVERSATIONS, field="cursor") if cursor else None
    items, more = repositories.conversations_page(owner, limit=limit, after=after)
    position = repositories.conversation_position(items[-1]) if more else None
    next_cursor = cursor_dump(position, owner=owner, listing=CONVERSATIONS) if position else None
    return ConversationPage([Conversation.from_item(item) for item in items], next_cursor)


def conversation_get(
    *, owner: str, conversation_id: str, limit: int = DEFAULT_LIMIT, before: str | None = None
) -> ConversationDetail:
    """Return the owner's conversation with a page of its messages (oldest first) and the cursor to earlier ones."""
    limit = max(2, limit - limit % 2)  # pages hold whole user/assistant pairs
    listing = _messages_listing(conversation_id)
    # NotFound for anyone else's conversation, whatever the cursor; InvalidRequest for a cursor not made for this
    # conversation and owner.
    try:
        position = cursor_load(before, owner=owner, listing=listing, field="before") if before else None
    except InvalidRequest:
        conversation_owned(owner=owner, meta=repositories.conversation_meta(conversation_id))  # anyone else's: 404
        raise
    if position is None:
        meta, items, more = repositories.messages_page(conversation_id, limit=limit, before=None)
    else:
        # The conversation item sorts after every message, so an earlier page reads it apart, at the same time.
        meta, (_, items, more) = concurrency.gather(
            functools.partial(repositories.conversation_meta, conversation_id),
            functools.partial(repositories.messages_page, conversation_id, limit=limit, before=position),
        )
    conversation = Conversation.from_item(conversation_owned(owner=owner, meta=meta))
    earlier = cursor_dump(repositories.pair_position(items[0]), owner=owner, listing=listing) if more else None
    return ConversationDetail(**vars(conversation), messages=[Message.from_item(i) for i in items], earlier=earlier)


def conversation_owned(*, owner: str, meta: ConversationMeta | None) -> ConversationMeta:
    """Return the conversation item read as `meta` when it is the owner's; NotFound when none was, or another's."""
    if meta is None or meta.owner != owner:
        raise NotFound("No such conversation.")
    return meta


def _messages_listing(conversation_id: str) -> str:
    return f"messages:{conversation_id}"
