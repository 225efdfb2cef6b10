"""Screening a message: its screened text, the intent cache's or the screening model's verdict, the moderation
queue for a blocked one. What `chatapp` calls before any model sees a message."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from core import observability
from security.clients import ModelVerdict, screening_call_bound, screening_model, screening_model_id
from security.exceptions import PromptBlocked
from security.models import BlockedPrompt
from security.policy import context_digest, pin_key, policy_version, screened_text, text_hash, verdict_key
from security.repositories import intent_verdict_put, intent_verdicts_get

__all__ = [
    "PromptLookup",
    "ScreeningResult",
    "blocked_prompt_record",
    "prompt_lookup",
    "prompt_screen",
    "prompt_screened_text",
    "prompt_verdict_store",
    "screening_call_bound",
    "screening_context",
    "screening_model_warm",
]

logger = logging.getLogger("security.services")  # one logger for screening and the output check: one filter finds both


@dataclass(frozen=True)
class ScreeningResult:
    screened: str  # the screened text the verdict is about (security.policy.screened_text)
    verdict: str
    category: str
    reason: str
    source: str  # "model", "cache" or "moderator"
    model_id: str
    context_digest: str = ""  # the context the verdict is about ("": the text alone)


def screening_model_warm() -> None:
    """Build the screening model and load what its first verdict needs now (at start-up), not on a cache miss."""
    screening_model().warm()


@dataclass(frozen=True)
class PromptLookup:
    """A message prepared for screening, with the intent cache's verdict on it if there is one."""

    raw: str  # the message as received
    screened: str  # what a verdict is about, all the models read and history stores (security.policy)
    cached: ScreeningResult | None
    context: tuple[str, ...] = ()  # the earlier user turns it is screened with, oldest first (none: alone)


def screening_context(earlier_user_turns: Sequence[str]) -> tuple[str, ...]:
    """Return the turns a follow-up is screened with: the last SCREENING_CONTEXT_TURNS (0: none) of them."""
    turns = settings.SCREENING_CONTEXT_TURNS
    return tuple(earlier_user_turns[-turns:]) if turns > 0 else ()


def prompt_screened_text(*, raw: str) -> str:
    """Return the message `raw` as screening judges it, the models read it and history stores it."""
    return screened_text(raw)


def prompt_lookup(*, raw: str, context: Sequence[str] = ()) -> PromptLookup:
    """Screen-clean the message `raw` and look up its verdict in the intent cache, without any model call."""
    # `context` holds the conversation's earlier stored user turns, oldest first (none for a first message); the
    # last SCREENING_CONTEXT_TURNS of them are screened with the text, and the verdict is keyed on both.
    screened, turns = screened_text(raw), screening_context(context)
    return PromptLookup(raw, screened, _cached_verdict(screened, context_digest(turns)), turns)


def prompt_screen(*, lookup: PromptLookup, owner: str) -> ScreeningResult:
    """Return the verdict on a looked-up message: the intent cache's if it had one, else the screening model's.

    Raise PromptBlocked (after caching a model's verdict and recording the attempt for moderators) when it is
    malicious, and ScreeningUnavailable when no trustworthy verdict can be had: nothing is cached then.
    """
    result = lookup.cached or _model_verdict(lookup.screened, lookup.context)
    observability.record(
        verdict=result.verdict,
        verdict_source=result.source,
        screen_model=result.model_id,
        screening_context_turns=len(lookup.context),
    )
    if result.verdict == "malicious":
        if result.source == "model":
            prompt_verdict_store(result=result)
        judged_in = lookup.context if result.context_digest else ()  # a pin on the text alone decided it alone
        blocked_prompt_record(raw=lookup.raw, result=result, owner=owner, context=judged_in)
        raise PromptBlocked(category=result.category)
    # A passing model verdict is not written yet: the caller writes it with `prompt_verdict_store`, so that the
    # work it allows (the chat model's answer) can start meanwhile.
    return result


def prompt_verdict_store(*, result: ScreeningResult) -> None:
    """Write a screening model's verdict to the intent cache, for its text in its context, with its TTL."""
    with observability.stage("cache_write"):
        intent_verdict_put(
            key=verdict_key(result.screened, version=policy_version(result.model_id), context=result.context_digest),
            verdict=result.verdict,
            category=result.category,
            reason=result.reason,
            source="model",
            model_id=result.model_id,
            ttl=_verdict_ttl(result.verdict),
        )


def _cached_verdict(screened: str, context: str) -> ScreeningResult | None:
    """Return the verdict that applies to the `screened` text in `context` (a digest; "" alone), or None."""
    # A follow-up is decided by a moderator's pin on it in this context, else by a moderator's block of the text
    # alone (one harmless opener must not get round a confirmed block; a text cleared alone is still judged in its
    # context), else by a model verdict in this very context.
    version, pinned_alone = policy_version(screening_model_id()), pin_key(screened)
    keys = [pin_key(screened, context=context), verdict_key(screened, version=version, context=context)]
    if context:
        keys.insert(1, pinned_alone)
    with observability.stage("cache_read"):
        found = intent_verdicts_get(keys)
    for key in keys:  # a moderator's pin wins over a model verdict
        item = found.get(key)
        if item is None or (context and key == pinned_alone and item.verdict != "malicious"):
            continue
        source = "moderator" if item.source == "moderator" else "cache"
        about = "" if key == pinned_alone else context
        return ScreeningResult(screened, item.verdict, item.category, item.reason, source, item.model_id, about)
    return None


def _model_verdict(screened: str, context: tuple[str, ...]) -> ScreeningResult:
    model, digest = screening_model(), context_digest(context)
    with observability.stage("screening"):
        answer: ModelVerdict = model.classify(screened, context=context)
    return ScreeningResult(screened, answer.verdict, answer.category, answer.reason, "model", model.model_id, digest)


def _verdict_ttl(verdict: str) -> timedelta:
    """Return how long a model verdict is reused: a "safe" one (INTENT_CACHE_SAFE_TTL_SECONDS) less than others."""
    # A wrong "safe" lets every repeat through unscreened and reaches no moderator; a wrong "malicious" lands in
    # the moderation queue, where a pin corrects it. So the riskier verdict is trusted for less.
    seconds = settings.INTENT_CACHE_SAFE_TTL_SECONDS if verdict == "safe" else settings.INTENT_CACHE_TTL_SECONDS
    return timedelta(seconds=seconds)


def blocked_prompt_record(*, raw: str, result: ScreeningResult, owner: str, context: Sequence[str] = ()) -> None:
    """Queue a blocked message (`raw`, as received) and the turns it was judged in, for moderators; count repeats."""
    try:
        with observability.stage("moderation_queue"):
            _queue_blocked_prompt(raw=raw, result=result, owner=owner, context=context)
    except DatabaseError as exc:  # the block never depends on the queue: the attempt is logged, not queued
        logger.error("blocked prompt not queued: %s", exc, extra={"event": "moderation_queue_error"})


def _queue_blocked_prompt(*, raw: str, result: ScreeningResult, owner: str, context: Sequence[str]) -> None:
    digest = text_hash(result.screened)
    # A text a moderator already confirmed needs no second review: its repeats are recorded as decided
    # (source "moderator") so they stay out of the pending queue; any other repeat (the same text in the same
    # context) joins the pending row.
    pinned = result.source == "moderator"
    status = BlockedPrompt.Status.CONFIRMED if pinned else BlockedPrompt.Status.PENDING
    open_rows = BlockedPrompt.objects.filter(text_hash=digest, context_digest=context_digest(context), status=status)
    if pinned:
        open_rows = open_rows.filter(verdict_source="moderator")
    newest = open_rows.order_by("-created_at").values("pk")[:1]
    bumped = BlockedPrompt.objects.filter(pk__in=newest).update(
        repeat_count=F("repeat_count") + 1, last_seen_at=timezone.now()
    )
    if bumped:
        return
    BlockedPrompt.objects.create(
        text=raw,
        text_hash=digest,
        context=list(context),
        context_digest=context_digest(context),
        category=result.category,
        reason=result.reason,
        verdict_source=result.source,
        model_id=result.model_id,
        owner_hash=observability.owner_hash(owner),
        status=status,
    )
