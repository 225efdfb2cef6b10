"""A fake API Gateway Management API (@connections) over real HTTP, for the socket handler's boto3 client.

Point AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI at `server.url`. Every frame posted to a connection is kept,
in order. A connection can be closed (410 GoneException from then on, as AWS answers) after a number of
frames, or the API can fail (500) from a given frame on.
"""

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from fakes.loopback import LoopbackServer


class FakeConnections(LoopbackServer):
    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.posts = 0  # every POST, delivered or not
        self._close_after: dict[str, int] = {}
        self._close_at: dict[str, str] = {}
        self._fail_from: int | None = None
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def reset(self) -> None:
        with self._lock:
            self.frames.clear()
            self._close_after.clear()
            self._close_at.clear()
            self._fail_from = None
            self.posts = 0

    def close_after(self, connection_id: str, frames: int) -> None:
        """The client closes its socket once it has received `frames` frames: later posts answer 410."""
        self._close_after[connection_id] = frames

    def close_at(self, connection_id: str, frame_type: str) -> None:
        """The client closes its socket just before the first frame of `frame_type` reaches it."""
        self._close_at[connection_id] = frame_type

    def fail_from(self, post: int) -> None:
        """Every POST from the `post`-th on (1-based, across connections) answers 500."""
        self._fail_from = post

    def _post(self, connection_id: str, data: bytes) -> tuple[int, str | None]:
        with self._lock:
            self.posts += 1
            if self._fail_from is not None and self.posts >= self._fail_from:
                return 500, "InternalServerErrorException"
            frame, frames = json.loads(data), self.frames[connection_id]
            limit = self._close_after.get(connection_id)
            if frame.get("type") == self._close_at.get(connection_id):
                self._close_after[connection_id] = limit = len(frames)
            if limit is not None and len(frames) >= limit:
                return 410, "GoneException"
            frames.append(frame)
            return 200, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                connection_id = unquote(self.path.split("/@connections/", 1)[-1])
                status, error_type = fake._post(connection_id, data)
                body = json.dumps({"message": error_type}).encode() if error_type else b""
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


def websocket_event(
    event_type: str,
    *,
    connection_id: str,
    body: str | None = None,
    source_ip: str = "198.51.100.9",
    stage: str = "dev",
) -> dict[str, Any]:
    """Return the event API Gateway's WebSocket API sends the function for CONNECT, MESSAGE or DISCONNECT."""
    route = {"CONNECT": "$connect", "MESSAGE": "$default", "DISCONNECT": "$disconnect"}[event_type]
    context = {
        "routeKey": route,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": 1795000000000,
        "requestTimeEpoch": 1795000000100,
        "identity": {"sourceIp": source_ip, "userAgent": "test"},
        "requestId": f"req-{connection_id}",
        "domainName": "wsapi123.execute-api.us-east-1.amazonaws.com",
        "connectionId": connection_id,
        "apiId": "wsapi123",
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "MESSAGE":
        context["messageId"] = f"msg-{connection_id}"
        event["body"] = body
    return event
