"""Conversation writes: answering a message and deleting a conversation."""

import time

from django.conf import settings

from chatapp import repositories, selectors
from chatapp.streaming import ChatReply, Done, conversation_reply_events, conversation_title
from chatapp.throttling import ChatRateLimits
from core import observability

__all__ = ["ChatReply", "conversation_delete", "conversation_reply", "conversation_title"]


def conversation_reply(
    *,
    owner: str,
    raw: str,
    conversation_id: str | None,
    request_id: str | None,
    rate_limits: ChatRateLimits,
) -> ChatReply:
    """Screen the message `raw` (as received), answer it and store both; nothing is stored on any failure.

    The answer is streamed from the model inside the HTTP budget (POST_REPLY_SECONDS from now): what is still
    being written then is returned and stored with stop_reason `time_limit`. See `conversation_reply_events`
    for the rate limits, idempotent `request_id`s and the output check.
    """
    observability.record(owner=observability.owner_hash(owner))
    if settings.LOG_MESSAGE_CONTENT:
        observability.record(message_text=raw)
    deadline = time.monotonic() + settings.POST_REPLY_SECONDS
    events = conversation_reply_events(
        owner=owner,
        raw=raw,
        conversation_id=conversation_id,
        request_id=request_id,
        rate_limits=rate_limits,
        deadline=deadline,
    )
    for event in events:
        if isinstance(event, Done):
            return event.reply
    raise AssertionError("a reply ends with Done or an error")  # pragma: no cover


def conversation_delete(*, owner: str, conversation_id: str) -> None:
    """Delete the owner's conversation and all its messages; NotFound when it is not theirs."""
    meta, _ = repositories.conversation_history(conversation_id, limit=0)
    selectors.conversation_owned(owner=owner, meta=meta)
    repositories.conversation_delete_items(conversation_id)
