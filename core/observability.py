"""One structured JSON log line per chat request, with stage timings, verdict, models and token usage.

Services add to the current request's record through module functions; the record lives in a context
variable so that services need no request object and threads started with `contextvars.copy_context()`
write to the same record.
"""

import contextvars
import hashlib
import hmac
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from core.metrics import add_embedded_metrics

logger = logging.getLogger("chatapp.request")

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("request_record", default=None)
_started: contextvars.ContextVar[float] = contextvars.ContextVar("request_started", default=0.0)


def owner_hash(owner: str) -> str:
    """Return a stable pseudonym for `owner` (keyed with the secret key, so it cannot be reversed by guessing)."""
    return hmac.new(settings.SECRET_KEY.encode(), owner.encode(), hashlib.sha256).hexdigest()[:16]


@contextmanager
def request_record(**fields: Any) -> Iterator[dict[str, Any]]:
    """Collect one request's record and log it as one JSON line when the block ends."""
    record: dict[str, Any] = {"event": "chat_request", "timings_ms": {}, **fields}
    token = _current.set(record)
    started = time.perf_counter()
    started_token = _started.set(started)
    try:
        yield record
    finally:
        record["timings_ms"]["total"] = round((time.perf_counter() - started) * 1000, 1)
        _current.reset(token)
        _started.reset(started_token)
        if settings.EMBEDDED_METRICS:
            add_embedded_metrics(record)
        logger.info("chat_request", extra={"record": record})


def record(**fields: Any) -> None:
    """Add fields to the current request's record (no-op outside a request)."""
    current = _current.get()
    if current is not None:
        current.update(fields)


def recorded() -> dict[str, Any] | None:
    """Return the current request's record so far, to read (None outside a request)."""
    return _current.get()


def record_first_text() -> None:
    """Note the time to first text (milliseconds since the request began), once per request."""
    current = _current.get()
    if current is not None and "first_text" not in current["timings_ms"]:
        current["timings_ms"]["first_text"] = round((time.perf_counter() - _started.get()) * 1000, 1)


def add_usage(model: str, usage: dict[str, int]) -> None:
    """Add a model call's token usage to the current request's record under `usage[model]`."""
    current = _current.get()
    if current is not None:
        totals = current.setdefault("usage", {}).setdefault(model, {})
        for name, count in usage.items():
            totals[name] = totals.get(name, 0) + count


def record_error(error: Any) -> None:
    """Name the error and its underlying cause in the current request's record."""
    record(error=error.code, cause=error.cause)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time a stage of the current request (milliseconds, summed if the stage repeats)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        current = _current.get()
        if current is not None:
            elapsed = (time.perf_counter() - started) * 1000
            timings = current["timings_ms"]
            timings[name] = round(timings.get(name, 0) + elapsed, 1)


class JsonFormatter(logging.Formatter):
    """Format a log record as one JSON object per line (CloudWatch Logs Insights reads the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "record", {}))
        if event := getattr(record, "event", None):
            payload["event"] = event
        if record.exc_info:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def client_ip(request: Any) -> str:
    """Return the caller's IP as API Gateway saw it, or the socket peer off Lambda; never a header it sent."""
    # On Lambda, Zappa derives REMOTE_ADDR from X-Forwarded-For, which the caller can prefill; the event's
    # requestContext (`http.sourceIp` for HTTP APIs, `identity.sourceIp` for REST APIs) comes from API Gateway.
    event = request.META.get("lambda.event")
    return event_client_ip(event) or str(request.META.get("REMOTE_ADDR", ""))


def event_client_ip(event: Any) -> str:
    """Return the caller's IP that API Gateway put in a Lambda event (HTTP, REST or WebSocket API), or ""."""
    if not isinstance(event, dict):
        return ""
    context = event.get("requestContext") or {}
    source_ip = (context.get("http") or {}).get("sourceIp") or (context.get("identity") or {}).get("sourceIp")
    return str(source_ip or "")


def request_id(request: Any) -> str:
    """Return the id that ties log lines to this request: Lambda's request id when on Lambda, else a new one."""
    context = request.META.get("lambda.context")
    aws_request_id = getattr(context, "aws_request_id", None)
    return aws_request_id or uuid.uuid4().hex


class ContractErrorFilter(logging.Filter):
    """Drop Django's own line for a contract error (4xx, 503): the request's JSON line already names it."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", 500)
        return status >= 500 and status != 503


class StdoutHandler(logging.StreamHandler):
    """A handler that writes to whatever `sys.stdout` is at the time (Lambda and test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass
