"""Screening and moderation: the only module of `security` that other apps call."""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from core import observability
from core.exceptions import STORAGE_ERRORS
from security.clients import ModelVerdict, screening_model, screening_model_id
from security.exceptions import ModerationUnavailable, PromptBlocked, ReplyWithheld
from security.models import BlockedPrompt
from security.policy import clean, normalise, pin_key, policy_version, reply_leak, text_hash, verdict_key
from security.repositories import intent_verdict_delete, intent_verdict_put, intent_verdicts_get

__all__ = [
    "PromptLookup",
    "ScreeningResult",
    "blocked_prompt_confirm_block",
    "blocked_prompt_mark_false_positive",
    "blocked_prompt_reopen",
    "canary_token",
    "screening_model_warm",
    "prompt_lookup",
    "prompt_screen",
    "reply_check",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreeningResult:
    text: str  # the message as screened and as models should see it: NFKC, no invisible characters
    verdict: str
    category: str
    reason: str
    source: str  # "model", "cache" or "moderator"
    model_id: str


def screening_model_warm() -> None:
    """Build the screening model and load what its first verdict needs now (at start-up), not on a cache miss."""
    screening_model().warm()


@dataclass(frozen=True)
class PromptLookup:
    """A message prepared for screening, with the intent cache's verdict on it if there is one."""

    raw: str
    text: str  # what the models see: NFKC, no invisible characters, trimmed
    normalised: str  # what a verdict is about
    cached: ScreeningResult | None


def prompt_lookup(*, text: str) -> PromptLookup:
    """Prepare `text` for screening and look up its verdict in the intent cache, without any model call."""
    cleaned = clean(text).strip()
    normalised = normalise(cleaned)
    return PromptLookup(text, cleaned, normalised, _cached_verdict(cleaned, normalised))


def prompt_screen(*, text: str, owner: str, lookup: PromptLookup | None = None) -> ScreeningResult:
    """Return the verdict on `text`, from the intent cache (or `lookup`, already done) or the screening model.

    Raise PromptBlocked (after recording the attempt for moderators) when it is malicious, and
    ScreeningUnavailable when no trustworthy verdict can be had: nothing is cached then.
    """
    lookup = lookup or prompt_lookup(text=text)
    result = lookup.cached or _model_verdict(lookup.text, lookup.normalised)
    observability.record(verdict=result.verdict, verdict_source=result.source, screen_model=result.model_id)
    if result.verdict == "malicious":
        blocked_prompt_record(text=lookup.raw, normalised=lookup.normalised, result=result, owner=owner)
        raise PromptBlocked(category=result.category)
    return result


def _cached_verdict(text: str, normalised: str) -> ScreeningResult | None:
    version = policy_version(screening_model_id())
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
    # A text a moderator already confirmed needs no second review: its repeats are recorded as decided
    # (source "moderator") so they stay out of the pending queue; any other repeat joins the pending row.
    pinned = result.source == "moderator"
    status = BlockedPrompt.Status.CONFIRMED if pinned else BlockedPrompt.Status.PENDING
    open_rows = BlockedPrompt.objects.filter(text_hash=digest, status=status)
    if pinned:
        open_rows = open_rows.filter(verdict_source="moderator")
    newest = open_rows.order_by("-created_at").values("pk")[:1]
    bumped = BlockedPrompt.objects.filter(pk__in=newest).update(
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
        status=status,
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


# Moderation. The ORM row holds the decision; the intent cache holds the pin that enforces it. The pin is
# written first: if DynamoDB fails nothing changed and the moderator is told to retry; if the row update
# fails after the pin was written, the pin already enforces the decision and repeating the action (which is
# idempotent) brings the row in line. The other order could show a decision that screening ignores.


def blocked_prompt_mark_false_positive(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Let the prompt's text through from now on: pin `safe` for it and mark the row a false positive."""
    _pin_verdict(blocked_prompt, verdict="safe", category="none", reason="A moderator marked this a false positive.")
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.FALSE_POSITIVE, reviewer=reviewer)


def blocked_prompt_confirm_block(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Block the prompt's text from now on without asking the model: pin `malicious` and confirm the row."""
    reason = "A moderator confirmed this block."
    _pin_verdict(blocked_prompt, verdict="malicious", category=blocked_prompt.category, reason=reason)
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.CONFIRMED, reviewer=reviewer)


def blocked_prompt_reopen(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Undo the decision on the prompt's text: drop its pin and its cached model verdict, and mark it pending.

    The model verdict under the current policy goes too, so the text's next attempt is screened afresh
    instead of the old verdict deciding silently until its TTL runs out (up to INTENT_CACHE_TTL_SECONDS).
    """
    normalised = normalise(blocked_prompt.text)
    version = policy_version(screening_model_id())
    try:
        intent_verdict_delete(pin_key(normalised))
        intent_verdict_delete(verdict_key(normalised, version=version))
    except STORAGE_ERRORS as exc:
        raise ModerationUnavailable(cause=exc) from exc
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.PENDING, reviewer=reviewer)


def _pin_verdict(blocked_prompt: BlockedPrompt, *, verdict: str, category: str, reason: str) -> None:
    try:
        intent_verdict_put(
            key=pin_key(normalise(blocked_prompt.text)),
            verdict=verdict,
            category=category,
            reason=f"{reason} (blocked prompt #{blocked_prompt.pk})",
            source="moderator",
            model_id="",
            ttl=None,
        )
    except STORAGE_ERRORS as exc:
        raise ModerationUnavailable(cause=exc) from exc


def _record_decision(
    blocked_prompt: BlockedPrompt, *, status: BlockedPrompt.Status, reviewer: AbstractBaseUser
) -> BlockedPrompt:
    blocked_prompt.status = status
    blocked_prompt.reviewed_by = reviewer
    blocked_prompt.reviewed_at = timezone.now()
    blocked_prompt.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return blocked_prompt
