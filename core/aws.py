"""Which model backend runs, and the Bedrock runtime clients with their timeout and retry budgets."""

import functools
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


def bedrock_runtime_client(*, read_timeout: float, max_attempts: int) -> Any:
    """Return a bedrock-runtime client (AWS_ENDPOINT_URL_BEDROCK_RUNTIME is honoured by botocore)."""
    config = Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return boto3.session.Session().client("bedrock-runtime", region_name=settings.AWS_REGION, config=config)


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
