"""What a caller sees of the ceilings: GET /api/v1/usage, the 429 or socket error frame once over one, a person's
own ceiling set by staff, the admin's Usage page, the spend metric; and a ledger that fails: 503, no model call."""

import json
import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.test import Client

from billing.repositories import LedgerItem
from chatapp.chat.socket import socket_message
from chatapp.tickets import socket_ticket_issue
from fakes.connections import websocket_event
from tests.support import ApiClient, live_session_key, request_log_records

pytestmark = pytest.mark.django_db(transaction=True)


def midnight() -> datetime:
    return datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def person(email: str = "ada@example.com") -> tuple[User, ApiClient]:
    """A signed-in person's page client (signing in rotates the CSRF token, so it asks again)."""
    user = User.objects.create_user(email, email=email, password="a-long-password-1")
    api = ApiClient()
    api.http.force_login(user)
    api.csrf_token = api.http.get("/api/v1/session").json()["csrf_token"]
    return user, api


def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "a-long-password-2"))
    return client


def set_own_ceiling(staff: Client, user: User, daily_usd: str) -> None:
    response = staff.post("/admin/billing/personceiling/add/", {"user": user.pk, "daily_usd": daily_usd})
    assert response.status_code == 302, response.content


def test_usage_shows_what_an_anonymous_caller_spent_and_may_still_spend(bedrock, settings):
    api = ApiClient()
    before = api.get("/api/v1/usage")
    assert before.headers["Cache-Control"] == "no-store"
    assert before.json() == {
        "period": datetime.now(tz=UTC).date().isoformat(),
        "spent_usd": 0.0,
        "limit_usd": 1.0,
        "remaining_usd": 1.0,
        "resets_at": midnight().isoformat().replace("+00:00", "Z"),
    }
    api.chat("Hello")
    after = api.get("/api/v1/usage").json()
    assert 0 < after["spent_usd"] < 0.01 and after["remaining_usd"] == pytest.approx(1.0 - after["spent_usd"])


def test_usage_has_no_limit_when_the_ceiling_is_off(settings):
    settings.BUDGET_ANONYMOUS_DAILY_USD = ""
    body = Client().get("/api/v1/usage").json()
    assert body["limit_usd"] is None and body["remaining_usd"] is None and body["spent_usd"] == 0.0


def test_over_the_ceiling_a_post_is_429_budget_exhausted_and_no_model_is_called(bedrock, settings):
    settings.BUDGET_ANONYMOUS_DAILY_USD = "0.001"  # below any message's worst case
    response = ApiClient().chat("Hello")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "budget_exhausted" and error["scope"] == "owner" and error["message"]
    assert datetime.fromisoformat(error["resets_at"]) == midnight()
    seconds = (midnight() - datetime.now(tz=UTC)).total_seconds()
    assert abs(int(response.headers["Retry-After"]) - math.ceil(seconds)) <= 2
    assert bedrock.calls == []


def test_over_the_ceiling_the_socket_answers_an_error_frame_with_the_same_fields(
    bedrock, settings, socket_connections
):
    settings.BUDGET_SERVICE_DAILY_USD = "0.001"
    frame = {
        "action": "chat",
        "ticket": socket_ticket_issue(owner="session:s", session_key=live_session_key()),
        "message": "Hi",
        "request_id": "r",
    }
    event = websocket_event("MESSAGE", connection_id="c", body=json.dumps(frame))
    socket_message(event, SimpleNamespace(aws_request_id="l", get_remaining_time_in_millis=lambda: 60_000))
    (error_frame,) = socket_connections.frames["c"]
    error = error_frame["error"]
    assert error_frame["type"] == "error" and error_frame["request_id"] == "r"
    assert error["code"] == "budget_exhausted" and error["scope"] == "service"
    assert datetime.fromisoformat(error["resets_at"]) == midnight() and error["retry_after"] > 0
    assert bedrock.calls == []


def test_staff_pause_a_person_with_a_ceiling_of_zero_and_raise_it_again(bedrock, settings):
    user, api = person()
    staff = staff_client()
    set_own_ceiling(staff, user, "0")
    refused = api.chat("Hello")
    assert refused.status_code == 429 and refused.json()["error"]["scope"] == "owner"
    assert api.get("/api/v1/usage").json()["limit_usd"] == 0.0
    ceiling = user.spending_ceiling
    response = staff.post(f"/admin/billing/personceiling/{ceiling.pk}/change/", {"user": user.pk, "daily_usd": "50"})
    assert response.status_code == 302
    assert api.chat("Hello").status_code == 200
    assert api.get("/api/v1/usage").json()["limit_usd"] == 50.0


def test_a_persons_own_ceiling_can_exceed_the_default(bedrock, settings):
    settings.BUDGET_USER_DAILY_USD = "0.001"  # the default refuses everything
    user, api = person()
    assert api.chat("Hello").status_code == 429
    set_own_ceiling(staff_client(), user, "5")
    assert api.chat("Hello").status_code == 200


def test_removing_a_persons_own_ceiling_brings_back_the_default(bedrock):
    user, api = person()
    staff = staff_client()
    set_own_ceiling(staff, user, "0")
    response = staff.post(f"/admin/billing/personceiling/{user.spending_ceiling.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api.chat("Hello").status_code == 200
    assert api.get("/api/v1/usage").json()["limit_usd"] == 5.0


def test_a_message_reads_no_orm_table_for_the_ceiling(bedrock, django_assert_max_num_queries):
    _user, api = person()
    api.chat("warm-up")  # the session's user is loaded from the ORM on every request, as before
    with django_assert_max_num_queries(1):  # ... and that is all: the ceiling is read from DynamoDB
        assert api.chat("Hello").status_code == 200


def test_the_usage_page_shows_the_service_spend_and_top_spenders(bedrock):
    _user, api = person("grace@example.com")
    api.chat("Hello")
    ApiClient().chat("Hello from nobody in particular")
    page = staff_client().get("/admin/usage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "grace@example.com" in html and "anonymous session" in html
    assert "<svg" in html and "Service spend per day" in html
    assert Client().get("/admin/usage/").status_code == 302  # not staff: to the login page


def test_the_spend_of_each_message_is_an_embedded_metric(bedrock, settings, capsys):
    settings.EMBEDDED_METRICS = True
    capsys.readouterr()
    ApiClient().chat("Hello")
    (line,) = request_log_records(capsys.readouterr().out)
    names = {metric["Name"] for directive in line["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}
    assert "SpendUSD" in names and line["SpendUSD"] == line["spend_usd"] > 0


@pytest.mark.parametrize("transport", ["post", "socket"])
def test_a_missing_ledger_is_503_storage_unavailable_and_no_model_is_called(bedrock, transport, socket_connections):
    api = ApiClient()
    LedgerItem.delete_table()
    if transport == "post":
        response = api.chat("Hello")
        assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"
        assert response.headers["Retry-After"]
    else:
        ticket = socket_ticket_issue(owner="session:s", session_key=live_session_key())
        frame = {"action": "chat", "ticket": ticket, "message": "Hi", "request_id": "r"}
        event = websocket_event("MESSAGE", connection_id="c", body=json.dumps(frame))
        socket_message(event, SimpleNamespace(aws_request_id="l", get_remaining_time_in_millis=lambda: 60_000))
        (frame,) = socket_connections.frames["c"]
        assert frame["error"]["code"] == "storage_unavailable" and frame["error"]["retry_after"] > 0
    assert bedrock.calls == []
    assert api.get("/api/v1/usage").status_code == 503


def test_the_schema_documents_the_usage_operation(db):
    schema = Client().get("/api/v1/schema").json()
    usage = schema["paths"]["/api/v1/usage"]["get"]
    assert set(usage["responses"]) == {"200", "503"}
    assert "budget_exhausted" in schema["paths"]["/api/v1/ai/chat"]["post"]["responses"]["429"]["description"]
