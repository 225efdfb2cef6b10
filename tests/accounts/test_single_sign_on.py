"""Single sign-on against a real OpenID Connect provider process: the whole redirect flow over HTTP."""

import re
from urllib.parse import urljoin

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from tests.accounts.conftest import sso_user
from tests.accounts.support import make_person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def plain_http_cookies(settings) -> None:
    """The live server speaks plain http, as under `make run`: requests sends no Secure cookie over it."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


class Browser:
    """Cookies and redirects, as a browser without script: enough for the sign-in flow's forms."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(urljoin(self.base_url, path), timeout=10)

    def session(self) -> dict:
        return self.get("/api/v1/session").json()

    def chat(self, message: str) -> requests.Response:
        token = self.session()["csrf_token"]
        return self.http.post(
            urljoin(self.base_url, "/api/v1/ai/chat"), json={"message": message}, headers={"X-CSRFToken": token}
        )

    def post_form(self, path: str, fields: dict[str, str], *, token_from: str) -> requests.Response:
        """POST a form with the CSRF token of the page at `token_from`, as the page's own form would."""
        page = self.get(token_from)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        data = {"csrfmiddlewaretoken": token, **fields}
        return self.http.post(urljoin(self.base_url, path), data=data, timeout=10)

    def sign_in_with_sso(self, sub: str, *, then: str | None = None) -> requests.Response:
        """Press the single sign-on button (the login page's, or the page `then`'s), choose `sub`, come back."""
        fields = {"process": "login", **({"next": then} if then else {})}
        start = self.post_form("/accounts/oidc/sso/login/", fields, token_from=then or "/accounts/login/")
        assert start.status_code == 200 and "/oauth2/authorize" in start.url, start.text[:500]
        return self.http.post(start.url, data={"sub": sub}, timeout=10)  # the provider's authorize form


def test_single_sign_on_creates_the_account_and_signs_the_person_in(live_server, sso) -> None:
    sso_user(sso, "jo-1", email="jo@corp.example", email_verified=True)
    browser = Browser(live_server.url)
    arrived = browser.sign_in_with_sso("jo-1")
    assert arrived.status_code == 200 and arrived.url == f"{live_server.url}/"
    assert browser.session()["user"] == {"email": "jo@corp.example"}
    account = SocialAccount.objects.get(provider="sso", uid="jo-1")
    assert account.user.email == "jo@corp.example"


def test_single_sign_on_stays_open_when_email_sign_up_is_closed(live_server, sso, settings) -> None:
    settings.ACCOUNT_SIGNUP_OPEN = False
    sso_user(sso, "kim-1", email="kim@corp.example", email_verified=True)
    browser = Browser(live_server.url)
    browser.sign_in_with_sso("kim-1")
    assert browser.session()["user"] == {"email": "kim@corp.example"}
    assert b"Sign Up Closed" in requests.get(f"{live_server.url}/accounts/signup/", timeout=10).content


def test_a_verified_email_from_the_provider_signs_in_the_existing_account(live_server, sso) -> None:
    person = make_person("lee@corp.example")
    sso_user(sso, "lee-1", email="lee@corp.example", email_verified=True)
    browser = Browser(live_server.url)
    browser.sign_in_with_sso("lee-1")
    assert browser.session()["user"] == {"email": "lee@corp.example"}
    assert get_user_model().objects.filter(email__iexact="lee@corp.example").count() == 1
    assert SocialAccount.objects.get(uid="lee-1").user == person


def test_signing_in_with_single_sign_on_brings_the_anonymous_conversations_along(live_server, sso, bedrock) -> None:
    sso_user(sso, "max-1", email="max@corp.example", email_verified=True)
    browser = Browser(live_server.url)
    assert browser.chat("Before signing in").status_code == 200
    browser.sign_in_with_sso("max-1")
    titles = [c["title"] for c in browser.get("/api/v1/conversations").json()["conversations"]]
    assert titles == ["Before signing in"]


def test_the_login_page_offers_single_sign_on_under_its_configured_name(live_server, sso) -> None:
    page = Browser(live_server.url).get("/accounts/login/")
    assert "Example SSO" in page.text
    assert sso in page.headers["Content-Security-Policy"]  # the form's redirect to the provider is allowed


def test_an_account_with_only_single_sign_on_is_deleted_after_a_fresh_sign_in(live_server, sso, settings) -> None:
    sso_user(sso, "nia-1", email="nia@corp.example", email_verified=True)
    browser = Browser(live_server.url)
    browser.sign_in_with_sso("nia-1")
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 0  # the sign-in is no longer recent
    assert "Sign in again" in browser.get("/accounts/delete/").text
    refused = browser.post_form("/accounts/delete/", {}, token_from="/accounts/delete/")
    assert refused.status_code == 400
    assert get_user_model().objects.filter(email="nia@corp.example").exists()

    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
    back = browser.sign_in_with_sso("nia-1", then="/accounts/delete/")
    assert back.url == f"{live_server.url}/accounts/delete/" and "Delete my account" in back.text
    deleted = browser.post_form("/accounts/delete/", {}, token_from="/accounts/delete/")
    assert deleted.status_code == 200 and deleted.url == f"{live_server.url}/"
    assert not get_user_model().objects.filter(email="nia@corp.example").exists()
    assert not SocialAccount.objects.filter(uid="nia-1").exists()
