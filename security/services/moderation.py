"""Moderators' decisions on the moderation queue (the admin's actions).

The ORM row holds the decision; the intent cache holds the pin that enforces it. The pin is written first:
if DynamoDB fails nothing changed and the moderator is told to retry; if the row update fails after the pin
was written, the pin already enforces the decision and repeating the action (which is idempotent) brings the
row in line. The other order could show a decision that screening ignores.

A withheld model reply (kind "output") is no input: pinning its text would let that text through as a
message for everyone. Output rows are acknowledged or reopened, and never touch the intent cache.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from core.exceptions import STORAGE_ERRORS
from core.observability import owner_hash
from security.clients import screening_model_id
from security.exceptions import DecisionNotApplicable, ModerationUnavailable
from security.models import BlockedPrompt
from security.policy import pin_key, policy_version, screened_text, verdict_key
from security.repositories import intent_verdict_delete, intent_verdict_put

__all__ = [
    "blocked_prompt_acknowledge",
    "blocked_prompt_confirm_block",
    "blocked_prompt_mark_false_positive",
    "blocked_prompt_reopen",
    "blocked_prompts_unlink",
]


def blocked_prompt_mark_false_positive(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Let the prompt's text through from now on: pin `safe` for it and mark the row a false positive."""
    _require_kind(blocked_prompt, BlockedPrompt.Kind.INPUT)
    _pin_verdict(blocked_prompt, verdict="safe", category="none", reason="A moderator marked this a false positive.")
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.FALSE_POSITIVE, reviewer=reviewer)


def blocked_prompt_confirm_block(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Block the prompt's text from now on without asking the model: pin `malicious` and confirm the row."""
    _require_kind(blocked_prompt, BlockedPrompt.Kind.INPUT)
    reason = "A moderator confirmed this block."
    _pin_verdict(blocked_prompt, verdict="malicious", category=blocked_prompt.category, reason=reason)
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.CONFIRMED, reviewer=reviewer)


def blocked_prompt_acknowledge(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Record that a moderator reviewed a withheld model reply; nothing is pinned (a reply is not an input)."""
    _require_kind(blocked_prompt, BlockedPrompt.Kind.OUTPUT)
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.ACKNOWLEDGED, reviewer=reviewer)


def _require_kind(blocked_prompt: BlockedPrompt, kind: str) -> None:
    if blocked_prompt.kind != kind:
        raise DecisionNotApplicable(f"This decision applies to {BlockedPrompt.Kind(kind).label.lower()} rows only.")


def blocked_prompt_reopen(*, blocked_prompt: BlockedPrompt, reviewer: AbstractBaseUser) -> BlockedPrompt:
    """Undo the decision on the prompt's text: drop its pin and its cached model verdict, and mark it pending."""
    if blocked_prompt.kind == BlockedPrompt.Kind.OUTPUT:  # nothing of it is in the intent cache
        return _record_decision(blocked_prompt, status=BlockedPrompt.Status.PENDING, reviewer=reviewer)
    screened, context = screened_text(blocked_prompt.text), blocked_prompt.context_digest
    version = policy_version(screening_model_id())
    try:
        intent_verdict_delete(pin_key(screened, context=context))
        # The model verdict goes too, so the text's next attempt is screened afresh rather than that verdict deciding
        # silently until its TTL runs out (up to INTENT_CACHE_TTL_SECONDS).
        intent_verdict_delete(verdict_key(screened, version=version, context=context))
    except STORAGE_ERRORS as exc:
        raise ModerationUnavailable(cause=exc) from exc
    return _record_decision(blocked_prompt, status=BlockedPrompt.Status.PENDING, reviewer=reviewer)


def _pin_verdict(blocked_prompt: BlockedPrompt, *, verdict: str, category: str, reason: str) -> None:
    try:
        intent_verdict_put(
            key=pin_key(screened_text(blocked_prompt.text), context=blocked_prompt.context_digest),
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


DELETED_OWNER = "deleted"


def blocked_prompts_unlink(*, owner: str) -> int:
    """Keep `owner`'s blocked prompts in the queue with no pseudonym tying them to each other; return how many."""
    return BlockedPrompt.objects.filter(owner_hash=owner_hash(owner)).update(owner_hash=DELETED_OWNER)
