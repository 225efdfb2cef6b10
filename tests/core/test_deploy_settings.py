"""Production settings pass Django's deployment checks, and responses carry the security headers."""

import os
import secrets
import subprocess
import sys

from django.test import Client

from tests.support import PROJECT


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `manage.py check --deploy` (warnings fail) in a fresh process with `env`."""
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)


def test_production_settings_pass_check_deploy(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings.base",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="chat.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EMAIL_URL="smtp+tls://user:password@email-smtp.us-east-1.amazonaws.com:587",  # account mail goes out
    )
    run = check_deploy(env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_check_deploy_fails_in_debug_mode(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="chatapp.settings.base", DJANGO_DEBUG="true")
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    run = check_deploy(env)
    assert run.returncode != 0
    assert "security.W018" in run.stderr + run.stdout  # DEBUG on


def test_https_responses_carry_the_security_headers(db):
    response = Client().get("/api/v1/session", secure=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    for name in ("sessionid", "csrftoken"):
        cookie = response.cookies[name]
        assert cookie["secure"] and cookie["samesite"] == "Lax"
    assert response.cookies["sessionid"]["httponly"]
