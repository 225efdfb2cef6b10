"""An anonymous session's conversations, and moving them to the person at sign-in
(chatapp.services.conversations_transfer)."""

from datetime import datetime, timedelta

from pynamodb.attributes import (
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DoesNotExist, UpdateError

from chatapp.repositories.items import META_SK, ConversationItem, ConversationMeta, conversation_pk


class SessionConversationsItem(ConversationItem, discriminator="session conversations"):
    """The conversations an anonymous session started, and who it became at sign-in (if it did)."""

    # Written in the transaction that starts each conversation, on the condition that the session has no
    # successor yet: reading it is a consistent list of the session's conversations (the by_owner index is
    # only eventually consistent), and once the successor is set no conversation can start under the session.
    conversation_ids = UnicodeSetAttribute(null=True)
    successor = UnicodeAttribute(null=True)


SESSION_CONVERSATIONS_SK = "conversations"
# Kept as long as the session could live, and a day more for a reply still being written at its end.
SESSION_CONVERSATIONS_TTL = timedelta(days=15)


def session_conversations_pk(owner: str) -> str:
    return f"owned#{owner}"


def owner_successor_set(owner: str, *, successor: str, now: datetime) -> set[str]:
    """Record that the session `owner` became `successor`; return the ids of every conversation it started."""
    item = SessionConversationsItem(session_conversations_pk(owner), SESSION_CONVERSATIONS_SK)
    item.update(
        actions=[
            ConversationItem.kind.set(SessionConversationsItem),
            # A new conversation stored for `owner` after this goes to `successor` (exchange_store).
            SessionConversationsItem.successor.set(successor),
            ConversationItem.expires_at.set(now + SESSION_CONVERSATIONS_TTL),
        ]
    )
    return set(item.conversation_ids or ())


def owner_successor(owner: str) -> str | None:
    """Return who the session `owner` became at sign-in, or None."""
    try:
        item = ConversationItem.get(session_conversations_pk(owner), SESSION_CONVERSATIONS_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return item.successor if isinstance(item, SessionConversationsItem) else None


def owner_conversation_ids(owner: str) -> list[str]:
    """Return the ids of every conversation of `owner`, all pages of the by_owner index read."""
    items = ConversationItem.by_owner.query(owner, page_size=100)
    return [item.pk.removeprefix("conv#") for item in items]


def conversation_owner_move(conversation_id: str, *, owner: str, successor: str) -> bool:
    """Give `owner`'s conversation to `successor`, remembering `owner`; False when it is not `owner`'s (any more)."""
    meta = ConversationMeta(conversation_pk(conversation_id), META_SK)
    actions = [ConversationItem.owner.set(successor), ConversationMeta.previous_owner.set(owner)]
    try:
        meta.update(actions=actions, condition=ConversationItem.owner == owner)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
