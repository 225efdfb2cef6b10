"""Bad input and CSRF: the contract's error envelope, and nothing stored."""

import json
import uuid

import pytest
from django.test import Client

from tests.support import CHAT_URL


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def assert_nothing_stored(api, bedrock):
    assert api.get("/api/v1/conversations").json() == {"conversations": [], "next": None}
    assert bedrock.calls == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "   \n\t"}, "message"),
        ({"message": None}, "message"),
        ({"message": 42}, "message"),
        ({"message": ["hi"]}, "message"),
        ({"message": {"text": "hi"}}, "message"),
        ({"message": "hi", "conversation_id": "not-a-uuid"}, "conversation_id"),
        ({"message": "hi", "conversation_id": 12345}, "conversation_id"),
        ({"message": "hi", "request_id": "r" * 129}, "request_id"),
        ({"message": "hi", "request_id": 7}, "request_id"),
    ],
)
def test_invalid_fields_are_400_with_field_errors(api, bedrock, body, field):
    error = assert_error(api.post(CHAT_URL, body), 400, "invalid_request")
    assert field in error["fields"]
    assert_nothing_stored(api, bedrock)


def test_message_over_the_limit_is_400(api, bedrock, settings):
    settings.MAX_MESSAGE_CHARS = 50
    error = assert_error(api.chat("x" * 51), 400, "invalid_request")
    assert "50" in error["fields"]["message"][0]
    assert api.chat("x" * 50).status_code == 200


def test_the_limit_counts_the_text_the_models_would_read(api, bedrock, settings):
    settings.MAX_MESSAGE_CHARS = 50
    expanding = "\ufdfa" * 3  # three characters that NFKC makes 54
    error = assert_error(api.chat(expanding), 400, "invalid_request")
    assert "50" in error["fields"]["message"][0]
    assert_nothing_stored(api, bedrock)
    invisible = "\u200b" * 40 + "x" * 50  # zero-width spaces are removed before the models see anything
    assert api.chat(invisible).status_code == 200


def test_json_that_is_not_an_object_is_400(api, bedrock):
    error = assert_error(api.post(CHAT_URL, ["hello"]), 400, "invalid_request")
    assert "fields" in error
    assert_nothing_stored(api, bedrock)


def test_invalid_json_is_400(api, bedrock):
    response = api.http.post(
        CHAT_URL, '{"message": "hi"', content_type="application/json", headers={"X-CSRFToken": api.csrf_token}
    )
    assert_error(response, 400, "invalid_request")
    assert_nothing_stored(api, bedrock)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_body_that_is_not_json_is_415(api, bedrock, content_type):
    response = api.http.post(
        CHAT_URL, "message=hi", content_type=content_type, headers={"X-CSRFToken": api.csrf_token}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(api, bedrock)


def test_oversized_body_is_413_before_parsing(api, bedrock, settings):
    settings.MAX_REQUEST_BYTES = 1000
    body = json.dumps({"message": "x" * 2000})
    response = api.http.post(CHAT_URL, body, content_type="application/json", headers={"X-CSRFToken": api.csrf_token})
    assert_error(response, 413, "payload_too_large")
    garbage = api.http.post(
        CHAT_URL, "{" * 5000, content_type="application/json", headers={"X-CSRFToken": api.csrf_token}
    )
    assert_error(garbage, 413, "payload_too_large")
    assert_nothing_stored(api, bedrock)


def test_chat_without_csrf_token_is_403_even_for_anonymous_sessions(api, bedrock):
    response = api.http.post(CHAT_URL, {"message": "hi"}, content_type="application/json")
    assert_error(response, 403, "csrf_failed")
    wrong = api.http.post(
        CHAT_URL, {"message": "hi"}, content_type="application/json", headers={"X-CSRFToken": "x" * 32}
    )
    assert_error(wrong, 403, "csrf_failed")
    assert_nothing_stored(api, bedrock)


def test_client_without_cookies_cannot_post(bedrock, db):
    response = Client(enforce_csrf_checks=True).post(CHAT_URL, {"message": "hi"}, content_type="application/json")
    assert_error(response, 403, "csrf_failed")


def test_delete_without_csrf_token_is_403(api, bedrock):
    conversation_id = api.chat("hello").json()["conversation_id"]
    response = api.http.delete(f"/api/v1/conversations/{conversation_id}")
    assert_error(response, 403, "csrf_failed")
    assert api.get(f"/api/v1/conversations/{conversation_id}").status_code == 200


def test_session_endpoint_sets_session_and_csrf_cookies(db):
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/v1/session")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"csrf_token", "offline", "websocket", "user"}
    assert body["user"] is None  # nobody signed in
    assert body["offline"] is False
    assert body["websocket"] is None  # WEBSOCKET_URL is empty: streaming is off
    assert response.cookies["sessionid"].value
    assert response.cookies["csrftoken"].value
    assert response.cookies["sessionid"]["httponly"]
    # the same session keeps its identity on the next call
    again = client.get("/api/v1/session")
    assert "sessionid" not in again.cookies or again.cookies["sessionid"].value == response.cookies["sessionid"].value


def test_malformed_conversation_id_in_path_is_404(api):
    assert_error(api.get("/api/v1/conversations/nope"), 404, "not_found")


def test_unknown_api_path_is_404_in_the_envelope(api):
    assert_error(api.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_in_the_envelope(api):
    assert_error(api.get(CHAT_URL), 405, "method_not_allowed")


def test_request_id_may_be_any_string_up_to_128_chars(api, bedrock):
    request_id = "é/ ?" + "r" * 124
    first = api.chat("hi", request_id=request_id).json()
    assert api.chat("hi", request_id=request_id).json() == first
    assert len(bedrock.calls) == 2  # one screening call, one chat call


def test_null_conversation_id_starts_a_new_conversation(api, bedrock):
    first = api.chat("a", conversation_id=None).json()["conversation_id"]
    second = api.chat("b", conversation_id=None).json()["conversation_id"]
    assert first != second
    uuid.UUID(first)


def test_multipart_body_without_boundary_is_415_not_a_server_error(api, bedrock):
    response = api.http.post(
        CHAT_URL, '{"message": "hi"}', content_type="multipart/form-data", headers={"X-CSRFToken": api.csrf_token}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(api, bedrock)
