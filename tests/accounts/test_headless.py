"""Other frontends: allauth's headless browser API under /_allauth/browser/v1/, with the session cookie and CSRF."""

import pytest

from tests.accounts.support import PASSWORD, Person, make_person

pytestmark = pytest.mark.django_db

AUTH = "/_allauth/browser/v1/auth"


def test_a_frontend_signs_in_and_out_through_the_headless_api_and_the_history_follows(bedrock) -> None:
    make_person("kai@example.com")
    person = Person()
    person.chat("Asked before signing in")
    assert person.get(f"{AUTH}/session").status_code == 401

    signed_in = person.post(f"{AUTH}/login", {"email": "kai@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200
    assert signed_in.json()["data"]["user"]["email"] == "kai@example.com"
    person.refresh()
    assert person.refresh()["user"] == {"email": "kai@example.com"}
    titles = [c["title"] for c in person.get("/api/v1/conversations").json()["conversations"]]
    assert titles == ["Asked before signing in"]

    signed_out = person.delete(f"{AUTH}/session")
    assert signed_out.status_code == 401  # allauth's answer for "no one is signed in now"
    assert person.refresh()["user"] is None


def test_the_headless_api_needs_the_csrf_token() -> None:
    make_person("lia@example.com")
    person = Person()
    response = person.http.post(
        f"{AUTH}/login", {"email": "lia@example.com", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 403
    assert person.refresh()["user"] is None


def test_a_wrong_password_is_refused_by_the_headless_api() -> None:
    make_person("max@example.com")
    response = Person().post(f"{AUTH}/login", {"email": "max@example.com", "password": "wrong"})
    assert response.status_code == 400
