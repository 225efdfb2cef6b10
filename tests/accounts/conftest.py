"""A real OpenID Connect provider for the single sign-on tests: oidc-provider-mock in its own process."""

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

SSO_CLIENT_ID, SSO_CLIENT_SECRET = "chat-tests", "chat-tests-secret"  # noqa: S105 - any pair works with the mock


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """Start `python -m oidc_provider_mock` on a port the system picks; yield its issuer URL."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        issuer = _listening_url(process)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening_url(process: subprocess.Popen) -> str:
    """Read the provider's log until uvicorn says where it listens."""
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"running on (http://127\.0\.0\.1:\d+)", line):
            return match.group(1)
    raise RuntimeError("oidc_provider_mock exited before listening")


@pytest.fixture
def sso(settings, oidc_provider: str) -> str:
    """Configure the `sso` provider as OIDC_SERVER_URL and friends would; return the issuer."""
    settings.OIDC_SERVER_URL = oidc_provider
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Example SSO",
                    "client_id": SSO_CLIENT_ID,
                    "secret": SSO_CLIENT_SECRET,
                    "settings": {"server_url": oidc_provider},
                }
            ],
            "OAUTH_PKCE_ENABLED": True,
        }
    }
    return oidc_provider


def sso_user(issuer: str, sub: str, **claims: object) -> None:
    """Give the provider a user `sub` with these claims (email, email_verified, ...)."""
    response = requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5)
    assert response.status_code == 204, response.text


@pytest.fixture(autouse=True)
def _no_sign_in_counts_from_other_tests(django_db_blocker) -> None:
    """Empty the cache table allauth counts sign-in failures in: no test inherits another's."""
    from django.core.cache import cache

    with django_db_blocker.unblock():
        cache.clear()
