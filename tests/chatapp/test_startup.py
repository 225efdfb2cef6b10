"""WARM_MODELS_AT_STARTUP builds both model clients when the app starts, before any message."""

import os
import subprocess
import sys

from tests.support import PROJECT

PROBE = """
import django
django.setup()
from chatapp.clients import chat_model
from security.clients import screening_model
print(screening_model.cache_info().currsize, chat_model.cache_info().currsize)
"""


def built_models(**env: str) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatapp.settings.test", "LLM_BACKEND": "bedrock", **env}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_models_are_built_at_startup_when_asked(bedrock):
    assert built_models(WARM_MODELS_AT_STARTUP="true") == "1 1"
    # Their warm-ups (a verdict, a streamed reply) are answered inside botocore: nothing reaches Bedrock.
    assert bedrock.calls == []


def test_models_are_built_lazily_by_default_off_lambda():
    assert built_models(WARM_MODELS_AT_STARTUP="false") == "0 0"
