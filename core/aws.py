"""Which model backend runs, and the Bedrock runtime clients with their timeout and retry budgets."""

import functools
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings


@functools.cache
def llm_backend() -> str:
    """Return `bedrock` or `offline`: LLM_BACKEND if set, else bedrock when AWS credentials resolve."""
    if settings.LLM_BACKEND:
        return settings.LLM_BACKEND
    return "bedrock" if boto3.Session().get_credentials() is not None else "offline"


# Making clients from one session shares its parsed service models and endpoint rules: the second
# bedrock-runtime client costs ~4 ms instead of ~40 ms of a cold start, and the DynamoDB client built from
# it skips the ~150 ms a second session spends loading the same data again. A session is not thread-safe.
_client_lock = threading.Lock()


@functools.cache
def _aws_session() -> boto3.session.Session:
    return boto3.session.Session()


def aws_client(service_name: str, config: Config, *, endpoint_url: str | None = None) -> Any:
    """Return a new client of `service_name` made from the process's one session (AWS_ENDPOINT_URL_* honoured)."""
    with _client_lock:
        return _aws_session().client(
            service_name, region_name=settings.AWS_REGION, endpoint_url=endpoint_url, config=config
        )


def bedrock_runtime_client(*, read_timeout: float, max_attempts: int) -> Any:
    """Return a bedrock-runtime client (AWS_ENDPOINT_URL_BEDROCK_RUNTIME is honoured by botocore)."""
    config = Config(
        connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return aws_client("bedrock-runtime", config)


@functools.cache
def _bedrock_control_client_built() -> Any:
    config = Config(connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT, read_timeout=settings.SCREEN_MODEL_READ_TIMEOUT)
    return aws_client("bedrock", config)


class _BedrockControlClientOnFirstUse:
    """The Bedrock control-plane client, built when something first calls it."""

    # ChatBedrockConverse calls it only to resolve an application inference profile (never for this app's
    # model ids), but builds one of its own, from a fresh session, per model unless it is given one. Building
    # it costs ~130 ms of a cold start (the bedrock service model is large) for a client that is never called.
    def __getattr__(self, name: str) -> Any:
        return getattr(_bedrock_control_client_built(), name)


@functools.cache
def bedrock_control_client() -> Any:
    """Return the one Bedrock control-plane client the langchain models share (built on first use)."""
    return _BedrockControlClientOnFirstUse()


def converse_answer(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    """Return a Converse response holding `content` (a model's message content blocks)."""
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 0},
    }


@contextmanager
def answered_before_send(client: Any, body: bytes, *, content_type: str) -> Iterator[None]:
    """Answer every call `client` makes inside the block with `body` (HTTP 200), just before it is sent."""
    from botocore.awsrequest import AWSResponse

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {"content-type": content_type, "x-amzn-requestid": "warm-up"}
        return AWSResponse(request.url, 200, headers, _CannedBody(body))

    # For the warm-ups during init and after a SnapStart restore: a call runs botocore's whole path (validating,
    # serialising, signing, the HTTP request built for its endpoint, then the response parsed, event streams
    # included) except the socket, so it loads and touches what a first real call would; nothing is sent or
    # billed. botocore's Stubber answers earlier, before the request is even built.
    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register_first(event, answer, unique_id="warm-up")
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id="warm-up")


class _CannedBody:
    """A response body as botocore reads urllib3's: whole (`stream()` joined) or as an event stream."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._data

    def close(self) -> None:
        """Nothing to release: no connection was used."""


def converse_stream_event(event_type: str, payload: dict[str, Any]) -> bytes:
    """Return one event-stream message carrying a ConverseStream event (`messageStart`, `contentBlockDelta`…)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return eventstream_message(headers, json.dumps(payload).encode())


def eventstream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Frame `payload` as one AWS event-stream message (ConverseStream's answer is a sequence of these)."""
    # Total and headers lengths, prelude CRC, string headers, payload, message CRC.
    encoded = b"".join(
        struct.pack(">B", len(name)) + name.encode() + struct.pack(">BH", 7, len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


@functools.cache
def connections_client(endpoint_url: str | None) -> Any:
    """Return an API Gateway Management API client for one WebSocket API stage (`None`: the SDK's endpoint)."""
    config = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "standard", "total_max_attempts": 2})
    # AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, when set, wins (botocore reads it when no endpoint is passed): the
    # local gateway and tests serve @connections over http.
    return aws_client("apigatewaymanagementapi", config, endpoint_url=endpoint_url)


def retried_call_worst_case(*, attempts: int, connect_timeout: float, read_timeout: float) -> float:
    """Return the longest a call can take: every attempt times out, with botocore's standard backoff between."""
    # Standard mode waits at most min(2**i, 20) s before retry i+1 (throttling; other errors wait far less).
    backoff = sum(min(2**retry, 20) for retry in range(attempts - 1))
    return attempts * (connect_timeout + read_timeout) + backoff


def screening_worst_case() -> float:
    """Return the longest a screening call can take, every retry timing out."""
    return retried_call_worst_case(
        attempts=settings.SCREEN_MODEL_MAX_ATTEMPTS,
        connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT,
        read_timeout=settings.SCREEN_MODEL_READ_TIMEOUT,
    )


def chat_request_worst_case() -> dict[str, float]:
    """Return the worst case, in seconds, of each part of one POST chat request (see the budget in settings)."""
    return {
        "reply": settings.POST_REPLY_SECONDS,  # the deadline the reads, screening and the streamed answer share
        "dynamodb": retried_call_worst_case(  # the pair's write
            attempts=1 + settings.DYNAMODB_MAX_RETRIES,
            connect_timeout=settings.DYNAMODB_CONNECT_TIMEOUT,
            read_timeout=settings.DYNAMODB_READ_TIMEOUT,
        ),
    }


def message_usage(message: Any) -> dict[str, int]:
    """Return the token counts of a langchain AI message from Converse (zeros when it has none)."""
    usage = getattr(message, "usage_metadata", None) or {}
    details = usage.get("input_token_details") or {}
    return {
        "input_tokens": usage.get("input_tokens", 0),
        "output_tokens": usage.get("output_tokens", 0),
        "cache_read_tokens": details.get("cache_read", 0),
        "cache_write_tokens": details.get("cache_creation", 0),
    }
