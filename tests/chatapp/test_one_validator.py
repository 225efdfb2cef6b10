"""POST and the WebSocket validate a chat message by the same rules: what one refuses, the other refuses alike."""

import json
from types import SimpleNamespace

import pytest
from django.conf import settings

from chatapp.chat.socket import socket_message
from chatapp.tickets import socket_ticket_issue
from fakes.connections import websocket_event
from tests.support import live_session_key

LIMIT = settings.MAX_MESSAGE_CHARS

CASES = [
    pytest.param({"message": "\ufdfa" * 4000}, id="over-the-limit-once-normalised"),
    pytest.param({"message": "x" * (LIMIT + 1)}, id="over-the-limit"),
    pytest.param({"message": "\u200b" * 10 + "x" * LIMIT}, id="at-the-limit-once-cleaned"),
    pytest.param({"message": ""}, id="blank"),
    pytest.param({"message": 42}, id="number"),
    pytest.param({"message": "hi", "conversation_id": "not-a-uuid"}, id="bad-conversation-id"),
    pytest.param({"message": "hi", "conversation_id": 12}, id="conversation-id-number"),
    pytest.param({"message": "hi", "request_id": "r" * 129}, id="request-id-too-long"),
    pytest.param({"message": "hi", "request_id": ["r"]}, id="request-id-list"),
]


def socket_answer(socket_connections, fields: dict) -> dict:
    """Send a chat frame with `fields` to the socket handler; return its first frame back."""
    owner = "session:one-validator"
    ticket = socket_ticket_issue(owner=owner, session_key=live_session_key())
    frame = {"action": "chat", "ticket": ticket, "request_id": "r-1", **fields}
    event = websocket_event("MESSAGE", connection_id="validator", body=json.dumps(frame))
    socket_message(event, SimpleNamespace(aws_request_id="lambda-validator"))
    return socket_connections.frames["validator"][0]


@pytest.mark.parametrize("fields", CASES)
def test_post_and_socket_refuse_the_same_messages_with_the_same_fields(api, socket_connections, bedrock, fields):
    posted = api.chat(**{"request_id": "r-1", **fields})
    framed = socket_answer(socket_connections, fields)
    if posted.status_code == 200:
        assert framed["type"] == "accepted"
        return
    assert posted.status_code == 400 and framed["type"] == "error"
    assert framed["error"] == posted.json()["error"]
    assert bedrock.calls == []


def test_a_message_over_the_limit_once_normalised_is_refused_over_the_socket_before_any_model_call(
    socket_connections, bedrock, db
):
    from chatapp.selectors import conversation_list

    framed = socket_answer(socket_connections, {"message": "\ufdfa" * 4000})
    assert framed["type"] == "error" and framed["error"]["code"] == "invalid_request"
    assert "message" in framed["error"]["fields"]
    assert bedrock.calls == []
    assert conversation_list(owner="session:one-validator", limit=10).conversations == []
