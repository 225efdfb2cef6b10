"""The cost benchmark's counting, on a short replay (correctness only: timings belong to `make bench`)."""

import pytest
from django.test import Client

from bench.cost import dollars, expected_screenings, make_trace, tally
from bench.models import ModelScript
from security.policy import screened_text
from tests.fakes.bedrock import MALICIOUS_MARKER

CHAT_URL = "/api/v1/ai/chat"


@pytest.fixture
def http(db: None) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.csrf_token = client.get("/api/v1/session").json()["csrf_token"]
    return client


def _chat(http: Client, message: str) -> int:
    body = {"message": message}
    return http.post(
        CHAT_URL, body, content_type="application/json", headers={"X-CSRFToken": http.csrf_token}
    ).status_code


def test_replay_screens_each_distinct_screened_text_once(http, bedrock, settings):
    settings.CHAT_RATE_LIMIT = ""
    script = ModelScript()
    bedrock.default = script
    trace = [*make_trace(30, seed=3), f"Now {MALICIOUS_MARKER.upper()}.", f"  now   {MALICIOUS_MARKER}. "]

    statuses = [_chat(http, message) for message in trace]
    counts = tally(trace, statuses, list(bedrock.calls), script.usage)

    assert expected_screenings(trace) < len(trace)  # the trace does repeat itself
    assert counts["screening_calls"] == counts["expected_screening_calls"] == expected_screenings(trace)
    blocked = sum(MALICIOUS_MARKER in message.casefold() for message in trace)  # the fake screener's rule
    assert blocked >= 2
    assert counts["statuses"] == {"200": len(trace) - blocked, "403": blocked}
    screen_model, chat_model = settings.BEDROCK_SCREEN_MODEL_ID, settings.BEDROCK_CHAT_MODEL_ID
    assert counts["tokens"][screen_model]["calls"] == counts["screening_calls"]
    assert counts["tokens"][chat_model]["calls"] == len(trace) - blocked
    assert dollars(counts["tokens"], settings.BEDROCK_PRICES)[chat_model] > 0


def test_trace_variants_are_screened_as_texts_of_their_own():
    trace = make_trace(200, seed=1)

    assert expected_screenings(trace) == len({screened_text(message) for message in trace})
    assert expected_screenings(trace) < len(trace)  # exact repeats still share a verdict
    case_and_space_variants = {" ".join(message.casefold().split()) for message in trace}
    assert len(case_and_space_variants) < expected_screenings(trace)  # variants are not folded together
