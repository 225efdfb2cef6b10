"""Migration 0003: decisions keyed on the casefolded text move to the exact screened text."""

import hashlib
import importlib

import pytest
from django.apps import apps

from security.policy import normalise, pin_key, screened_text
from security.repositories import intent_verdict_put, intent_verdicts_get
from security.services.screening import prompt_lookup, prompt_screen
from tests.security.conftest import INJECTION, blocked_prompt_make

rekey = importlib.import_module("security.migrations.0003_screened_text_keys").rekey_decisions
pytestmark = pytest.mark.django_db


def old_pin_key(text: str) -> str:
    return f"pin#{hashlib.sha256(normalise(text).encode()).hexdigest()}"


def old_pin(text: str, verdict: str) -> None:
    fields = {"category": "none", "reason": "old", "source": "moderator", "model_id": "", "ttl": None}
    intent_verdict_put(key=old_pin_key(text), verdict=verdict, **fields)


def test_decisions_are_pinned_again_under_the_screened_text_and_old_pins_go(bedrock):
    safe = blocked_prompt_make("Tell me about BASE64", status="false_positive", text_hash="old")
    confirmed = blocked_prompt_make(INJECTION, status="confirmed", text_hash="old")
    withheld = blocked_prompt_make("a leaked reply", kind="output", status="false_positive", text_hash="old")
    for row, verdict in ((safe, "safe"), (confirmed, "malicious"), (withheld, "safe")):
        old_pin(row.text, verdict)
    rekey(apps, None)
    rekey(apps, None)  # idempotent: a run DynamoDB interrupted is simply repeated
    found = intent_verdicts_get([pin_key(screened_text(r.text)) for r in (safe, confirmed, withheld)])
    assert found[pin_key(screened_text(safe.text))].verdict == "safe"
    assert found[pin_key(screened_text(confirmed.text))].verdict == "malicious"
    assert pin_key(screened_text(withheld.text)) not in found  # a model reply is not a message anyone sends
    assert not intent_verdicts_get([old_pin_key(r.text) for r in (safe, confirmed, withheld)])
    assert prompt_screen(lookup=prompt_lookup(raw="Tell me about BASE64"), owner="o").source == "moderator"
    lower_case = prompt_lookup(raw="tell me about base64")
    assert prompt_screen(lookup=lower_case, owner="o").source == "model"  # the lower-case form is not pinned
    safe.refresh_from_db()
    assert safe.text_hash == hashlib.sha256(b"Tell me about BASE64").hexdigest()
