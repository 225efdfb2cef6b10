"""A reply a person reported as harmful: queued for moderators as an output row, beside withheld replies."""

import logging
from collections.abc import Sequence

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from core import observability
from security.exceptions import ModerationUnavailable
from security.models import BlockedPrompt
from security.policy import screened_text, text_hash

__all__ = ["REPORTED_CATEGORY", "REPORTED_SOURCE", "reply_report_harmful"]

logger = logging.getLogger("security.services")

REPORTED_CATEGORY = "reported_harmful"
REPORTED_SOURCE = "user_feedback"


def reply_report_harmful(*, reply: str, context: Sequence[str], owner: str, comment: str = "") -> None:
    """Queue a stored reply a person rated harmful, with the user turns it answered; a pending one counts a repeat."""
    digest = text_hash(screened_text(reply))
    try:
        with observability.stage("moderation_queue"):
            pending = BlockedPrompt.objects.filter(
                text_hash=digest,
                kind=BlockedPrompt.Kind.OUTPUT,
                verdict_source=REPORTED_SOURCE,
                status=BlockedPrompt.Status.PENDING,
            )
            if pending.update(repeat_count=F("repeat_count") + 1, last_seen_at=timezone.now()):
                return
            BlockedPrompt.objects.create(
                text=reply,
                text_hash=digest,
                context=list(context),
                kind=BlockedPrompt.Kind.OUTPUT,
                category=REPORTED_CATEGORY,
                reason=comment or "A person rated this reply harmful.",
                verdict_source=REPORTED_SOURCE,
                owner_hash=observability.owner_hash(owner),
            )
    except DatabaseError as exc:  # the caller stores nothing, so a retry queues it
        logger.error("reported reply not queued: %s", exc, extra={"event": "moderation_queue_error"})
        raise ModerationUnavailable("The report could not be saved. Please retry shortly.", cause=exc) from exc
