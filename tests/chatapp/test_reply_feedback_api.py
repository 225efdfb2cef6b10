"""Feedback on replies: thumbs up or down with a reason and comment, harmful reports queued, counts per day."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client

from chatapp.history.selectors import feedback_daily_counts
from security.models import BlockedPrompt
from tests.support import ApiClient

LIST = "/api/v1/conversations"


def feedback_url(conversation_id: str, message_id: str) -> str:
    return f"{LIST}/{conversation_id}/messages/{message_id}/feedback"


def put(api: ApiClient, conversation_id: str, message_id: str, body) -> object:
    return api.http.put(
        feedback_url(conversation_id, message_id),
        json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": api.csrf_token},
    )


def withdraw(api: ApiClient, conversation_id: str, message_id: str) -> object:
    return api.delete(feedback_url(conversation_id, message_id))


def conversation(api: ApiClient, *texts: str) -> tuple[str, list[dict]]:
    """Chat `texts` in one new conversation; return its id and its messages."""
    conversation_id = None
    for text in texts:
        response = api.chat(text, **({"conversation_id": conversation_id} if conversation_id else {}))
        assert response.status_code == 200, response.content
        conversation_id = response.json()["conversation_id"]
    return conversation_id, api.get(f"{LIST}/{conversation_id}").json()["messages"]


def today_counts() -> dict[str, int]:
    return feedback_daily_counts(days=1)[datetime.now(tz=UTC).date()]


def test_a_thumbs_up_is_stored_on_the_reply_and_shown_when_the_conversation_opens(api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    reply = messages[1]
    response = put(api, conversation_id, reply["id"], {"rating": "up"})
    assert response.status_code == 200
    assert response.json() == {"rating": "up"}
    assert response["Cache-Control"] == "no-store"
    shown = api.get(f"{LIST}/{conversation_id}").json()["messages"]
    assert shown[1]["feedback"] == {"rating": "up"}
    assert "feedback" not in shown[0]
    assert today_counts() == {"up": 1}


def test_feedback_can_be_changed_with_a_reason_and_comment_then_withdrawn(api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    reply_id = messages[1]["id"]
    put(api, conversation_id, reply_id, {"rating": "up", "comment": "nice"})
    body = {"rating": "down", "reason": "wrong", "comment": "The date is off by a year."}
    assert put(api, conversation_id, reply_id, body).json() == body
    assert api.get(f"{LIST}/{conversation_id}").json()["messages"][1]["feedback"] == body
    assert today_counts() == {"down_wrong": 1}  # the replaced rating no longer counts

    response = withdraw(api, conversation_id, reply_id)
    assert response.status_code == 204
    assert "feedback" not in api.get(f"{LIST}/{conversation_id}").json()["messages"][1]
    assert today_counts() == {}
    assert withdraw(api, conversation_id, reply_id).status_code == 204  # nothing there: still done


def test_feedback_on_the_persons_own_message_is_refused(api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    response = put(api, conversation_id, messages[0]["id"], {"rating": "up"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "message_id" in response.json()["error"]["fields"]
    assert withdraw(api, conversation_id, messages[0]["id"]).status_code == 400


def test_feedback_on_another_owners_reply_or_an_unknown_message_is_not_found(api, other_api, bedrock):
    conversation_id, messages = conversation(api, "private")
    reply_id = messages[1]["id"]
    for client, target, message_id in (
        (other_api, conversation_id, reply_id),
        (api, conversation_id, str(uuid.uuid4())),
        (api, str(uuid.uuid4()), reply_id),
    ):
        for response in (put(client, target, message_id, {"rating": "down"}), withdraw(client, target, message_id)):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
    other_conversation, other_messages = conversation(other_api, "theirs")
    assert put(api, other_conversation, other_messages[1]["id"], {"rating": "up"}).status_code == 404
    # A reply of one conversation named under another of the same owner is not found either.
    mine, _ = conversation(api, "second")
    assert put(api, mine, reply_id, {"rating": "up"}).status_code == 404
    assert "feedback" not in api.get(f"{LIST}/{conversation_id}").json()["messages"][1]
    assert today_counts() == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rating": "meh"},
        {"rating": 1},
        {"rating": "up", "reason": "harmful"},
        {"rating": "down", "reason": "boring"},
        {"rating": "down", "comment": "x" * 1001},
        {"rating": "down", "comment": 5},
    ],
)
def test_feedback_outside_the_contract_is_invalid_request(api, bedrock, body):
    conversation_id, messages = conversation(api, "hello")
    response = put(api, conversation_id, messages[1]["id"], body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "feedback" not in api.get(f"{LIST}/{conversation_id}").json()["messages"][1]


def test_a_comment_of_1000_characters_is_kept(api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    body = {"rating": "down", "reason": "other", "comment": "y" * 1000}
    assert put(api, conversation_id, messages[1]["id"], body).status_code == 200


def test_feedback_needs_the_csrf_token(api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    url = feedback_url(conversation_id, messages[1]["id"])
    response = api.http.put(url, json.dumps({"rating": "up"}), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert api.http.delete(url).status_code == 403


def test_a_caller_without_a_session_gets_not_found_and_no_session(db, api, bedrock):
    conversation_id, messages = conversation(api, "hello")
    response = Client().put(
        feedback_url(conversation_id, messages[1]["id"]), json.dumps({"rating": "up"}), content_type="application/json"
    )
    assert response.status_code in (403, 404)  # no CSRF cookie either: refused before anything is looked up
    assert "sessionid" not in response.cookies


def test_a_reply_reported_harmful_joins_the_moderation_queue_with_its_context(api, bedrock):
    conversation_id, messages = conversation(api, "first question", "second question")
    reply = messages[3]
    body = {"rating": "down", "reason": "harmful", "comment": "It told me how to hurt someone."}
    assert put(api, conversation_id, reply["id"], body).status_code == 200

    row = BlockedPrompt.objects.get()
    assert row.kind == BlockedPrompt.Kind.OUTPUT
    assert row.status == BlockedPrompt.Status.PENDING
    assert row.text == reply["content"] == "Echo: second question"
    assert row.context == ["first question", "second question"]  # the turns it answered, oldest first
    assert row.verdict_source == "user_feedback" and row.category == "reported_harmful"
    assert row.reason == "It told me how to hurt someone."
    assert api.csrf_token not in row.owner_hash and len(row.owner_hash) <= 32

    # The same report again (a changed comment) queues nothing new; another rating never queues.
    put(api, conversation_id, reply["id"], {**body, "comment": "Really."})
    put(api, conversation_id, messages[1]["id"], {"rating": "down", "reason": "wrong"})
    assert BlockedPrompt.objects.count() == 1
    assert today_counts() == {"down_harmful": 1, "down_wrong": 1}


def test_a_harmful_report_that_cannot_be_queued_stores_nothing_and_can_be_retried(api, bedrock, monkeypatch):
    from django.db import DatabaseError
    from django.db.models.query import QuerySet

    conversation_id, messages = conversation(api, "hello")
    reply_id = messages[1]["id"]

    def database_down(*args, **kwargs):
        raise DatabaseError("database is down")

    with monkeypatch.context() as patched:
        patched.setattr(QuerySet, "update", database_down)
        response = put(api, conversation_id, reply_id, {"rating": "down", "reason": "harmful"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert "feedback" not in api.get(f"{LIST}/{conversation_id}").json()["messages"][1]
    assert put(api, conversation_id, reply_id, {"rating": "down", "reason": "harmful"}).status_code == 200
    assert BlockedPrompt.objects.count() == 1


def test_the_admin_shows_feedback_counts_per_day(api, bedrock, moderator_client):
    conversation_id, messages = conversation(api, "one", "two", "three")
    put(api, conversation_id, messages[1]["id"], {"rating": "up"})
    put(api, conversation_id, messages[3]["id"], {"rating": "up"})
    put(api, conversation_id, messages[5]["id"], {"rating": "down", "reason": "harmful"})

    page = moderator_client.get("/admin/feedback/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 ratings from" in html
    assert html.count("<rect ") == 2  # today's bar: two up, one harmful, stacked
    assert 'id="feedback-up"><span class="count">2</span>' in html
    assert 'id="feedback-down_harmful"><span class="count">1</span>' in html
    assert "verdict_source__exact=user_feedback" in html
    assert "/admin/feedback/" in moderator_client.get("/admin/").content.decode()


def test_the_feedback_page_is_for_moderators_only(db, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw-123456789", is_staff=True)
    client = Client()
    assert client.get("/admin/feedback/").status_code == 302  # to the login page
    client.force_login(staff)
    assert client.get("/admin/feedback/").status_code == 403


def test_a_changed_rating_leaves_the_day_it_was_given(api, bedrock):
    from datetime import timedelta

    from chatapp.history import repositories as history

    conversation_id, messages = conversation(api, "hello")
    reply_id = messages[1]["id"]
    put(api, conversation_id, reply_id, {"rating": "up"})
    # As if that rating had been given yesterday: its item and its day's count say so.
    today = datetime.now(tz=UTC).date()
    yesterday = today - timedelta(days=1)
    _, reply = history.reply_find(conversation_id, reply_id)
    reply.update(actions=[type(reply).feedback_at.set(f"{yesterday.isoformat()}T12:00:00+00:00")])
    history.feedback_count_add(today, "up", -1)
    history.feedback_count_add(yesterday, "up", 1)

    put(api, conversation_id, reply_id, {"rating": "down", "reason": "unhelpful"})
    counts = feedback_daily_counts(days=2)
    assert counts == {yesterday: {}, today: {"down_unhelpful": 1}}
