"""Frames the socket handler cannot read, and what its log line says about the caller."""

import json
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatapp.chat.socket import socket_message
from chatapp.parsers import MAX_JSON_DEPTH
from fakes.connections import websocket_event
from tests.support import request_log_records

DEEPLY_NESTED = "[" * 16000 + "]" * 16000  # 32,000 bytes: under the 32 KB frame limit


def deliver(connection_id: str, body: str, *, source_ip: str = "198.51.100.9") -> None:
    event = websocket_event("MESSAGE", connection_id=connection_id, body=body, source_ip=source_ip)
    context = SimpleNamespace(aws_request_id=f"lambda-{connection_id}", get_remaining_time_in_millis=lambda: 60_000)
    assert socket_message(event, context) == {"statusCode": 200}


def nested_message(depth: int) -> str:
    return (
        json.dumps({"action": "chat", "message": "hi", "request_id": "r-deep"})[:-1]
        + ', "x": '
        + ("[" * depth + "]" * depth)
        + "}"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DEEPLY_NESTED, id="brackets-32000-bytes"),
        pytest.param('{"a":' * 5000 + "1" + "}" * 5000, id="objects-5000-deep"),
        pytest.param(nested_message(MAX_JSON_DEPTH + 1), id="chat-frame-one-level-too-deep"),
    ],
)
def test_a_frame_nested_too_deep_gets_an_invalid_request_frame(socket_connections, db, body, capsys):
    assert len(body.encode()) <= 32 * 1024
    deliver("deep", body)
    (frame,) = socket_connections.frames["deep"]
    assert frame["type"] == "error" and frame["error"]["code"] == "invalid_request"
    assert "deeper" in frame["error"]["message"]
    (line,) = request_log_records(capsys.readouterr().out)
    assert line["status"] == 400 and line["error"] == "invalid_request"


def test_the_socket_log_line_names_the_client_ip(socket_connections, db, capsys):
    capsys.readouterr()
    deliver("from-ip", "{not json", source_ip="203.0.113.77")
    (line,) = request_log_records(capsys.readouterr().out)
    assert line["transport"] == "websocket" and line["client_ip"] == "203.0.113.77"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=40,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.text(max_size=300)
    | json_values.map(json.dumps)
    | st.integers(1, 20_000).map(lambda depth: "[" * depth + "]" * depth)
)
def test_any_frame_under_the_limit_gets_exactly_one_frame_back(socket_connections, db, body):
    connection_id = f"fuzz-{len(socket_connections.frames)}"
    deliver(connection_id, body)
    (frame,) = socket_connections.frames[connection_id]
    assert frame["type"] == "error" and frame["error"]["code"] in ("invalid_request", "ticket_invalid")
