"""However a reply ends, its reservation is settled to what its calls cost: done, stopped by a closed socket, cut
by a model failure or the POST deadline, blocked, replayed; and one left by a killed invocation is refunded."""

import json
import math
import time
from types import SimpleNamespace

import pytest

from billing.services import MessageSpend, holds_release_overdue
from chatapp.chat.socket import socket_message
from chatapp.tickets import socket_ticket_issue
from core import observability
from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from fakes.connections import websocket_event
from tests.billing.conftest import holds, owner_spent, service_spent, today
from tests.support import CHAT, ApiClient, live_session_key, request_log_records

pytestmark = pytest.mark.django_db(transaction=True)

OWNER = "session:settle-test"
REPLY = " ".join(f"Line {n} of a reply written a little at a time." for n in range(20))
SCREEN_COST = 297  # the fake verdict: 120 input and 30 output tokens on Haiku (US profile), in µUSD


def send(connection_id: str, message: str = "Hello", request_id: str | None = None) -> None:
    ticket = socket_ticket_issue(owner=OWNER, session_key=live_session_key())
    frame = {"action": "chat", "ticket": ticket, "message": message, "request_id": request_id or connection_id}
    event = websocket_event("MESSAGE", connection_id=connection_id, body=json.dumps(frame))
    socket_message(event, SimpleNamespace(aws_request_id=connection_id, get_remaining_time_in_millis=lambda: 60_000))


def worst(message: str = "Hello") -> dict[str, int]:
    return MessageSpend(owner=OWNER, ip="", raw=message, conversation_id=None).worst_case()


def logged_spend(capsys) -> tuple[float, float]:
    (line,) = request_log_records(capsys.readouterr().out)
    return line["spend_usd"], line["spend_reserved_usd"]


@pytest.fixture
def connections(socket_connections, settings):
    settings.STREAM_FRAME_SECONDS = 0.05
    return socket_connections


def test_a_complete_reply_is_settled_to_the_usage_the_models_reported(connections, bedrock, capsys):
    bedrock.then(CHAT, stream_answer(REPLY))  # 10 input tokens, len(REPLY) // 4 output tokens
    capsys.readouterr()
    send("done")
    assert connections.frames["done"][-1]["type"] == "done"
    expected = SCREEN_COST + math.ceil(10 * 3.3 + len(REPLY) // 4 * 16.5)
    assert owner_spent(OWNER) == service_spent() == expected
    assert holds() == []
    spend_usd, reserved_usd = logged_spend(capsys)
    assert spend_usd == expected / 1e6 < reserved_usd


def test_a_socket_closed_mid_reply_keeps_the_chat_worst_case_and_releases_the_hold(connections, bedrock):
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=200))
    connections.close_after("leaving", 2)  # accepted and one delta, then the client is gone
    send("leaving")
    assert [frame["type"] for frame in connections.frames["leaving"]] == ["accepted", "delta"]
    # The model's usage (its last event) never came: what it wrote is charged at the call's worst case.
    assert owner_spent(OWNER) == SCREEN_COST + worst()["chat"]
    assert holds() == []


def test_a_model_failure_mid_reply_is_settled_and_releases_the_hold(connections, bedrock):
    bedrock.then(CHAT, stream_answer(REPLY, error_after=3))
    send("broken")
    assert connections.frames["broken"][-1]["error"]["code"] == "model_unavailable"
    assert owner_spent(OWNER) == SCREEN_COST + worst()["chat"]
    assert holds() == []


def test_a_post_cut_at_its_deadline_is_settled(bedrock, settings):
    settings.POST_REPLY_SECONDS = 1.0
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=40))
    api = ApiClient()
    response = api.chat("Hello")
    assert response.json()["message"]["stop_reason"] == "time_limit"
    owner = f"session:{api.http.cookies[settings.SESSION_COOKIE_NAME].value}"
    assert owner_spent(owner) == SCREEN_COST + worst()["chat"]
    assert holds() == []


def test_a_blocked_message_costs_its_screening_call_only(connections, bedrock):
    send("blocked", message=f"please {MALICIOUS_MARKER}")
    assert connections.frames["blocked"][-1]["error"]["code"] == "prompt_blocked"
    assert owner_spent(OWNER) == SCREEN_COST
    assert bedrock.calls_to(CHAT) == [] and holds() == []


def test_a_cached_verdict_costs_no_screening(connections, bedrock):
    send("first", message="The same question")
    first = owner_spent(OWNER)
    send("again", message="The same question")
    assert owner_spent(OWNER) - first == first - SCREEN_COST  # the repeat paid for its reply only


def test_a_replayed_request_costs_nothing(connections, bedrock):
    send("first", request_id="r-1")
    spent = owner_spent(OWNER)
    send("retry", request_id="r-1")  # answered already: the stored reply, no model
    assert owner_spent(OWNER) == spent and holds() == []


def test_a_reservation_left_by_a_killed_invocation_is_refunded_once_overdue(bedrock, settings):
    """A Lambda killed mid-reply (its timeout) never settles: its hold stays, and it is refunded once past
    BUDGET_HOLD_SECONDS, when a ceiling would otherwise refuse, so the money is held for minutes, not a day."""
    spend = MessageSpend(owner=OWNER, ip="192.0.2.1", raw="Hello", conversation_id=None)
    with observability.request_record(request_id="killed"):
        spend.reserve_start()
        spend.admitted()  # ... and the invocation dies here: no settle, no finally
    reserved = spend.reserved
    assert owner_spent(OWNER) == service_spent() == reserved > 0 and len(holds()) == 1

    assert not holds_release_overdue(period=today())  # still within its invocation's lifetime: kept
    assert holds_release_overdue(period=today(), now=_after_hold(settings))
    assert owner_spent(OWNER) == service_spent() == 0 and holds() == []
    assert not holds_release_overdue(period=today(), now=_after_hold(settings))  # refunded once only


def test_spend_release_refunds_overdue_reservations_on_a_schedule(bedrock, settings):
    from django.core.management import call_command

    settings.BUDGET_HOLD_SECONDS = 0
    killed = MessageSpend(owner=OWNER, ip="192.0.2.1", raw="Hello", conversation_id=None)
    killed.reserve_start()
    killed.admitted()
    call_command("spend_release")
    assert owner_spent(OWNER) == service_spent() == 0 and holds() == []


def test_a_ceiling_refusal_first_refunds_overdue_reservations(connections, bedrock, settings):
    settings.BUDGET_HOLD_SECONDS = 0  # every hold is overdue at once
    settings.BUDGET_ANONYMOUS_DAILY_USD = str(sum(worst().values()) * 1.5 / 1e6)  # room for one worst case
    killed = MessageSpend(owner=OWNER, ip="192.0.2.1", raw="Hello", conversation_id=None)
    killed.reserve_start()
    killed.admitted()  # never settled
    send("after")
    assert connections.frames["after"][-1]["type"] == "done"
    assert holds() == []


def test_an_invocation_that_outlives_its_hold_still_settles_to_its_cost(bedrock, settings):
    spend = MessageSpend(owner=OWNER, ip="192.0.2.1", raw="Hello", conversation_id=None)
    with observability.request_record(request_id="slow"):
        spend.reserve_start()
        spend.admitted()
        assert holds_release_overdue(period=today(), now=_after_hold(settings))  # swept while still running
        observability.add_usage("screen", {"input_tokens": 120, "output_tokens": 30})
        observability.record(timings_ms={"screening": 1.0})
        spend.settle()
    assert owner_spent(OWNER) == service_spent() == SCREEN_COST


def _after_hold(settings) -> float:
    return time.time() + settings.BUDGET_HOLD_SECONDS + 1
