"""A fault-injecting HTTP proxy for tests: forwards to one upstream on loopback, or fails on purpose.

Put it between botocore and moto_server (AWS_ENDPOINT_URL_DYNAMODB) or the fake Bedrock
(AWS_ENDPOINT_URL_BEDROCK_RUNTIME). A rule picks requests by DynamoDB operation (the X-Amz-Target header,
e.g. "DynamoDB_20120810.GetItem"), by table (read from the JSON body, wherever the operation names it) or
by a substring of the path (a Bedrock model id), and answers them with a `Fault` instead of forwarding:
an error status with an AWS error type, a connection reset, silence past the client's timeout, an
unparseable body, or a body cut off half-way. Faults are persistent, or limited to `times` requests.
"""

import http.client
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from fakes.loopback import LoopbackServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass(frozen=True)
class Fault:
    """What the proxy does instead of forwarding: `kind` is "status", "reset", "silence", "garbage" or "cut"."""

    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.kind


def dynamodb_error(status: int, error_type: str, message: str, name: str) -> Fault:
    """An error answer the way DynamoDB sends it: x-amzn-ErrorType header and a `__type` JSON body."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": message}).encode()
    headers = {"x-amzn-ErrorType": error_type, "Content-Type": "application/x-amz-json-1.0"}
    return Fault("status", status=status, headers=headers, body=body, name=name)


def bedrock_error(status: int, error_type: str, message: str, name: str) -> Fault:
    """An error answer the way Bedrock runtime sends it: x-amzn-ErrorType header and a `message` body."""
    body = json.dumps({"message": message}).encode()
    headers = {
        "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "Content-Type": "application/json",
    }
    return Fault("status", status=status, headers=headers, body=body, name=name)


THROUGHPUT_EXCEEDED = dynamodb_error(
    400, "ProvisionedThroughputExceededException", "The level of configured throughput was exceeded", "throughput"
)
DYNAMODB_500 = dynamodb_error(500, "InternalServerError", "Internal server error", "500")
BEDROCK_THROTTLED = bedrock_error(429, "ThrottlingException", "Too many requests", "429")
BEDROCK_500 = bedrock_error(500, "InternalServerException", "Internal failure", "500")
RESET = Fault("reset", name="reset")
GARBAGE = Fault("garbage", body=b"{this is not json", headers={"Content-Type": "application/json"}, name="garbage")
CUT = Fault("cut", name="cut")


def silence(seconds: float) -> Fault:
    """No answer for `seconds` (longer than the client's read timeout), then the connection closes."""
    return Fault("silence", delay=seconds, name="slow")


@dataclass
class Rule:
    fault: Fault
    target: str | None = None
    table: str | None = None
    path_contains: str | None = None
    times: int | None = None
    after: int = 0
    hits: int = 0
    passed: int = 0

    def matches(self, target: str, tables: set[str], path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.target is not None and target != self.target:
            return False
        if self.table is not None and self.table not in tables:
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        return True


def tables_named(body: bytes) -> set[str]:
    """Return every table a DynamoDB request body names (TableName, RequestItems, TransactItems)."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return set()
    if not isinstance(payload, dict):
        return set()
    tables = {payload["TableName"]} if isinstance(payload.get("TableName"), str) else set()
    tables.update(payload.get("RequestItems") or {})
    for item in payload.get("TransactItems") or []:
        tables.update(action["TableName"] for action in item.values() if isinstance(action, dict))
    return tables


class FaultProxy(LoopbackServer):
    """The proxy server; `fail(...)` arms a rule, `clear()` disarms all, `injected` counts faults sent."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.injected = 0
        self.forwarded: list[tuple[str, frozenset[str]]] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def fail(
        self,
        fault: Fault,
        *,
        target: str | None = None,
        table: str | None = None,
        path_contains: str | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> Rule:
        """Answer matching requests with `fault` (every one, or the next `times`), after letting `after` through."""
        rule = Rule(fault, target=target, table=table, path_contains=path_contains, times=times, after=after)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.injected = 0
            self.forwarded.clear()

    def _fault_for(self, target: str, tables: set[str], path: str) -> Fault | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(target, tables, path):
                    rule.hits += 1
                    self.injected += 1
                    return rule.fault
            self.forwarded.append((target, frozenset(tables)))
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                fault = proxy._fault_for(target, tables_named(body) if target else set(), self.path)
                if fault is None:
                    self._forward("POST", body)
                else:
                    self._inject(fault)

            def do_GET(self) -> None:  # noqa: N802
                self._forward("GET", b"")

            def _forward(self, method: str, body: bytes) -> None:
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                try:
                    upstream.request(method, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _inject(self, fault: Fault) -> None:
                if fault.kind == "reset":
                    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if fault.kind == "silence":
                    time.sleep(fault.delay)
                    self.close_connection = True
                    return
                if fault.kind == "cut":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "4096")
                    self.end_headers()
                    self.wfile.write(b'{"output": {"message": {"role": "assistant", "content": [{"te')
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.send_response(fault.status)
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
