"""What many test modules share: the project's root, the chat URL, the models' ids, a page-like client, and the
JSON log lines a request prints (CloudWatch's view)."""

import json
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

PROJECT = Path(__file__).resolve().parents[1]
CHAT_URL = "/api/v1/ai/chat"
# The models' ids in the test settings: what the fake Bedrock is scripted with and records calls under.
SCREEN = settings.BEDROCK_SCREEN_MODEL_ID
CHAT = settings.BEDROCK_CHAT_MODEL_ID


class ApiClient:
    """A cookie client like the page: gets a session and CSRF token, then sends JSON with X-CSRFToken."""

    def __init__(self, *, same_session_as: "ApiClient | None" = None) -> None:
        self.http = Client(enforce_csrf_checks=True)
        if same_session_as is not None:  # another tab: same cookies, its own (thread-confined) client
            self.http.cookies = same_session_as.http.cookies.__class__(same_session_as.http.cookies)
            self.csrf_token = same_session_as.csrf_token
            return
        session = self.http.get("/api/v1/session")
        assert session.status_code == 200
        self.csrf_token = session.json()["csrf_token"]

    def chat(self, message: Any = None, **fields: Any) -> Any:
        body = {"message": message, **fields} if message is not None else fields
        return self.post(CHAT_URL, body)

    def post(self, url: str, body: Any) -> Any:
        return self.http.post(url, body, content_type="application/json", headers={"X-CSRFToken": self.csrf_token})

    def get(self, url: str) -> Any:
        return self.http.get(url)

    def delete(self, url: str) -> Any:
        return self.http.delete(url, headers={"X-CSRFToken": self.csrf_token})


def log_records(output: str | Iterable[str]) -> list[dict[str, Any]]:
    """Return the JSON log lines in `output` (captured text, or its lines), parsed, in the order printed."""
    lines = output.splitlines() if isinstance(output, str) else output
    return [json.loads(line) for line in lines if line.startswith("{")]


def request_log_records(output: str | Iterable[str]) -> list[dict[str, Any]]:
    """Return the `chat_request` log lines in `output`, parsed, in the order printed: one per chat request."""
    return [record for record in log_records(output) if record.get("event") == "chat_request"]


def live_session_key() -> str:
    """Return the key of a new stored session: a streaming ticket works only while the session it names lives."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.create()
    return str(session.session_key)


def socket_chat(connection_id: str, *, owner: str, message: str, **fields: Any) -> dict[str, Any]:
    """Send one chat frame through the socket handler, as a Lambda invocation with a minute left; return its answer.

    The frame carries a fresh ticket for `owner` (bound to a live session) and `fields` (request_id, …).
    """
    from types import SimpleNamespace

    from chatapp.chat.socket import socket_message
    from chatapp.tickets import socket_ticket_issue
    from fakes.connections import websocket_event

    ticket = socket_ticket_issue(owner=owner, session_key=live_session_key())
    frame = {"action": "chat", "ticket": ticket, "message": message, **fields}
    event = websocket_event("MESSAGE", connection_id=connection_id, body=json.dumps(frame))
    context = SimpleNamespace(aws_request_id=f"lambda-{connection_id}", get_remaining_time_in_millis=lambda: 60_000)
    return socket_message(event, context)
