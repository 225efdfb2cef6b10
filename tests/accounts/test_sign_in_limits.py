"""Failed sign-ins: limited per client IP (API Gateway's, never X-Forwarded-For) and per email, in a store every
Lambda container shares; the admin lockout (django-axes) keys allauth's sign-ins on (email, IP)."""

import pytest
from axes.models import AccessAttempt
from django.core.cache import caches
from django.db import connection
from django.test import Client

from tests.accounts.support import PASSWORD, make_person

pytestmark = pytest.mark.django_db

SIGNED_IN, TOO_MANY, REFUSED = "signed in", "too many attempts", "refused"


def sign_in(email: str, password: str, *, ip: str, forwarded_for: str = "198.51.100.77") -> str:
    """POST the sign-in form as a request API Gateway received from `ip`; return what the person sees."""
    event = {"requestContext": {"identity": {"sourceIp": ip}}}
    response = Client().post(
        "/accounts/login/",
        {"login": email, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded_for,
        REMOTE_ADDR=forwarded_for,  # what Zappa fills from X-Forwarded-For
        **{"lambda.event": event},
    )
    if response.status_code == 302:
        return SIGNED_IN
    if response.status_code == 429 or b"Too many failed login attempts" in response.content:
        return TOO_MANY
    return REFUSED


def test_failed_sign_ins_are_limited_per_email_from_any_address() -> None:
    make_person("ann@example.com")
    for number in range(5):
        assert sign_in("ann@example.com", "wrong", ip=f"203.0.113.{number}") == REFUSED
    assert TOO_MANY == sign_in("ann@example.com", PASSWORD, ip="203.0.113.99")


def test_failed_sign_ins_are_limited_per_client_ip_whatever_x_forwarded_for_says() -> None:
    make_person("bob@example.com")
    for number in range(30):
        sign_in(f"nobody{number}@example.com", "wrong", ip="203.0.113.7", forwarded_for=f"192.0.2.{number}")
    assert TOO_MANY == sign_in("bob@example.com", PASSWORD, ip="203.0.113.7", forwarded_for="192.0.2.200")
    assert sign_in("bob@example.com", PASSWORD, ip="203.0.113.8") == SIGNED_IN


def test_ten_failures_on_one_account_do_not_shut_out_the_others_behind_the_same_address() -> None:
    make_person("cat@example.com")
    make_person("dan@example.com")
    for _ in range(10):
        sign_in("cat@example.com", "wrong", ip="203.0.113.10")
    assert sign_in("dan@example.com", PASSWORD, ip="203.0.113.10") == SIGNED_IN


def test_the_admin_lockout_counts_allauth_sign_ins_under_the_email_and_address(settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": False}  # axes alone, to see where its lockout falls
    make_person("eli@example.com")
    make_person("fox@example.com")
    for _ in range(10):
        sign_in("eli@example.com", "wrong", ip="203.0.113.20")
    assert AccessAttempt.objects.get().username == "eli@example.com"

    assert sign_in("eli@example.com", PASSWORD, ip="203.0.113.20") != SIGNED_IN  # that pair is locked
    assert sign_in("fox@example.com", PASSWORD, ip="203.0.113.20") == SIGNED_IN  # the neighbour is not
    assert sign_in("eli@example.com", PASSWORD, ip="203.0.113.21") == SIGNED_IN  # nor elsewhere


def test_sign_in_failures_are_counted_in_the_database_every_container_shares() -> None:
    make_person("gil@example.com")
    sign_in("gil@example.com", "wrong", ip="203.0.113.30")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_cache")
        assert cursor.fetchone()[0] >= 2  # one count per client IP and one per email
    assert caches["default"].__class__.__name__ == "DatabaseCache"
