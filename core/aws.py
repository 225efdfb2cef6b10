"""Which model backend runs, and the Bedrock runtime clients with their timeout and retry budgets."""

import functools
import threading
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
# bedrock-runtime client costs ~4 ms instead of ~40 ms of a cold start. A session is not thread-safe.
_client_lock = threading.Lock()


@functools.cache
def _bedrock_session() -> boto3.session.Session:
    return boto3.session.Session()


def bedrock_runtime_client(*, read_timeout: float, max_attempts: int) -> Any:
    """Return a bedrock-runtime client (AWS_ENDPOINT_URL_BEDROCK_RUNTIME is honoured by botocore)."""
    config = Config(
        connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    with _client_lock:
        return _bedrock_session().client("bedrock-runtime", region_name=settings.AWS_REGION, config=config)


@functools.cache
def bedrock_control_client() -> Any:
    """Return the one Bedrock control-plane client the langchain models share.

    ChatBedrockConverse calls it only to resolve an application inference profile, but builds one of its
    own (from a fresh session) per model unless it is given one: two needless client builds per cold start.
    """
    config = Config(connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT, read_timeout=settings.SCREEN_MODEL_READ_TIMEOUT)
    with _client_lock:
        return _bedrock_session().client("bedrock", region_name=settings.AWS_REGION, config=config)


@functools.cache
def connections_client(endpoint_url: str | None) -> Any:
    """Return an API Gateway Management API client for one WebSocket API stage (`None`: the SDK's endpoint).

    AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, when set, wins (botocore reads it when no endpoint is passed): the
    local gateway and tests serve @connections over http.
    """
    config = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "standard", "total_max_attempts": 2})
    with _client_lock:
        return _bedrock_session().client(
            "apigatewaymanagementapi", region_name=settings.AWS_REGION, endpoint_url=endpoint_url, config=config
        )


def retried_call_worst_case(*, attempts: int, connect_timeout: float, read_timeout: float) -> float:
    """Return the longest a call can take: every attempt times out, with botocore's standard backoff between.

    Standard mode waits at most min(2**i, 20) s before retry i+1 (throttling; other errors wait far less).
    """
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
    """Return the worst case, in seconds, of each part of one POST chat request (see the budget in settings).

    `reply` is the deadline the reads, screening and the streamed answer share; `dynamodb` is the pair's write.
    """
    return {
        "reply": settings.POST_REPLY_SECONDS,
        "dynamodb": retried_call_worst_case(
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
