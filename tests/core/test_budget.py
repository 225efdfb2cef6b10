"""The timeout and retry budget of a POST chat request fits in API Gateway's 29 s, with the shipped defaults.

The reply is streamed, so no one socket read bounds it: the POST_REPLY_SECONDS deadline does (the reads,
screening and the answer share it), then the pair's write.
"""

import json
import os
import subprocess
import sys

from core.aws import chat_request_worst_case, retried_call_worst_case
from tests.support import PROJECT

BUDGET_VARIABLES = (
    "BEDROCK_CONNECT_TIMEOUT",
    "SCREEN_MODEL_READ_TIMEOUT",
    "SCREEN_MODEL_MAX_ATTEMPTS",
    "CHAT_MODEL_READ_TIMEOUT",
    "CHAT_MODEL_MAX_ATTEMPTS",
    "DYNAMODB_CONNECT_TIMEOUT",
    "DYNAMODB_READ_TIMEOUT",
    "DYNAMODB_MAX_RETRIES",
    "POST_REPLY_SECONDS",
)


def production_worst_case() -> tuple[dict[str, float], float]:
    """Return the worst case computed by production settings (base.py defaults), in a fresh interpreter."""
    env = {name: value for name, value in os.environ.items() if name not in BUDGET_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="chatapp.settings.base", DJANGO_SECRET_KEY="x" * 50)
    env.pop("DJANGO_DEBUG", None)
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "from core.aws import chat_request_worst_case, screening_worst_case; "
        "print(json.dumps([chat_request_worst_case(), screening_worst_case(), settings.API_GATEWAY_TIMEOUT]))"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    worst, screening, limit = json.loads(run.stdout)
    return worst, screening, limit


def test_worst_case_of_a_chat_request_fits_in_api_gateways_29_seconds():
    worst, screening, limit = production_worst_case()
    assert limit == 29
    assert worst["reply"] - screening >= 15, "after the slowest screening the chat model keeps most of the budget"
    assert sum(worst.values()) <= limit - 2, f"{worst}: room is left for the session read and Lambda itself"


def test_worst_case_follows_the_settings(settings):
    settings.POST_REPLY_SECONDS = 12
    settings.DYNAMODB_READ_TIMEOUT = 3
    assert chat_request_worst_case() == {"reply": 12, "dynamodb": 2 * (settings.DYNAMODB_CONNECT_TIMEOUT + 3) + 1}


def test_worst_case_counts_every_attempt_and_the_backoff_between():
    assert retried_call_worst_case(attempts=1, connect_timeout=1, read_timeout=16) == 17
    assert retried_call_worst_case(attempts=3, connect_timeout=0.5, read_timeout=1) == 3 * 1.5 + 1 + 2
