"""What a cross-site page or a cookie-less script can make the service spend: no chat allowance, few sessions."""

import pytest
from django.test import Client

from chatapp.throttling import CounterRateThrottle
from security.repositories import SessionItem
from tests.support import CHAT_URL, ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_window(monkeypatch):
    """Keep every request in one window, so an hour boundary cannot split a burst."""
    monkeypatch.setattr(CounterRateThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))


def stored_sessions() -> int:
    return sum(1 for _ in SessionItem.scan())


def test_get_head_and_options_on_the_chat_url_spend_no_allowance_and_make_no_session(bedrock, settings):
    settings.CHAT_RATE_LIMIT = settings.CHAT_IP_RATE_LIMIT = "1/min"
    settings.NEW_SESSION_IP_RATE_LIMIT = "2/min"
    stranger = Client()  # an <img> or a prefetch from any site: no cookies kept
    for _ in range(5):
        got = stranger.get(CHAT_URL)
        assert got.status_code == 405
        assert got.json()["error"]["code"] == "method_not_allowed"
        assert got["Allow"] == "POST, OPTIONS"
        assert stranger.head(CHAT_URL).status_code == 405
        assert stranger.options(CHAT_URL).status_code == 200
    assert stored_sessions() == 0
    assert ApiClient().chat("hello").status_code == 200  # the same IP's real message still goes through


def test_cookie_less_session_calls_are_capped_per_client_ip(bedrock, settings, frozen_window):
    settings.NEW_SESSION_IP_RATE_LIMIT = "3/hour"
    statuses = [Client().get("/api/v1/session").status_code for _ in range(3)]
    refused = Client().get("/api/v1/session", headers={"X-Forwarded-For": "203.0.113.9"})
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) == 3600 - 30
    assert stored_sessions() == 3


def test_a_caller_with_a_session_keeps_it_past_the_cap(bedrock, settings, frozen_window):
    settings.NEW_SESSION_IP_RATE_LIMIT = "1/hour"
    api = ApiClient()
    assert Client().get("/api/v1/session").status_code == 429  # a newcomer from the same IP
    assert api.get("/api/v1/session").status_code == 200
    assert api.chat("hello").status_code == 200
    assert stored_sessions() == 1


def test_on_lambda_the_session_cap_counts_api_gateways_source_ip(bedrock, settings, frozen_window):
    settings.NEW_SESSION_IP_RATE_LIMIT = "1/hour"

    def session_from(source_ip: str) -> int:
        event = {"version": "2.0", "requestContext": {"http": {"sourceIp": source_ip}}}
        return Client().get("/api/v1/session", REMOTE_ADDR="127.0.0.1", **{"lambda.event": event}).status_code

    assert [session_from("192.0.2.1"), session_from("192.0.2.2"), session_from("192.0.2.1")] == [200, 200, 429]


def test_a_cookie_less_post_past_the_session_cap_is_refused_before_any_model_call(bedrock, settings, frozen_window):
    settings.NEW_SESSION_IP_RATE_LIMIT = "1/hour"
    api = ApiClient()  # its csrftoken is all a script needs; it drops the session cookie
    api.http.cookies.pop("sessionid")
    response = api.chat("hello")
    assert response.status_code == 429
    assert bedrock.calls == []
    assert stored_sessions() == 1


def test_reading_or_deleting_conversations_without_a_session_creates_none(bedrock):
    api = ApiClient()
    api.http.cookies.pop("sessionid")
    api.http.cookies["sessionid"] = "not-a-stored-session-key-at-all"  # a made-up cookie is no session either
    listing = api.get("/api/v1/conversations")
    assert listing.status_code == 200
    assert listing.json()["conversations"] == []
    conversation = "/api/v1/conversations/00000000-0000-4000-8000-000000000000"
    assert api.get(conversation).status_code == 404
    assert api.delete(conversation).status_code == 404
    assert stored_sessions() == 1  # only the one GET /api/v1/session made
