"""Listing, reading and deleting conversations; owner isolation."""

import uuid

from tests.support import ApiClient


def start(api: ApiClient, text: str) -> str:
    response = api.chat(text)
    assert response.status_code == 200
    return response.json()["conversation_id"]


def test_list_shows_own_conversations_most_recent_first(api, bedrock):
    first = start(api, "first topic")
    second = start(api, "second topic")
    listed = api.get("/api/v1/conversations").json()["conversations"]
    assert [c["id"] for c in listed] == [second, first]
    assert [c["title"] for c in listed] == ["second topic", "first topic"]
    for conversation in listed:
        assert conversation["created_at"].endswith("+00:00") and conversation["updated_at"].endswith("+00:00")
    # continuing the older one moves it to the top
    api.chat("more", conversation_id=first)
    assert [c["id"] for c in api.get("/api/v1/conversations").json()["conversations"]] == [first, second]


def test_conversation_detail_lists_messages_oldest_first(api, bedrock):
    conversation_id = start(api, "one")
    api.chat("two", conversation_id=conversation_id)
    body = api.get(f"/api/v1/conversations/{conversation_id}").json()
    assert body["id"] == conversation_id
    assert body["title"] == "one"
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "one"),
        ("assistant", "Echo: one"),
        ("user", "two"),
        ("assistant", "Echo: two"),
    ]
    for message in body["messages"]:
        uuid.UUID(message["id"])
        assert message["created_at"].endswith("+00:00")


def test_another_owners_conversation_is_not_found(api, other_api, bedrock):
    conversation_id = start(api, "private")
    for response in (
        other_api.get(f"/api/v1/conversations/{conversation_id}"),
        other_api.delete(f"/api/v1/conversations/{conversation_id}"),
        other_api.chat("sneaky", conversation_id=conversation_id),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert other_api.get("/api/v1/conversations").json() == {"conversations": [], "next": None}
    assert len(api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]) == 2


def test_unknown_conversation_is_not_found_and_costs_no_model_call(api, bedrock):
    missing = str(uuid.uuid4())
    assert api.get(f"/api/v1/conversations/{missing}").status_code == 404
    response = api.chat("hello", conversation_id=missing)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert bedrock.calls == []


def test_delete_removes_the_conversation_and_its_messages(api, bedrock):
    keep = start(api, "keep me")
    drop = start(api, "drop me")
    response = api.delete(f"/api/v1/conversations/{drop}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/v1/conversations/{drop}").status_code == 404
    assert [c["id"] for c in api.get("/api/v1/conversations").json()["conversations"]] == [keep]
    assert api.delete(f"/api/v1/conversations/{drop}").status_code == 404


def test_a_new_session_sees_no_conversations(api, bedrock):
    start(api, "hello")
    assert ApiClient().get("/api/v1/conversations").json() == {"conversations": [], "next": None}


def test_logged_in_user_owns_conversations_across_sessions(api, bedrock, django_user_model):
    user = django_user_model.objects.create_user("ada", password="pw-for-tests-123")
    api.http.force_login(user)
    conversation_id = start(api, "mine across devices")
    elsewhere = ApiClient()
    elsewhere.http.force_login(user)
    assert [c["id"] for c in elsewhere.get("/api/v1/conversations").json()["conversations"]] == [conversation_id]


def test_after_delete_replaying_a_request_id_never_returns_the_deleted_reply(api, bedrock):
    first = api.chat("a secret plan", request_id="r-1").json()
    conversation_id = first["conversation_id"]
    second = api.chat("more of it", conversation_id=conversation_id, request_id="r-2").json()
    assert api.delete(f"/api/v1/conversations/{conversation_id}").status_code == 204

    continued = api.chat("more of it", conversation_id=conversation_id, request_id="r-2")
    assert continued.status_code == 404
    assert second["message"]["id"] not in continued.content.decode()

    again = api.chat("a secret plan", request_id="r-1")
    assert again.status_code == 200
    fresh = again.json()
    assert fresh["conversation_id"] != conversation_id
    assert fresh["message"]["id"] != first["message"]["id"]
    assert api.get(f"/api/v1/conversations/{conversation_id}").status_code == 404
    # the fresh answer is the request's answer from now on
    assert api.chat("a secret plan", request_id="r-1").json() == fresh
