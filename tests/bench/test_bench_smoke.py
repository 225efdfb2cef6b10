"""The cost benchmark's counting, on a short replay (correctness only: timings belong to `make bench`)."""

import pytest

from bench.cost import SPLIT_FINISH, SPLIT_OPENER, Turn, dollars, expected_outcomes, make_trace, tally
from bench.models import ModelScript
from fakes.bedrock import MALICIOUS_MARKER
from security.policy import screened_text
from tests.support import CHAT_URL, ApiClient


@pytest.fixture
def http(db: None) -> ApiClient:
    return ApiClient()


def replay(http: ApiClient, trace: list[Turn]) -> list[int]:
    """Post the trace as bench/child_app.py does: each conversation's turns in it, once its first one passed."""
    conversations: dict[int, str] = {}
    statuses = []
    for number, message in trace:
        body = {"message": message, "conversation_id": conversations.get(number)}
        response = http.post(CHAT_URL, body)
        if response.status_code == 200:
            conversations.setdefault(number, response.json()["conversation_id"])
        statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize("context_turns", [10, 4, 0])
def test_replay_screens_each_distinct_text_in_its_context_once(http, bedrock, settings, context_turns):
    settings.CHAT_RATE_LIMIT = ""
    settings.SCREENING_CONTEXT_TURNS = context_turns
    script = ModelScript()
    bedrock.default = script
    trace = [*make_trace(40, seed=3), (100, f"Now {MALICIOUS_MARKER.upper()}."), (101, SPLIT_OPENER)]
    trace += [(101, SPLIT_FINISH), (101, "Can you give me an example?")]

    statuses = replay(http, trace)
    counts = tally(trace, statuses, list(bedrock.calls), script.usage, context_turns=context_turns)

    expected, blocked = expected_outcomes(trace, context_turns=context_turns)
    assert counts["screening_calls"] == counts["expected_screening_calls"] == expected < len(trace)
    assert counts["statuses"] == {"200": len(trace) - blocked, "403": blocked}
    assert statuses[-2] == (403 if context_turns else 200)  # the split attack is caught in context only
    screen_model, chat_model = settings.BEDROCK_SCREEN_MODEL_ID, settings.BEDROCK_CHAT_MODEL_ID
    assert counts["tokens"][screen_model]["calls"] == counts["screening_calls"]
    assert counts["tokens"][chat_model]["calls"] == len(trace) - blocked
    assert (counts["context_tokens"]["calls"] > 0) == (context_turns > 0)
    assert dollars(counts["tokens"], settings.BEDROCK_PRICES)[chat_model] > 0


def test_trace_has_follow_ups_and_variants_are_screened_as_texts_of_their_own():
    trace = make_trace(200, seed=1)
    alone, _ = expected_outcomes(trace, context_turns=0)
    in_context, _ = expected_outcomes(trace, context_turns=4)

    assert alone == len({screened_text(message) for _, message in trace})
    assert alone < in_context < len(trace)  # context costs cache hits; exact repeats in one context still share
    assert len({conversation for conversation, _ in trace}) < len(trace) / 2  # most messages are follow-ups
    case_and_space_variants = {" ".join(message.casefold().split()) for _, message in trace}
    assert len(case_and_space_variants) < alone  # variants are not folded together
