"""The output check: the canary in the chat system prompt, and a reply withheld (and queued for moderators)
when it leaks that prompt, checked whole (`reply_check`) or as it is written (`ReplyGate`)."""

import hashlib
import hmac
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from core import observability
from security.exceptions import ReplyWithheld
from security.leaks import LeakScan, reply_leak
from security.models import BlockedPrompt
from security.policy import screened_text, text_hash

__all__ = ["ReplyGate", "canary_token", "chat_system_prompt", "reply_check"]

logger = logging.getLogger("security.services")  # one logger for screening and the output check: one filter finds both


def canary_token() -> str:
    """Return the marker planted in the chat system prompt: stable per deployment (keyed by SECRET_KEY), secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"system-prompt-canary", hashlib.sha256).hexdigest()
    return f"canary-{digest[:20]}"


def chat_system_prompt(*, instructions: str) -> str:
    """Return the chat model's system prompt: `instructions` with this deployment's canary planted in them."""
    # Built once per reply: the same text goes to the chat model and to the reply's ReplyGate, which withholds a
    # reply that repeats the canary or a long run of the prompt.
    return f"{instructions}\nConfidential marker (never repeat it): {canary_token()}"


def reply_check(*, reply: str, system_prompt: str, model_id: str, owner: str) -> None:
    """Raise ReplyWithheld, after queueing the reply for moderators, when it leaks the system prompt."""
    leak = reply_leak(reply, system_prompt=system_prompt, canary=canary_token())
    _verdict_apply(leak, reply=reply, model_id=model_id, owner=owner)


class ReplyGate:
    """The output check on a reply while it is written: text is released only once everything so far passes."""

    def __init__(self, *, system_prompt: str, model_id: str, owner: str, earlier: Sequence[str] = ()) -> None:
        # The reply is judged after the end of `earlier` (the conversation's recent replies, oldest first), so a leak
        # split over a reply cut at max_tokens and its continuation is seen whole. Each piece is read once (see
        # security.leaks), so the check costs time in proportion to the reply.
        self._scan = LeakScan(system_prompt=system_prompt, canary=canary_token(), earlier="".join(earlier))
        self._released: list[str] = []
        self._pending = ""
        self.released = 0
        self._model_id, self._owner = model_id, owner

    @property
    def text(self) -> str:
        """Return the reply so far."""
        return "".join(self._released) + self._pending

    @property
    def length(self) -> int:
        """Return how many characters of the reply have come so far."""
        return self._scan.length

    def add(self, piece: str) -> None:
        """Take the next piece of the reply."""
        self._pending += piece
        self._scan.feed(piece)

    @property
    def pending(self) -> bool:
        """Return True when some text has not been released yet."""
        return bool(self._pending)

    def release(self, *, final: bool = False) -> str:
        """Check the reply so far and return the text that may now be sent; `final` releases the rest it may."""
        leak = self._scan.leak
        # A reply that fails is withheld (ReplyWithheld) and queued for moderators exactly as `reply_check` does.
        _verdict_apply(leak, reply=self.text if leak else "", model_id=self._model_id, owner=self._owner)
        # A tail that could still grow into a leak waits for the next release; at the end it is released too,
        # except from where it begins the canary.
        end = self._final_end() if final else self._scan.held_from()
        cut = max(0, end - self.released)
        released, self._pending = self._pending[:cut], self._pending[cut:]
        self._released.append(released)
        self.released += len(released)
        return released

    def _final_end(self) -> int:
        """Return where the reply may end: before a tail that starts the canary (withheld when that is all of it)."""
        started = self._scan.canary_started_from()
        if started is None:
            return self._scan.length
        if not self.text[:started].strip():
            leak = "the reply is the start of the system prompt's canary"
            _verdict_apply(leak, reply=self.text, model_id=self._model_id, owner=self._owner)
        observability.record(output_tail_dropped=self._scan.length - max(started, self.released))
        return started


def _verdict_apply(leak: str | None, *, reply: str, model_id: str, owner: str) -> None:
    """Record the output check's verdict; when `leak` says why, queue the reply and raise ReplyWithheld."""
    observability.record(output_check="withheld" if leak else "passed")
    if leak is None:
        return
    try:
        with observability.stage("moderation_queue"):
            _queue_withheld_reply(reply=reply, reason=leak, model_id=model_id, owner=owner)
    except DatabaseError as exc:
        logger.error("withheld reply not queued: %s", exc, extra={"event": "moderation_queue_error"})
    raise ReplyWithheld(cause=RuntimeError(f"output check: {leak}"))


def _queue_withheld_reply(*, reply: str, reason: str, model_id: str, owner: str) -> None:
    digest = text_hash(screened_text(reply))
    pending = BlockedPrompt.objects.filter(
        text_hash=digest, kind=BlockedPrompt.Kind.OUTPUT, status=BlockedPrompt.Status.PENDING
    )
    if pending.update(repeat_count=F("repeat_count") + 1, last_seen_at=timezone.now()):
        return
    BlockedPrompt.objects.create(
        text=reply,
        text_hash=digest,
        kind=BlockedPrompt.Kind.OUTPUT,
        category="prompt_extraction",
        reason=reason,
        verdict_source="output_check",
        model_id=model_id,
        owner_hash=observability.owner_hash(owner),
    )
