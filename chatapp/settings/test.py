"""Test settings: only overrides of base.py."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DYNAMODB_TABLE_PREFIX", "test-")

from chatapp.settings.base import *  # noqa: E402, F403

# Django's own session tests, vendored in tests/security/django_sessions, import Django's db session model and
# define one of their own: their apps must be installed for the module to import (no other test uses them).
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions", "tests.security.django_sessions.sessions_tests"]  # noqa: F405
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
