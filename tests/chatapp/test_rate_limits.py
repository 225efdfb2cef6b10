"""Rate limits per owner and per client IP: one atomic counter per window, exact under concurrency."""

import functools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import botocore.client
import pytest
from moto.dynamodb.models import DynamoDBBackend

from chatapp.chat.socket import socket_message
from chatapp.throttling import CounterRateThrottle
from chatapp.tickets import socket_ticket_issue
from fakes.connections import websocket_event
from tests.support import CHAT_URL, ApiClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def atomic_update_item(monkeypatch):
    """Give moto DynamoDB's per-item atomicity: its UpdateItem is a read-modify-write without a lock."""
    lock = threading.Lock()
    update_item = DynamoDBBackend.update_item

    @functools.wraps(update_item)
    def locked(self, *args, **kwargs):
        with lock:
            return update_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", locked)


@pytest.fixture
def frozen_window(monkeypatch):
    """Keep every request in one window, so a minute boundary cannot split a burst."""
    monkeypatch.setattr(CounterRateThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))


def test_parallel_posts_from_one_ip_let_exactly_the_limit_through(bedrock, settings, frozen_window):
    settings.CHAT_IP_RATE_LIMIT = "5/min"
    clients = [ApiClient() for _ in range(20)]  # 20 sessions, one IP: the owner limit cannot help
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda client: client.chat("hello"), clients))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 15
    limited = [r for r in responses if r.status_code == 429]
    assert all(r.json()["error"]["code"] == "rate_limited" for r in limited)
    assert all(int(r.headers["Retry-After"]) == 30 for r in limited)


def test_parallel_posts_of_one_owner_let_exactly_the_limit_through(bedrock, settings, frozen_window):
    settings.CHAT_RATE_LIMIT = "3/min"
    api = ApiClient()
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(lambda n: api.chat(f"message {n}").status_code, range(12)))
    assert statuses == [200] * 3 + [429] * 9
    # The refused nine were read for (cache, history) while their counters were written, but no model saw them.
    assert len(bedrock.calls) == 3 * 2


def test_forwarded_for_header_does_not_escape_the_ip_limit(bedrock, settings, frozen_window):
    settings.CHAT_IP_RATE_LIMIT = "2/min"
    statuses = [_chat_with_headers(n) for n in range(4)]
    assert statuses == [200, 200, 429, 429]


def _chat_with_headers(n: int) -> int:
    api = ApiClient()
    response = api.http.post(
        CHAT_URL,
        {"message": "hi"},
        content_type="application/json",
        headers={"X-CSRFToken": api.csrf_token, "X-Forwarded-For": f"203.0.113.{n}, 198.51.100.{n}"},
    )
    return response.status_code


def test_on_lambda_the_ip_is_api_gateways_source_ip(bedrock, settings, frozen_window):
    settings.CHAT_IP_RATE_LIMIT = "1/min"

    def chat_from(source_ip: str, version: str) -> int:
        api = ApiClient()
        context = {"http": {"sourceIp": source_ip}} if version == "2.0" else {"identity": {"sourceIp": source_ip}}
        event = {"version": version, "requestContext": context}
        response = api.http.post(
            CHAT_URL,
            {"message": "hi"},
            content_type="application/json",
            headers={"X-CSRFToken": api.csrf_token},
            REMOTE_ADDR="127.0.0.1",  # Zappa's guess from X-Forwarded-For: the same for everyone here
            **{"lambda.event": event},
        )
        return response.status_code

    assert chat_from("192.0.2.1", "2.0") == 200
    assert chat_from("192.0.2.2", "1.0") == 200  # another caller, though REMOTE_ADDR is the same
    assert chat_from("192.0.2.1", "1.0") == 429


def test_the_limits_are_written_with_the_cache_lookup_at_once(bedrock, monkeypatch, settings, frozen_window):
    """Both counters and the intent-cache read are in flight together: one round trip, not three."""
    settings.CHAT_RATE_LIMIT = settings.CHAT_IP_RATE_LIMIT = "5/min"
    api = ApiClient()
    barrier = threading.Barrier(3, timeout=5)  # broken, and the request failed, unless all three meet
    make_api_call = botocore.client.BaseClient._make_api_call

    def meeting(client, operation, params):
        if operation in {"UpdateItem", "BatchGetItem"}:
            barrier.wait()
        return make_api_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", meeting)
    assert api.chat("hello").status_code == 200


def test_a_bad_request_counts_and_over_the_limit_is_told_429(bedrock, settings, frozen_window):
    settings.CHAT_RATE_LIMIT = "2/min"
    api = ApiClient()
    assert api.chat("").status_code == 400  # counted, though refused before any read
    assert api.post(CHAT_URL, "not json").status_code == 400
    assert api.chat("hello").status_code == 429
    malformed = api.post(CHAT_URL, "not json")
    assert malformed.status_code == 429
    assert malformed.json()["error"]["code"] == "rate_limited"
    assert bedrock.calls == []


def test_over_the_limit_429_comes_before_a_missing_conversation(bedrock, settings, frozen_window):
    settings.CHAT_RATE_LIMIT = "1/min"
    api = ApiClient()
    assert api.chat("hello").status_code == 200
    response = api.chat("again", conversation_id="00000000-0000-4000-8000-000000000000")
    assert response.status_code == 429  # the history read found nothing, but the limit answers first
    assert len(bedrock.calls) == 2


def test_a_message_refused_after_it_was_counted_is_counted_once(bedrock, settings, frozen_window):
    settings.CHAT_RATE_LIMIT = "2/min"
    api = ApiClient()
    assert api.chat("hello").status_code == 200
    missing = api.chat("again", conversation_id="00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404  # counted by the pipeline, not once more when its error is answered
    assert api.chat("a third").status_code == 429


def test_with_parallel_screening_a_refused_request_reaches_no_model(bedrock, settings, frozen_window):
    settings.SCREENING_MODE = "parallel"
    settings.CHAT_RATE_LIMIT = "1/min"
    api = ApiClient()
    assert api.chat("first question").status_code == 200
    calls = len(bedrock.calls)
    assert api.chat("a second, new question").status_code == 429
    assert len(bedrock.calls) == calls


def test_posts_and_socket_messages_spend_one_allowance(bedrock, socket_connections, settings, frozen_window):
    settings.CHAT_RATE_LIMIT = "2/min"
    settings.CHAT_IP_RATE_LIMIT = "4/min"
    api = ApiClient()
    session_key = api.http.cookies["sessionid"].value
    owner = f"session:{session_key}"

    def socket_chat(connection_id: str, source_ip: str) -> dict:
        ticket = socket_ticket_issue(owner=owner, session_key=session_key)
        frame = {"action": "chat", "ticket": ticket, "message": "hi", "request_id": "r"}
        event = websocket_event("MESSAGE", connection_id=connection_id, body=json.dumps(frame), source_ip=source_ip)
        socket_message(event, SimpleNamespace(aws_request_id=connection_id))
        return socket_connections.frames[connection_id][-1]

    assert api.chat("over HTTP").status_code == 200
    assert socket_chat("first", source_ip="127.0.0.1")["type"] == "done"
    assert api.chat("over HTTP again").status_code == 429  # the owner's second message came over the socket
    refused = socket_chat("second", source_ip="192.0.2.1")
    assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] == 30
    # The IP's fourth message: two POSTs and one socket message came from it before.
    assert ApiClient().chat("a neighbour").status_code == 200
    assert ApiClient().chat("another neighbour").status_code == 429
