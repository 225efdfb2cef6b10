"""Other frontends: CORS only for the listed origins, on the API paths, with credentials and CSRF; the cookies'
SameSite from COOKIE_SAMESITE. (The same in real Chromium: tests/browser/test_other_origins.py.)"""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.support import CHAT_URL, PROJECT

FRONTEND = "https://app.example.com"
STRANGER = "https://evil.example.net"


@pytest.fixture
def listed(settings):
    """FRONTEND listed, as base.py sets it from CORS_ALLOWED_ORIGINS (trusted for CSRF too)."""
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    settings.CSRF_TRUSTED_ORIGINS = [*settings.CSRF_TRUSTED_ORIGINS, FRONTEND]


def preflight(origin: str, path: str = CHAT_URL):
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-csrftoken",
        },
    )


def cors_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


def test_without_listed_origins_no_answer_carries_a_cors_header(db):
    assert cors_headers(preflight(FRONTEND)) == {}
    assert cors_headers(Client().get("/api/v1/session", headers={"Origin": FRONTEND})) == {}


def test_a_listed_origin_may_send_credentials_and_the_csrf_header(db, listed):
    answer = preflight(FRONTEND)
    assert answer.status_code == 200
    headers = cors_headers(answer)
    assert headers["access-control-allow-origin"] == FRONTEND
    assert headers["access-control-allow-credentials"] == "true"
    assert "POST" in headers["access-control-allow-methods"]
    assert {"content-type", "x-csrftoken"} <= set(headers["access-control-allow-headers"].split(", "))


def test_a_listed_origin_can_read_retry_after_and_content_disposition(db, listed):
    answer = Client().get("/api/v1/session", headers={"Origin": FRONTEND})
    assert answer.headers["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {name.strip().lower() for name in answer.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"retry-after", "content-disposition"}


@pytest.mark.parametrize("origin", [STRANGER, "http://app.example.com", "https://app.example.com:8443", "null"])
def test_an_unlisted_origin_gets_no_cors_header_even_one_that_differs_only_in_scheme_or_port(db, listed, origin):
    assert cors_headers(preflight(origin)) == {}
    assert cors_headers(Client().get("/api/v1/session", headers={"Origin": origin})) == {}


@pytest.mark.parametrize("path", ["/", "/admin/login/"])
def test_cors_covers_the_api_and_allauth_only_never_the_page_or_the_admin(db, listed, path):
    assert cors_headers(Client().get(path, headers={"Origin": FRONTEND})) == {}
    for api_path in ("/api/v1/health", "/_allauth/browser/v1/config"):
        answer = Client().get(api_path, headers={"Origin": FRONTEND})
        assert answer.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_a_listed_origin_chats_with_its_csrf_token_and_an_unlisted_one_is_refused(db, listed, bedrock):
    client = Client(enforce_csrf_checks=True)
    token = client.get("/api/v1/session", headers={"Origin": FRONTEND}).json()["csrf_token"]

    def post(origin: str):
        headers = {"Origin": origin, "X-CSRFToken": token}
        return client.post(CHAT_URL, {"message": "hello"}, content_type="application/json", headers=headers)

    refused = post(STRANGER)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    answered = post(FRONTEND)
    assert answered.status_code == 200, answered.content
    assert answered.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_a_listed_origin_can_read_errors_answered_before_any_view(db, listed, settings):
    body = '{"message": "' + "x" * (settings.MAX_REQUEST_BYTES + 1) + '"}'
    answer = Client().post(CHAT_URL, body, content_type="application/json", headers={"Origin": FRONTEND})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "payload_too_large"
    assert answer.headers["Access-Control-Allow-Origin"] == FRONTEND


def settings_in_a_fresh_process(**env: str) -> dict:
    """Return the cookie and CORS settings base.py derives from `env`."""
    names = (
        "CORS_ALLOWED_ORIGINS CSRF_TRUSTED_ORIGINS SESSION_COOKIE_SAMESITE CSRF_COOKIE_SAMESITE SESSION_COOKIE_SECURE"
        " CSRF_COOKIE_SECURE CSRF_COOKIE_HTTPONLY"
    )
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        f" print(json.dumps({{n: getattr(s, n) for n in {names.split()!r}}}))"
    )
    base = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "CORS_", "COOKIE_"))}
    environment = {**base, "DJANGO_SETTINGS_MODULE": "chatapp.settings.base", "DJANGO_SECRET_KEY": "x" * 50, **env}
    run = subprocess.run([sys.executable, "-c", code], env=environment, cwd=PROJECT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_listed_origins_are_trusted_for_csrf_and_cookies_stay_lax_by_default():
    found = settings_in_a_fresh_process(
        CORS_ALLOWED_ORIGINS="https://app.example.com,http://localhost:5173", CUSTOM_DOMAIN="chat.example.com"
    )
    assert found["CORS_ALLOWED_ORIGINS"] == ["https://app.example.com", "http://localhost:5173"]
    assert found["CSRF_TRUSTED_ORIGINS"] == [
        "https://chat.example.com",
        "https://app.example.com",
        "http://localhost:5173",
    ]
    assert found["SESSION_COOKIE_SAMESITE"] == found["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert found["CSRF_COOKIE_HTTPONLY"]  # frontends take csrf_token from GET /api/v1/session


def test_samesite_none_sets_both_cookies_and_forces_them_secure():
    found = settings_in_a_fresh_process(COOKIE_SAMESITE="None", DJANGO_SECURE_COOKIES="false")
    assert found["SESSION_COOKIE_SAMESITE"] == found["CSRF_COOKIE_SAMESITE"] == "None"
    assert found["SESSION_COOKIE_SECURE"] and found["CSRF_COOKIE_SECURE"]


def test_samesite_none_cookies_are_written_secure(db, settings):
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    answer = Client().get("/api/v1/session")
    for name in ("sessionid", "csrftoken"):
        assert answer.cookies[name]["samesite"] == "None" and answer.cookies[name]["secure"]


def test_an_unknown_samesite_value_stops_the_start():
    with pytest.raises(AssertionError, match="COOKIE_SAMESITE must be Lax, Strict or None"):
        settings_in_a_fresh_process(COOKIE_SAMESITE="lax-ish")
