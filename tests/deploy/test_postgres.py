"""The ORM parts (migrations, BlockedPrompt, the admin queue, the blocked-prompt API path) on PostgreSQL.

Production's DATABASE_URL is PostgreSQL; the main suite uses SQLite. This runs those test modules again in a
subprocess against the local server (127.0.0.1:5432, trust auth; `.ci/run` starts it), in a database of
its own so that concurrent runs on the machine never collide.
"""

import os
import socket
import subprocess
import sys
import uuid

import pytest

from tests.support import PROJECT

pytestmark = pytest.mark.slow
POSTGRES = ("127.0.0.1", 5432)
MODULES = [
    "tests/security/test_moderation_queue_orm.py",
    "tests/chatapp/test_chat_api.py",
    "tests/accounts/test_sign_in_limits.py",  # the cache table allauth counts in, on PostgreSQL
    "tests/accounts/test_leaving.py",
]


def postgres_is_up() -> bool:
    try:
        socket.create_connection(POSTGRES, timeout=2).close()
    except OSError:
        return False
    return True


def test_orm_tests_pass_on_postgresql():
    if not postgres_is_up():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not listening on 127.0.0.1:5432 (.ci/run starts it)")
        pytest.skip("PostgreSQL is not listening on 127.0.0.1:5432: start it to run the ORM tests on it")
    # pytest-django creates and drops test_<name>; the name itself is never used, only made unique.
    name = f"chatapp_{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{name}",
        "EXPECT_DATABASE_VENDOR": "postgresql",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db", *MODULES]
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
