"""Answers are never cached, the CSRF cookie is out of scripts' reach, logs name the caller's IP, health is cheap."""

import botocore.client
import pytest
from django.test import Client

from chatapp.throttling import CounterRateThrottle
from core.dynamodb import registered_tables
from tests.support import CHAT_URL, ApiClient, request_log_records

pytestmark = pytest.mark.django_db


def test_every_api_answer_says_no_store_errors_included(api, bedrock, settings, monkeypatch):
    monkeypatch.setattr(CounterRateThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))
    settings.NEW_SESSION_IP_RATE_LIMIT = "1/hour"
    assert Client().get("/api/v1/session").status_code == 200  # the IP's one new session this hour
    answers = {
        "session": api.get("/api/v1/session"),
        "chat": api.chat("hello"),
        "bad chat": api.chat(""),
        "chat by GET": api.get(CHAT_URL),
        "list": api.get("/api/v1/conversations"),
        "not found": api.get("/api/v1/conversations/00000000-0000-4000-8000-000000000000"),
        "unknown URL": api.get("/api/v1/nothing-here"),
        "health": api.get("/api/v1/health"),
        "csrf": Client(enforce_csrf_checks=True).post(CHAT_URL, {"message": "hi"}, content_type="application/json"),
        "rate limited": Client().get("/api/v1/session"),  # a second new session from this IP
    }
    assert answers["rate limited"].status_code == 429
    for name, response in answers.items():
        assert response.get("Cache-Control") == "no-store", name


def test_the_csrf_cookie_is_http_only_and_the_token_comes_from_the_session_api():
    response = Client().get("/api/v1/session")
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] is True
    assert response.json()["csrf_token"]


def test_the_request_log_line_names_api_gateways_source_ip(bedrock, capsys):
    api = ApiClient()
    capsys.readouterr()
    event = {"version": "2.0", "requestContext": {"http": {"sourceIp": "192.0.2.44"}}}
    response = api.http.post(
        CHAT_URL,
        {"message": "hello"},
        content_type="application/json",
        headers={"X-CSRFToken": api.csrf_token, "X-Forwarded-For": "203.0.113.1"},
        REMOTE_ADDR="203.0.113.1",  # Zappa's REMOTE_ADDR comes from X-Forwarded-For
        **{"lambda.event": event},
    )
    assert response.status_code == 200
    line = request_log_records(capsys.readouterr().out)[-1]
    assert line["client_ip"] == "192.0.2.44"


def test_health_describes_the_tables_at_most_once_per_period(monkeypatch):
    described = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def counting(client, operation, params):
        if operation == "DescribeTable":
            described.append(params["TableName"])
        return make_api_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    stranger = Client()
    assert [stranger.get("/api/v1/health").status_code for _ in range(20)] == [200] * 20
    assert len(described) == len(registered_tables())
