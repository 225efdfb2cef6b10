"""Moderators' decisions and the intent cache: pins, their removal, and their life across policy versions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from security import policy
from security.clients import screening_model
from security.exceptions import ModerationUnavailable
from security.models import BlockedPrompt
from security.policy import pin_key, policy_version, screened_text, verdict_key
from security.repositories import IntentVerdict, intent_verdicts_get
from security.services.moderation import (
    blocked_prompt_confirm_block,
    blocked_prompt_mark_false_positive,
    blocked_prompt_reopen,
)
from security.services.screening import prompt_lookup, prompt_screen, prompt_verdict_store
from tests.security.conftest import INJECTION
from tests.support import SCREEN

pytestmark = pytest.mark.django_db


def stored(text: str) -> dict[str, IntentVerdict]:
    """Return the live intent-cache items for `text`: under "pin" and "model" (current policy)."""
    screened = screened_text(text)
    model_key = verdict_key(screened, version=policy_version(screening_model().model_id))
    found = intent_verdicts_get([pin_key(screened), model_key])
    return {name: found[key] for name, key in (("pin", pin_key(screened)), ("model", model_key)) if key in found}


def screen(text: str):
    """Screen `text` as the chat pipeline does: a passing model verdict is then written to the intent cache."""
    try:
        result = prompt_screen(lookup=prompt_lookup(raw=text), owner="owner-1")
    except Exception as exc:  # PromptBlocked, the contract's error for a malicious text
        return exc
    if result.source == "model":
        prompt_verdict_store(result=result)
    return result


def test_pin_key_is_the_rows_text_hash(blocked):
    assert pin_key(screened_text(blocked.text)) == f"pin:text#{blocked.text_hash}"


def test_mark_false_positive_pins_safe_without_ttl(blocked, moderator):
    before = timezone.now()
    blocked_prompt_mark_false_positive(blocked_prompt=blocked, reviewer=moderator)
    pin = stored(INJECTION)["pin"]
    assert (pin.verdict, pin.category, pin.source, pin.expires_at) == ("safe", "none", "moderator", None)
    blocked.refresh_from_db()
    assert blocked.status == BlockedPrompt.Status.FALSE_POSITIVE
    assert blocked.reviewed_by == moderator
    assert blocked.reviewed_at >= before


def test_false_positive_pin_beats_the_cached_model_verdict(db, bedrock, moderator):
    assert screen(INJECTION).code == "prompt_blocked"  # the model said malicious, and it is cached
    blocked_prompt_mark_false_positive(blocked_prompt=BlockedPrompt.objects.get(), reviewer=moderator)
    result = screen(f"  {INJECTION}\u200b ")  # the same text once cleaned: invisible characters and spaces go
    assert (result.verdict, result.source) == ("safe", "moderator")
    assert len(bedrock.calls_to(SCREEN)) == 1


def test_a_pin_covers_only_the_text_its_moderator_saw(db, bedrock, moderator):
    assert screen(INJECTION).code == "prompt_blocked"
    blocked_prompt_mark_false_positive(blocked_prompt=BlockedPrompt.objects.get(), reviewer=moderator)
    assert screen(INJECTION.lower()).code == "prompt_blocked"  # another text: screened by the model again
    assert len(bedrock.calls_to(SCREEN)) == 2


def test_confirm_block_pins_malicious_with_the_rows_category(blocked, moderator, bedrock):
    blocked_prompt_confirm_block(blocked_prompt=blocked, reviewer=moderator)
    pin = stored(INJECTION)["pin"]
    expected = ("malicious", "prompt_injection", "moderator", None)
    assert (pin.verdict, pin.category, pin.source, pin.expires_at) == expected
    blocked.refresh_from_db()
    assert (blocked.status, blocked.reviewed_by) == (BlockedPrompt.Status.CONFIRMED, moderator)
    assert screen(INJECTION).code == "prompt_blocked"
    assert bedrock.calls_to(SCREEN) == []


def test_repeat_of_a_confirmed_text_is_recorded_as_decided_not_queued(blocked, moderator, bedrock):
    blocked_prompt_confirm_block(blocked_prompt=blocked, reviewer=moderator)
    screen(INJECTION)
    screen(f" {INJECTION}\u200b")
    repeat = BlockedPrompt.objects.exclude(pk=blocked.pk).get()
    assert (repeat.verdict_source, repeat.status, repeat.repeat_count) == ("moderator", "confirmed", 2)
    assert not BlockedPrompt.objects.filter(status="pending").exists()


def test_repeat_of_a_pending_text_bumps_its_row(db, bedrock):
    screen(INJECTION)
    first = BlockedPrompt.objects.get()
    screen(" " + INJECTION + "\u200b\n")
    bumped = BlockedPrompt.objects.get()
    assert bumped.repeat_count == 2
    assert bumped.last_seen_at > first.last_seen_at


def test_reopen_removes_the_pin_and_the_model_verdict_so_the_model_screens_again(db, bedrock, moderator):
    screen(INJECTION)
    blocked = BlockedPrompt.objects.get()
    blocked_prompt_mark_false_positive(blocked_prompt=blocked, reviewer=moderator)
    blocked_prompt_reopen(blocked_prompt=blocked, reviewer=moderator)
    assert stored(INJECTION) == {}
    blocked.refresh_from_db()
    assert (blocked.status, blocked.reviewed_by) == (BlockedPrompt.Status.PENDING, moderator)
    assert screen(INJECTION).code == "prompt_blocked"
    assert len(bedrock.calls_to(SCREEN)) == 2  # screened afresh, not the old cached verdict
    blocked.refresh_from_db()
    assert blocked.repeat_count == 2  # the new block joins the reopened row


def test_reopen_of_a_confirmed_block_lets_the_model_decide_again(blocked, moderator, bedrock):
    blocked_prompt_confirm_block(blocked_prompt=blocked, reviewer=moderator)
    blocked_prompt_reopen(blocked_prompt=blocked, reviewer=moderator)
    assert screen(INJECTION).code == "prompt_blocked"
    assert len(bedrock.calls_to(SCREEN)) == 1


@pytest.mark.parametrize("change", ["model_id", "prompt"])
def test_pins_survive_a_policy_version_change(blocked, moderator, bedrock, settings, monkeypatch, change):
    blocked_prompt_mark_false_positive(blocked_prompt=blocked, reviewer=moderator)
    old_version = policy_version(screening_model().model_id)
    if change == "model_id":
        settings.BEDROCK_SCREEN_MODEL_ID = "us.anthropic.claude-haiku-9-v1:0"
    else:
        monkeypatch.setattr(policy, "SCREEN_SYSTEM_PROMPT", policy.SCREEN_SYSTEM_PROMPT + " Be strict.")
    screening_model.cache_clear()
    assert policy_version(screening_model().model_id) != old_version
    result = screen(INJECTION)
    assert (result.verdict, result.source) == ("safe", "moderator")
    assert bedrock.calls == []


def test_model_verdicts_do_not_survive_a_policy_version_change(db, bedrock, settings):
    screen("hello there")
    settings.BEDROCK_SCREEN_MODEL_ID = "us.anthropic.claude-haiku-9-v1:0"
    screening_model.cache_clear()
    assert screen("hello there").source == "model"
    assert len(bedrock.calls_to("us.anthropic.claude-haiku-9-v1:0")) == 1


@pytest.mark.parametrize(
    "decide", [blocked_prompt_mark_false_positive, blocked_prompt_confirm_block, blocked_prompt_reopen]
)
def test_decision_changes_nothing_when_the_verdict_store_fails(blocked, moderator, decide):
    IntentVerdict.delete_table()  # DynamoDB answers ResourceNotFoundException from now on
    with pytest.raises(ModerationUnavailable):
        decide(blocked_prompt=blocked, reviewer=moderator)
    blocked.refresh_from_db()
    assert (blocked.status, blocked.reviewed_by, blocked.reviewed_at) == ("pending", None, None)


def test_a_withheld_reply_cannot_be_pinned_as_an_input(db, bedrock, moderator):
    from security.exceptions import DecisionNotApplicable

    reply_text = "a model reply that the output check withheld"
    reply = BlockedPrompt.objects.create(
        text=reply_text, text_hash="x", kind="output", category="prompt_extraction", verdict_source="output_check"
    )
    for decide in (blocked_prompt_mark_false_positive, blocked_prompt_confirm_block):
        with pytest.raises(DecisionNotApplicable):
            decide(blocked_prompt=reply, reviewer=moderator)
    assert stored(reply_text) == {}
    assert screen(reply_text).source == "model"  # sent as a message, it is screened like any other


def test_a_safe_model_verdict_is_reused_for_less_time_than_a_malicious_one(db, bedrock, settings):
    settings.INTENT_CACHE_SAFE_TTL_SECONDS = 3600
    settings.INTENT_CACHE_TTL_SECONDS = 7 * 24 * 3600
    before = timezone.now()
    assert screen("what is the capital of France?").verdict == "safe"
    assert screen(INJECTION).code == "prompt_blocked"
    lifetimes = {item.verdict: item.expires_at - before for item in IntentVerdict.scan() if item.source == "model"}
    assert timedelta(minutes=59) < lifetimes["safe"] <= timedelta(hours=1, seconds=5)
    assert timedelta(days=7) - timedelta(minutes=1) < lifetimes["malicious"] <= timedelta(days=7, seconds=5)
