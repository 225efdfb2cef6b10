"""API Gateway's WebSocket side, as this project stands it in locally: the events it sends the function, and its
Management API (@connections). One source for the local gateway (manage.py websocket_gateway) and the tests'
fake Management API (fakes/connections.py), so the two cannot drift from each other or from AWS."""

import json
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import unquote

ROUTES = {"CONNECT": "$connect", "MESSAGE": "$default", "DISCONNECT": "$disconnect"}


def websocket_event(
    event_type: str,
    *,
    connection_id: str,
    source_ip: str,
    domain_name: str,
    stage: str,
    api_id: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    user_agent: str = "",
    connected_at: float | None = None,
) -> dict[str, Any]:
    """Return the event API Gateway's WebSocket API sends the function for CONNECT, MESSAGE or DISCONNECT."""
    now = time.time()
    context = {
        "routeKey": ROUTES[event_type],
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex,
        "requestTime": datetime.fromtimestamp(now, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": int((connected_at or now) * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": uuid.uuid4().hex,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex
        event["body"] = body
    if event_type == "CONNECT":
        event["headers"] = dict(headers or {})
    return event


class Connections(Protocol):
    """What the Management API reaches: the open connections, by id."""

    def post(self, connection_id: str, data: bytes) -> int:
        """Deliver a frame; return 200, 410 when the connection is gone, or another failure status."""

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """Return the connection's description, or None when it is gone."""

    def disconnect(self, connection_id: str) -> bool:
        """Close the connection; False when it is gone."""


ERROR_TYPES = {410: "GoneException", 500: "InternalServerErrorException"}


def management_api_handler(connections: Connections) -> type[BaseHTTPRequestHandler]:
    """Return an http.server handler answering `POST/GET/DELETE /@connections/{id}` as API Gateway does."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(connections.post(self._connection_id(), data))

        def do_GET(self) -> None:  # noqa: N802
            info = connections.info(self._connection_id())
            self._answer(200, json.dumps(info).encode()) if info is not None else self._answer(410)

        def do_DELETE(self) -> None:  # noqa: N802
            self._answer(204 if connections.disconnect(self._connection_id()) else 410)

        def _connection_id(self) -> str:
            return unquote(self.path.split("/@connections/", 1)[-1].split("?")[0])

        def _answer(self, status: int, body: bytes = b"") -> None:
            error_type = ERROR_TYPES.get(status) if status >= 400 else None
            if error_type:
                body = json.dumps({"message": error_type}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
