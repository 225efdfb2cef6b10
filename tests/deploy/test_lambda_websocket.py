"""The WebSocket API's events through Zappa's real LambdaHandler (websocket_handler_module from zappa_settings.json),
with the frames going to a Management API on a local endpoint."""

import json
import uuid
from typing import Any

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from fakes.connections import FakeConnections, websocket_event
from tests.deploy.support import CHAT_MODEL, LambdaClient, LambdaProcess
from tests.support import request_log_records


def socket_chat(
    process: LambdaProcess, management_api: FakeConnections, connection_id: str, message: str, **fields: Any
) -> list[dict[str, Any]]:
    """Connect, send one chat frame and disconnect, as API Gateway invokes the function; return the frames sent."""
    ticket = LambdaClient(process).get("/api/v1/session").json()["websocket"]["ticket"]
    assert process.invoke(websocket_event("CONNECT", connection_id=connection_id))[0] == {"statusCode": 200}
    frame = {"action": "chat", "ticket": ticket, "message": message, "request_id": str(uuid.uuid4()), **fields}
    body = json.dumps(frame)
    answer, process.last_logs = process.invoke(websocket_event("MESSAGE", connection_id=connection_id, body=body))
    assert answer == {"statusCode": 200}
    assert process.invoke(websocket_event("DISCONNECT", connection_id=connection_id))[0] == {"statusCode": 200}
    return management_api.frames[connection_id]


def test_session_offers_the_stages_websocket_with_a_ticket(source_lambda):
    websocket = LambdaClient(source_lambda).get("/api/v1/session").json()["websocket"]
    assert websocket["url"] == "wss://wsapi123.execute-api.us-east-1.amazonaws.com/dev" and websocket["ticket"]


def test_message_event_streams_frames_through_the_management_api(source_lambda, bedrock, management_api):
    reply = "A reply in several frames, sent long after the event arrived."
    bedrock.then(CHAT_MODEL, stream_answer(reply, tokens_per_second=100))
    frames = socket_chat(source_lambda, management_api, "conn-stream", "Hello over the socket")
    assert frames[0]["type"] == "accepted" and frames[0]["screening"]["verdict"] == "safe"
    assert {f["type"] for f in frames[1:-1]} == {"delta"}
    done = frames[-1]
    assert done["type"] == "done" and done["message"]["content"] == reply == "".join(f["text"] for f in frames[1:-1])
    assert done["message"]["stop_reason"] == "end_turn"
    (line,) = request_log_records(source_lambda.last_logs)
    assert line["transport"] == "websocket" and line["frames_sent"] == len(frames)
    assert line["stop_reason"] == "end_turn" and "first_text" in line["timings_ms"]
    assert "TimeToFirstText" in line  # the stage emits EMF metrics on Lambda


def test_blocked_message_event_is_an_error_frame(source_lambda, bedrock, management_api):
    frames = socket_chat(source_lambda, management_api, "conn-blocked", f"{MALICIOUS_MARKER}, socket")
    assert [frame["type"] for frame in frames] == ["error"]
    assert frames[0]["error"]["code"] == "prompt_blocked"
    assert bedrock.calls_to(CHAT_MODEL) == []


def test_unreadable_message_event_is_invalid_request(source_lambda, management_api):
    source_lambda.invoke(websocket_event("MESSAGE", connection_id="conn-garbage", body="{not json"))
    (frame,) = management_api.frames["conn-garbage"]
    assert frame["type"] == "error" and frame["request_id"] is None
    assert frame["error"]["code"] == "invalid_request"


def test_a_frame_nested_too_deep_is_invalid_request_not_a_failed_invocation(source_lambda, management_api):
    body = "[" * 16000 + "]" * 16000  # 32,000 bytes: under API Gateway's 32 KB frame limit
    answer, logs = source_lambda.invoke(websocket_event("MESSAGE", connection_id="conn-deep", body=body))
    assert answer == {"statusCode": 200}
    (frame,) = management_api.frames["conn-deep"]
    assert frame["type"] == "error" and frame["error"]["code"] == "invalid_request"
    (line,) = request_log_records(logs)
    assert line["status"] == 400 and line["client_ip"] == "198.51.100.9"


def test_connect_admits_the_sites_own_pages_and_refuses_another_site_on_api_gateway(source_lambda):
    """The stage serves https://chat.example.com (CUSTOM_DOMAIN); ALLOWED_HOSTS also holds the execute-api wildcard."""
    answers = {}
    for origin in ("https://chat.example.com", "https://evil.execute-api.us-east-1.amazonaws.com", None):
        event = websocket_event("CONNECT", connection_id=f"conn-origin-{len(answers)}")
        event["headers"] = {"Origin": origin} if origin else {}
        answers[origin] = source_lambda.invoke(event)[0]["statusCode"]
    assert answers == {
        "https://chat.example.com": 200,
        "https://evil.execute-api.us-east-1.amazonaws.com": 403,
        None: 200,  # no browser: the ticket decides
    }
