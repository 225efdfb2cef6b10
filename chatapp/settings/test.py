"""Test settings: only overrides of base.py."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DYNAMODB_TABLE_PREFIX", "test-")

from chatapp.settings.base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LLM_BACKEND = "bedrock"
CHAT_RATE_LIMIT = ""
CHAT_IP_RATE_LIMIT = ""
NEW_SESSION_IP_RATE_LIMIT = ""
RETRY_AFTER_SECONDS = 7
# Fault tests reach DynamoDB over loopback through a proxy: keep its timeouts short so they stay fast.
DYNAMODB_CONNECT_TIMEOUT = 0.5
DYNAMODB_READ_TIMEOUT = 2.0
DYNAMODB_MAX_RETRIES = 1
