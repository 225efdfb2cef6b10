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
    """Give every conversation of `owner` (an anonymous session) to `successor`; return how many moved.

    Idempotent. Setting the session's successor returns, consistently, every conversation it started, and
    from then on a first message it is still answering is stored for `successor`. Each conversation then
    moves on the condition that it is still `owner`'s; a reply `owner` was writing into one that moved still
    lands there, as the conversation remembers its previous owner (repositories.exchange_store). The by_owner
    index adds any conversation started before sessions kept their list.
    """
    started = repositories.owner_successor_set(owner, successor=successor, now=datetime.now(tz=UTC))
    moved = 0
    for conversation_id in sorted(started | set(repositories.owner_conversation_ids(owner))):
        moved += repositories.conversation_owner_move(conversation_id, owner=owner, successor=successor)
    return moved
