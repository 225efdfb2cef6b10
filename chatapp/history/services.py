"""Writes on a person's conversations as a whole: rename, delete all, and feedback on replies."""

import functools
from datetime import UTC, date, datetime

from django.conf import settings

from chatapp.history import repositories as history
from chatapp.repositories import Conversation, MessageItem
from chatapp.selectors import conversation_owned
from core import concurrency, observability
from core.exceptions import InvalidRequest, NotFound
from security.services.feedback import reply_report_harmful


def conversation_rename(*, owner: str, conversation_id: str, title: str) -> Conversation:
    """Give the owner's conversation the (cleaned) `title`; NotFound when it is not theirs."""
    try:
        meta = history.conversation_title_set(owner, conversation_id, title=title)
    except history.ConversationGone:
        raise NotFound("No such conversation.") from None
    return Conversation.from_item(meta)


def conversations_delete_all(*, owner: str) -> int:
    """Delete all of the owner's conversations, their messages and request markers; return how many."""
    with observability.stage("delete_all"):
        deleted = history.conversations_delete_all(owner)
    observability.record(conversations_deleted=deleted)
    return deleted


def reply_feedback_give(
    *, owner: str, conversation_id: str, message_id: str, rating: str, reason: str | None, comment: str | None
) -> dict[str, str]:
    """Store the owner's feedback on a reply, replacing any before; return it."""
    # NotFound for anyone else's conversation or an unknown message; InvalidRequest for a user message.
    message = _owned_reply(owner, conversation_id, message_id)
    harmful = rating == "down" and reason == "harmful"
    # A new `harmful` report (not a repeat of the same) first puts the reply in the moderation queue with the user
    # turns it answered.
    if harmful and not (message.feedback_rating == "down" and message.feedback_reason == "harmful"):
        turns = history.user_turns_up_to(message, count=settings.SCREENING_CONTEXT_TURNS + 1)
        reply_report_harmful(reply=message.content, context=turns, owner=owner, comment=comment or "")
    now = datetime.now(tz=UTC)
    given = {"rating": rating, "reason": reason, "comment": comment}
    feedback = {f"feedback_{name}": value for name, value in given.items()} | {"feedback_at": now.isoformat()}
    try:
        before = history.reply_feedback_set(message, feedback=feedback)
    except history.ConversationGone:
        raise NotFound("No such message.") from None
    _recount(before, now_bucket=(now.date(), _bucket(rating, reason)))
    return {name: value for name, value in given.items() if value}


def reply_feedback_withdraw(*, owner: str, conversation_id: str, message_id: str) -> None:
    """Remove the owner's feedback on a reply (none there is fine); NotFound / InvalidRequest as when giving it."""
    message = _owned_reply(owner, conversation_id, message_id)
    try:
        before = history.reply_feedback_remove(message)
    except history.ConversationGone:
        raise NotFound("No such message.") from None
    _recount(before, now_bucket=None)


def _owned_reply(owner: str, conversation_id: str, message_id: str) -> MessageItem:
    meta, message = history.reply_find(conversation_id, message_id)
    conversation_owned(owner=owner, meta=meta)
    if message is None:
        raise NotFound("No such message.")
    if message.role != "assistant":
        raise InvalidRequest(
            "Feedback is for the assistant's replies.", fields={"message_id": ["This is not an assistant message."]}
        )
    return message


def _bucket(rating: str, reason: str | None) -> str:
    return f"down_{reason}" if rating == "down" and reason else rating


def _recount(before: dict[str, str], *, now_bucket: tuple[date, str] | None) -> None:
    """Move the day counts: the replaced feedback off its day, the new one onto today (at once)."""
    calls = []
    if before.get("feedback_rating") and before.get("feedback_at"):
        day = datetime.fromisoformat(before["feedback_at"]).date()
        old = _bucket(before["feedback_rating"], before.get("feedback_reason"))
        calls.append(functools.partial(history.feedback_count_add, day, old, -1))
    if now_bucket is not None:
        calls.append(functools.partial(history.feedback_count_add, *now_bucket, 1))
    if calls:
        concurrency.gather(*calls)
