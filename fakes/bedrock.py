"""A fake Amazon Bedrock runtime (Converse and ConverseStream) over real HTTP, for botocore and langchain-aws.

Point `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` at `server.url`. By default the screening model calls a message
malicious when it contains "ignore previous instructions" (and safe otherwise), and the chat model echoes
the last user message. A message screened with earlier turns (the JSON data of the screening turn) is read
after them, so the phrase split over turns is malicious too, as long as the new message completes it.
Tests queue other answers per model with `FakeBedrock.then(...)`.

ConverseStream answers in AWS's event-stream binary framing (application/vnd.amazon.eventstream, each
message with its prelude and message CRC32s, as botocore's parser checks) over chunked HTTP: messageStart,
one contentBlockDelta per ~token, contentBlockStop, messageStop (stopReason) and metadata (usage). A scripted
`Answer` paces it (`first_token_delay`, `tokens_per_second`) or breaks it (`cut_after`, `error_after` deltas).
"""

import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from core.aws import converse_stream_event, eventstream_message  # the warm-ups' framing too: botocore decodes both
from fakes.loopback import LoopbackServer

MALICIOUS_MARKER = "ignore previous instructions"
CHARS_PER_TOKEN = 4  # each contentBlockDelta of a stream carries about one token


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
    # Hold this answer until its model has had this many calls since the reset (at most 5 s): proves that
    # requests were in flight together. The call's `held_until_met` says whether they were.
    after_calls: int = 0
    # Hold this answer until the test sets the event (at most 10 s): keeps a request in flight meanwhile.
    held_until: threading.Event | None = None
    # ConverseStream only: seconds before the first text, pace of the text, and faults after n deltas.
    first_token_delay: float = 0.0
    tokens_per_second: float = 0.0
    cut_after: int | None = None  # the connection drops (no messageStop)
    error_after: int | None = None  # a modelStreamErrorException event ends the stream

    @property
    def text(self) -> str:
        """Return the text of a Converse answer body (what a stream of it writes)."""
        content = (self.body or {}).get("output", {}).get("message", {}).get("content", [])
        return "".join(block.get("text", "") for block in content)


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


def stream_answer(text: str, *, stop_reason: str = "end_turn", **fields: Any) -> Answer:
    """A chat answer for ConverseStream (or Converse): `text`, ended by `stop_reason`, paced by `fields`."""
    answer = text_answer(text, output_tokens=max(1, len(text) // CHARS_PER_TOKEN))
    answer.body["stopReason"] = stop_reason
    for name, value in fields.items():
        setattr(answer, name, value)
    return answer


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
    held_until_met: bool | None = None  # an `after_calls` answer: whether the calls came before the 5 s ran out

    @property
    def last_user_text(self) -> str:
        message = [m for m in self.body.get("messages", []) if m["role"] == "user"][-1]
        return "".join(block.get("text", "") for block in message["content"])


def screened_turns(call: Call) -> tuple[list[str], str]:
    """Return the earlier turns and the message a screening call carries as JSON data after its first line."""
    text = call.last_user_text
    data = json.loads(text[text.index("{") :])
    return data.get("earlier_turns", []), data["message"]


def screens_malicious(call: Call) -> bool:
    """Return the fake screener's verdict on a screening call (see `malicious_in_context`)."""
    context, message = screened_turns(call)
    return malicious_in_context(context, message)


def malicious_in_context(context: list[str], message: str) -> bool:
    """Return True when the marker is in the message, or begun in earlier turns and ended in it."""
    conversation = " ".join([*context, message]).casefold()
    earlier = " ".join(context).casefold()
    return conversation.count(MALICIOUS_MARKER) > earlier.count(MALICIOUS_MARKER)


def _default_answer(model_id: str, call: Call) -> Answer:
    if "toolConfig" in call.body:  # the screening model
        if screens_malicious(call):
            return verdict_answer("malicious", "prompt_injection", "asks to ignore instructions")
        return verdict_answer("safe")
    return text_answer(f"Echo: {call.last_user_text}")


def split_instruction_screener(first: str, second: str) -> Callable[[str, Call], Answer]:
    """Return a default answer whose screener also calls `second` malicious after `first` in any earlier turn shown."""
    # Whatever came between them: an instruction split around padding.

    def answer(model_id: str, call: Call) -> Answer:
        if "toolConfig" in call.body:
            context, message = screened_turns(call)
            if message == second and first in context:
                return verdict_answer("malicious", "prompt_injection", "completes an instruction begun earlier")
        return _default_answer(model_id, call)

    return answer


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
        if answer.after_calls:
            with self._lock:
                enough = lambda: len(self.calls_to(model_id)) >= answer.after_calls  # noqa: E731
                call.held_until_met = self._lock.wait_for(enough, timeout=5)
        if answer.held_until is not None:
            answer.held_until.wait(timeout=10)
        return answer

    def wait_for_calls(self, model_id: str, count: int, *, timeout: float = 10) -> None:
        """Wait until `count` calls to `model_id` have arrived; AssertionError after `timeout` seconds."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.calls_to(model_id)) >= count, timeout=timeout):
                raise AssertionError(f"{len(self.calls_to(model_id))} calls to {model_id}, expected {count}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                parts = self.path.split("/")  # /model/<id>/converse or /model/<id>/converse-stream
                if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "converse-stream"):
                    self._send(Answer(status=404, body={"message": f"unknown path {self.path}"}))
                    return
                answer = fake._answer(unquote(parts[2]), body, client_port=self.client_address[1])
                if parts[3] == "converse-stream" and answer.status == 200 and answer.raw is None:
                    self._stream(answer)
                else:
                    self._send(answer)

            def _stream(self, answer: Answer) -> None:
                """Write the answer as ConverseStream events, one HTTP chunk each, paced as scripted."""
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = re.findall(r".{1,%d}" % CHARS_PER_TOKEN, answer.text, re.S)
                usage = answer.body.get("usage", {})
                try:
                    self._chunk(converse_stream_event("messageStart", {"role": "assistant"}))
                    time.sleep(answer.first_token_delay)
                    for sent, piece in enumerate(pieces):
                        if sent and answer.tokens_per_second:
                            time.sleep(1 / answer.tokens_per_second)
                        if sent == answer.cut_after:
                            self.close_connection = True
                            return  # no terminating chunk: the body ends mid-stream
                        if sent == answer.error_after:
                            self._chunk(exception_message("modelStreamErrorException", "The model stream failed."))
                            self._chunk(b"")
                            return
                        delta = {"contentBlockIndex": 0, "delta": {"text": piece}}
                        self._chunk(converse_stream_event("contentBlockDelta", delta))
                    self._chunk(converse_stream_event("contentBlockStop", {"contentBlockIndex": 0}))
                    self._chunk(
                        converse_stream_event("messageStop", {"stopReason": answer.body.get("stopReason", "end_turn")})
                    )
                    metadata = {"usage": usage, "metrics": {"latencyMs": 1}}
                    self._chunk(converse_stream_event("metadata", metadata))
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

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


def exception_message(exception_type: str, message: str) -> bytes:
    """Return one event-stream message carrying a modelled exception (botocore raises it mid-iteration)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return eventstream_message(headers, json.dumps({"message": message}).encode())
