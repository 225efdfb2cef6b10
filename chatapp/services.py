"""Conversation writes other than a reply (the chat pipeline, chatapp.chat, stores those); handing conversations
to a person."""

from datetime import UTC, datetime

from chatapp import repositories, selectors


def conversation_delete(*, owner: str, conversation_id: str) -> None:
    """Delete the owner's conversation and all its messages; NotFound when it is not theirs."""
    meta, _ = repositories.conversation_history(conversation_id, limit=0)
    selectors.conversation_owned(owner=owner, meta=meta)
    repositories.conversation_delete_items(conversation_id)


def conversations_transfer(*, owner: str, successor: str) -> int:
    """Give each conversation of the session `owner` to `successor`, idempotently; return how many moved."""
    # Setting the session's successor returns, consistently, every conversation it started, and after it a first
    # message the session is still answering is stored for `successor`.
    started = repositories.owner_successor_set(owner, successor=successor, now=datetime.now(tz=UTC))
    moved = 0
    # The by_owner index adds the conversations the session's list lacks: those stored before sessions kept one.
    for conversation_id in sorted(started | set(repositories.owner_conversation_ids(owner))):
        # Each moves only while it is still `owner`'s; a reply `owner` was writing into one that moved still lands
        # there, as the conversation remembers its previous owner (repositories.exchange_store).
        moved += repositories.conversation_owner_move(conversation_id, owner=owner, successor=successor)
    return moved
