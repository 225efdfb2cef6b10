"""Invisible characters are removed before hashing and screening, through the whole API."""

import json
import uuid

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from security.policy import screened_text
from tests.security.test_policy import INVISIBLE, with_invisibles
from tests.support import SCREEN

words = st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), min_size=1, max_size=30)


@hypothesis_settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(with_invisibles(words))
def test_texts_differing_only_in_invisible_characters_share_one_screening_call(api, bedrock, pair):
    plain, smuggled = pair
    marker = uuid.uuid4().hex  # a fresh text per example: no verdict cached from an earlier one
    before = len(bedrock.calls_to(SCREEN))
    first = api.chat(f"{marker} {smuggled}")
    second = api.chat(f"{marker} {plain}")
    assert first.status_code == second.status_code == 200
    assert first.json()["screening"]["source"] == "model"
    assert second.json()["screening"]["source"] == "cache"
    screened = bedrock.calls_to(SCREEN)[before:]
    assert len(screened) == 1
    sent = json.loads(screened[0].last_user_text.split("\n", 1)[1])["message"]
    assert sent == screened_text(f"{marker} {plain}")
    assert not any(char in screened[0].last_user_text for char in INVISIBLE)


def test_chat_model_and_history_see_the_cleaned_text(api, bedrock):
    smuggled = "hel\u200blo \U000e0069\U000e0067there\u202e\ufe0f"
    body = api.chat(smuggled).json()
    assert body["message"]["content"] == "Echo: hello there"
    messages = api.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]
    assert messages[0]["content"] == "hello there"
