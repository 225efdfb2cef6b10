"""A fake API Gateway Management API (@connections) over real HTTP, for the socket handler's boto3 client.

Point AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI at `server.url`. Every frame posted to a connection is kept,
in order. A connection can be closed (410 GoneException from then on, as AWS answers) after a number of
frames, or the API can fail (500) from a given frame on.
"""

import json
import threading
from collections import defaultdict
from typing import Any

from core import apigateway
from fakes.loopback import LoopbackServer

SOURCE_IP = "198.51.100.9"


class FakeConnections(LoopbackServer):
    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.posts = 0  # every POST, delivered or not
        self._close_after: dict[str, int] = {}
        self._close_at: dict[str, str] = {}
        self._fail_from: int | None = None
        self._lock = threading.Lock()
        super().__init__(apigateway.management_api_handler(self))

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

    def post(self, connection_id: str, data: bytes) -> int:
        with self._lock:
            self.posts += 1
            if self._fail_from is not None and self.posts >= self._fail_from:
                return 500
            frame, frames = json.loads(data), self.frames[connection_id]
            limit = self._close_after.get(connection_id)
            if frame.get("type") == self._close_at.get(connection_id):
                self._close_after[connection_id] = limit = len(frames)
            if limit is not None and len(frames) >= limit:
                return 410
            frames.append(frame)
            return 200

    def info(self, connection_id: str) -> dict[str, Any] | None:
        return {"identity": {"sourceIp": SOURCE_IP}}

    def disconnect(self, connection_id: str) -> bool:
        self.close_after(connection_id, 0)
        return True


def websocket_event(
    event_type: str, *, connection_id: str, body: str | None = None, source_ip: str = SOURCE_IP, stage: str = "dev"
) -> dict[str, Any]:
    """Return the event API Gateway's WebSocket API sends the function, for the fake API `wsapi123`."""
    return apigateway.websocket_event(
        event_type,
        connection_id=connection_id,
        body=body,
        source_ip=source_ip,
        stage=stage,
        api_id="wsapi123",
        domain_name="wsapi123.execute-api.us-east-1.amazonaws.com",
        user_agent="test",
    )
