"""A fake Amazon Bedrock runtime (Converse API) over real HTTP, for botocore and langchain-aws to talk to.

Point `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` at `server.url`. By default the screening model calls a message
malicious when it contains "ignore previous instructions" (and safe otherwise), and the chat model echoes
the last user message. Tests queue other answers per model with `FakeBedrock.then(...)`.
"""

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from tests.fakes.loopback import LoopbackServer

MALICIOUS_MARKER = "ignore previous instructions"


@dataclass
class Answer:
    """One scripted answer: an HTTP status with a JSON body, optional delay, or a raw (broken) body."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    # Hold this answer until a call to that model arrives (at most 5 s): proves two calls overlapped.
    after_call_to: str | None = None


def text_answer(text: str, *, input_tokens: int = 10, output_tokens: int = 5) -> Answer:
    return Answer(
        body={
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": 1},
        }
    )


def verdict_answer(verdict: str, category: str = "none", reason: str = "fake verdict") -> Answer:
    tool_use = {
        "toolUseId": "tooluse_1",
        "name": "record_verdict",
        "input": {"verdict": verdict, "category": category, "reason": reason},
    }
    return Answer(
        body={
            "output": {"message": {"role": "assistant", "content": [{"toolUse": tool_use}]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150},
            "metrics": {"latencyMs": 1},
        }
    )


def throttled() -> Answer:
    return Answer(
        status=429,
        body={"message": "Too many requests"},
        headers={"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def server_error() -> Answer:
    return Answer(
        status=500,
        body={"message": "Internal failure"},
        headers={"x-amzn-ErrorType": "InternalServerException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


@dataclass
class Call:
    model_id: str
    body: dict[str, Any]
    received_at: float = field(default_factory=time.monotonic)
    client_port: int = 0  # the caller's end of the TCP connection: a reused connection keeps its port

    @property
    def last_user_text(self) -> str:
        message = [m for m in self.body.get("messages", []) if m["role"] == "user"][-1]
        return "".join(block.get("text", "") for block in message["content"])


def _default_answer(model_id: str, call: Call) -> Answer:
    text = call.last_user_text
    if "toolConfig" in call.body:  # the screening model
        if MALICIOUS_MARKER in text.casefold():
            return verdict_answer("malicious", "prompt_injection", "asks to ignore instructions")
        return verdict_answer("safe")
    return text_answer(f"Echo: {text}")


class FakeBedrock(LoopbackServer):
    """The server and its script; `calls` records every Converse request it received."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._queues: dict[str, deque[Answer]] = defaultdict(deque)
        self.default: Callable[[str, Call], Answer] = _default_answer
        self._lock = threading.Condition()
        super().__init__(self._handler())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._queues.clear()
        self.default = _default_answer

    def then(self, model_id: str, *answers: Answer) -> None:
        """Queue answers for the next calls to `model_id` (the default behaviour resumes after them)."""
        with self._lock:
            self._queues[model_id].extend(answers)

    def calls_to(self, model_id: str) -> list[Call]:
        return [call for call in self.calls if call.model_id == model_id]

    def _answer(self, model_id: str, body: dict[str, Any], client_port: int = 0) -> Answer:
        call = Call(model_id, body, client_port=client_port)
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
            queue = self._queues.get(model_id)
            scripted = queue.popleft() if queue else None
        answer = scripted or self.default(model_id, call)
        if answer.after_call_to:
            with self._lock:
                self._lock.wait_for(lambda: bool(self.calls_to(answer.after_call_to or "")), timeout=5)
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                parts = self.path.split("/")  # /model/<id>/converse
                if len(parts) != 4 or parts[1] != "model" or parts[3] != "converse":
                    self._send(Answer(status=404, body={"message": f"unknown path {self.path}"}))
                    return
                self._send(fake._answer(unquote(parts[2]), body, client_port=self.client_address[1]))

            def _send(self, answer: Answer) -> None:
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
