"""Conversation writes other than a reply (the chat pipeline, chatapp.chat, stores those)."""

from chatapp import repositories, selectors


def conversation_delete(*, owner: str, conversation_id: str) -> None:
    """Delete the owner's conversation and all its messages; NotFound when it is not theirs."""
    meta, _ = repositories.conversation_history(conversation_id, limit=0)
    selectors.conversation_owned(owner=owner, meta=meta)
    repositories.conversation_delete_items(conversation_id)
