"""Many messages at once against one ceiling, over POST and the socket mixed: the spend computed from the models'
reported usage never passes the ceiling, and the rest are refused with budget_exhausted before any model call."""

import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from billing.services import MessageSpend
from chatapp.chat.socket import socket_message
from chatapp.tickets import socket_ticket_issue
from fakes.bedrock import stream_answer
from fakes.connections import websocket_event
from tests.billing.conftest import holds, ip_spent, owner_spent, service_spent
from tests.support import CHAT, SCREEN, ApiClient, live_session_key

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 10
# What one message's calls cost as the fake models report them: the verdict (120 in, 30 out on Haiku) and a
# long reply (300 in, 900 out on Sonnet), at the US profiles' prices: near its worst case, so a ceiling that
# admitted one message too many would be passed.
SCREEN_COST = 120 * 1.1 + 30 * 5.5
CHAT_COST = 300 * 3.3 + 900 * 16.5
MESSAGE_COST = round(SCREEN_COST + CHAT_COST)


def message(n: int) -> str:
    return f"message {n:02d}"


def worst_case() -> int:
    worst = MessageSpend(owner="session:any", ip="", raw=message(0), conversation_id=None).worst_case()
    return worst["screen"] + worst["chat"]


def costly_replies(bedrock, count: int) -> None:
    """Queue replies that report the usage above, written slowly enough that the messages overlap."""
    answers = []
    for _ in range(count):
        answer = stream_answer("A long and costly reply.", first_token_delay=0.4)
        answer.body["usage"] = {"inputTokens": 300, "outputTokens": 900, "totalTokens": 1200}
        answers.append(answer)
    bedrock.then(CHAT, *answers)


def ceiling_for(settings, setting: str, messages: float) -> int:
    """Set `setting` to room for `messages` worst cases, every other ceiling far away; return it in µUSD."""
    for name in ("BUDGET_ANONYMOUS_DAILY_USD", "BUDGET_IP_DAILY_USD", "BUDGET_SERVICE_DAILY_USD"):
        setattr(settings, name, "100")
    ceiling = round(worst_case() * messages)
    setattr(settings, setting, str(ceiling / 1_000_000))
    return ceiling


def post(api: ApiClient, n: int) -> tuple[str, dict]:
    response = api.chat(message(n))
    body = response.json()
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) > 0
        return "refused", body["error"]
    assert response.status_code == 200, body
    return "answered", body


def over_socket(connections, owner: str, ip: str, n: int) -> tuple[str, dict]:
    ticket = socket_ticket_issue(owner=owner, session_key=live_session_key())
    frame = {"action": "chat", "ticket": ticket, "message": message(n), "request_id": f"r{n}"}
    event = websocket_event("MESSAGE", connection_id=f"c{n}", body=json.dumps(frame), source_ip=ip)
    socket_message(event, SimpleNamespace(aws_request_id=f"l{n}", get_remaining_time_in_millis=lambda: 60_000))
    last = connections.frames[f"c{n}"][-1]
    if last["type"] == "error":
        assert last["error"]["retry_after"] > 0
        return "refused", last["error"]
    assert last["type"] == "done", last
    return "answered", last


def burst(calls) -> list[tuple[str, dict]]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def assert_held(outcomes, bedrock, *, scope: str, ceiling: int, spent: int) -> None:
    answered = [body for outcome, body in outcomes if outcome == "answered"]
    refused = [body for outcome, body in outcomes if outcome == "refused"]
    assert answered and refused, outcomes
    assert all(error["code"] == "budget_exhausted" and error["scope"] == scope for error in refused), refused
    assert all(error["resets_at"].endswith("00:00:00+00:00") for error in refused)
    assert spent == len(answered) * MESSAGE_COST <= ceiling
    assert len(bedrock.calls_to(CHAT)) == len(bedrock.calls_to(SCREEN)) == len(answered)  # refused: no model
    assert holds() == []


def test_an_owner_ceiling_holds_against_many_messages_at_once(bedrock, socket_connections, settings):
    ceiling = ceiling_for(settings, "BUDGET_ANONYMOUS_DAILY_USD", 3.5)
    costly_replies(bedrock, MESSAGES)
    api = ApiClient()
    owner = f"session:{api.http.cookies[settings.SESSION_COOKIE_NAME].value}"
    tabs = [ApiClient(same_session_as=api) for _ in range(MESSAGES // 2)]
    calls = [lambda tab=tab, n=n: post(tab, n) for n, tab in enumerate(tabs)]
    calls += [lambda n=n: over_socket(socket_connections, owner, "198.51.100.9", n) for n in range(5, MESSAGES)]
    outcomes = burst(calls)
    assert_held(outcomes, bedrock, scope="owner", ceiling=ceiling, spent=owner_spent(owner))


def test_an_ip_ceiling_holds_across_many_sessions_at_once(bedrock, socket_connections, settings):
    ceiling = ceiling_for(settings, "BUDGET_IP_DAILY_USD", 3.5)
    costly_replies(bedrock, MESSAGES)
    visitors = [ApiClient() for _ in range(MESSAGES // 2)]  # the test client's address: 127.0.0.1
    calls = [lambda api=api, n=n: post(api, n) for n, api in enumerate(visitors)]
    calls += [lambda n=n: over_socket(socket_connections, f"session:s{n}", "127.0.0.1", n) for n in range(5, MESSAGES)]
    outcomes = burst(calls)
    assert_held(outcomes, bedrock, scope="ip", ceiling=ceiling, spent=ip_spent("127.0.0.1"))


def test_the_service_ceiling_holds_across_many_people_and_addresses_at_once(bedrock, socket_connections, settings):
    ceiling = ceiling_for(settings, "BUDGET_SERVICE_DAILY_USD", 3.5)
    costly_replies(bedrock, MESSAGES)
    visitors = [ApiClient() for _ in range(MESSAGES // 2)]
    for n, api in enumerate(visitors):
        api.http.defaults["REMOTE_ADDR"] = f"203.0.113.{n}"
    calls = [lambda api=api, n=n: post(api, n) for n, api in enumerate(visitors)]
    calls += [
        lambda n=n: over_socket(socket_connections, f"session:s{n}", f"198.51.100.{n}", n) for n in range(5, MESSAGES)
    ]
    outcomes = burst(calls)
    assert_held(outcomes, bedrock, scope="service", ceiling=ceiling, spent=service_spent())
