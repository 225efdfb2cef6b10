"""Screening and moderation: the only module of `security` that other apps call."""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from core import observability
from security.clients import ModelVerdict, screening_model
from security.exceptions import PromptBlocked, ReplyWithheld
from security.models import BlockedPrompt
from security.policy import clean, normalise, pin_key, policy_version, reply_leak, text_hash, verdict_key
from security.repositories import intent_verdict_put, intent_verdicts_get

__all__ = ["ScreeningResult", "canary_token", "prompt_screen", "reply_check"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreeningResult:
    text: str  # the message as screened and as models should see it: NFKC, no invisible characters
    verdict: str
    category: str
    reason: str
    source: str  # "model", "cache" or "moderator"
    model_id: str


def prompt_screen(*, text: str, owner: str) -> ScreeningResult:
    """Return the verdict on `text`, from the intent cache or the screening model.

    Raise PromptBlocked (after recording the attempt for moderators) when it is malicious, and
    ScreeningUnavailable when no trustworthy verdict can be had: nothing is cached then.
    """
    cleaned = clean(text).strip()
    normalised = normalise(cleaned)
    result = _cached_verdict(cleaned, normalised) or _model_verdict(cleaned, normalised)
    observability.record(verdict=result.verdict, verdict_source=result.source, screen_model=result.model_id)
    if result.verdict == "malicious":
        blocked_prompt_record(text=text, normalised=normalised, result=result, owner=owner)
        raise PromptBlocked(category=result.category)
    return result


def _cached_verdict(text: str, normalised: str) -> ScreeningResult | None:
    version = policy_version(screening_model().model_id)
    keys = [pin_key(normalised), verdict_key(normalised, version=version)]
    with observability.stage("cache_read"):
        found = intent_verdicts_get(keys)
    for key in keys:  # a moderator's pin wins over a model verdict
        if item := found.get(key):
            source = "moderator" if item.source == "moderator" else "cache"
            return ScreeningResult(text, item.verdict, item.category, item.reason, source, item.model_id)
    return None


def _model_verdict(text: str, normalised: str) -> ScreeningResult:
    model = screening_model()
    with observability.stage("screening"):
        answer: ModelVerdict = model.classify(normalised)
    with observability.stage("cache_write"):
        intent_verdict_put(
            key=verdict_key(normalised, version=policy_version(model.model_id)),
            verdict=answer.verdict,
            category=answer.category,
            reason=answer.reason,
            source="model",
            model_id=model.model_id,
            ttl=timedelta(seconds=settings.INTENT_CACHE_TTL_SECONDS),
        )
    return ScreeningResult(text, answer.verdict, answer.category, answer.reason, "model", model.model_id)


def blocked_prompt_record(*, text: str, normalised: str, result: ScreeningResult, owner: str) -> None:
    """Queue a blocked text for moderators; a repeat of a pending text bumps that row instead of adding one.

    The block itself never depends on this: if the database is down the attempt is logged, not queued.
    """
    try:
        with observability.stage("moderation_queue"):
            _queue_blocked_prompt(text=text, normalised=normalised, result=result, owner=owner)
    except DatabaseError as exc:
        logger.error("blocked prompt not queued: %s", exc, extra={"event": "moderation_queue_error"})


def _queue_blocked_prompt(*, text: str, normalised: str, result: ScreeningResult, owner: str) -> None:
    digest = text_hash(normalised)
    bumped = BlockedPrompt.objects.filter(text_hash=digest, status=BlockedPrompt.Status.PENDING).update(
        repeat_count=F("repeat_count") + 1, last_seen_at=timezone.now()
    )
    if bumped:
        return
    BlockedPrompt.objects.create(
        text=text,
        text_hash=digest,
        category=result.category,
        reason=result.reason,
        verdict_source=result.source,
        model_id=result.model_id,
        owner_hash=observability.owner_hash(owner),
    )


def canary_token() -> str:
    """Return the marker planted in the chat system prompt: stable per deployment (keyed by SECRET_KEY), secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"system-prompt-canary", hashlib.sha256).hexdigest()
    return f"canary-{digest[:20]}"


def reply_check(*, reply: str, system_prompt: str, model_id: str, owner: str) -> None:
    """Raise ReplyWithheld, after queueing the reply for moderators, when it leaks the system prompt."""
    leak = reply_leak(reply, system_prompt=system_prompt, canary=canary_token())
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
    digest = text_hash(normalise(reply))
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
