"""A person in the test client: signs up (confirming the emailed link), signs in and out through allauth's pages."""

import re

from django.core import mail

from tests.support import ApiClient

PASSWORD = "a long pass phrase 42"  # noqa: S105


class Person(ApiClient):
    """A page-like client (session cookie, CSRF token) that also uses the account pages, as a browser would."""

    def form(self, url: str, fields: dict[str, str]) -> object:
        """POST a form of the account pages with the session's CSRF token, as the page's forms do."""
        return self.http.post(url, {**fields, "csrfmiddlewaretoken": self.csrf_token})

    def refresh(self) -> dict:
        """Fetch GET /api/v1/session again (a new CSRF token after sign-in or out) and return it."""
        session = self.http.get("/api/v1/session").json()
        self.csrf_token = session["csrf_token"]
        return session

    def sign_up(self, email: str, password: str = PASSWORD) -> object:
        return self.form("/accounts/signup/", {"email": email, "password1": password, "password2": password})

    def confirm_email(self, email: str) -> object:
        """Follow the confirmation link mailed to `email` (GET shows it, POST confirms), as the person would."""
        link = confirmation_link(email)
        assert self.http.get(link).status_code == 200
        response = self.form(link, {})
        self.refresh()
        return response

    def sign_in(self, email: str, password: str = PASSWORD) -> object:
        response = self.form("/accounts/login/", {"login": email, "password": password})
        self.refresh()
        return response

    def sign_out(self) -> object:
        response = self.form("/accounts/logout/", {})
        self.refresh()
        return response

    def session_key(self) -> str | None:
        cookie = self.http.cookies.get("sessionid")
        return cookie.value if cookie else None


def confirmation_link(email: str) -> str:
    """Return the path of the last confirmation link mailed to `email`."""
    bodies = [message.body for message in mail.outbox if email in message.to]
    assert bodies, f"no mail to {email}"
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", bodies[-1])
    assert match, bodies[-1]
    return match.group(1)


def make_person(email: str, password: str = PASSWORD) -> object:
    """Create an account with a confirmed email, as if signed up and confirmed earlier."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user
