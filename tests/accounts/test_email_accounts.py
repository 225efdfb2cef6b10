"""Email accounts through allauth's own views with the project's templates: sign up, confirm, sign in, sign out."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from accounts.middleware import account_pages_csp
from security.repositories import SessionItem
from tests.accounts.support import PASSWORD, Person, make_person

pytestmark = pytest.mark.django_db


def test_signing_up_mails_a_link_that_confirms_and_signs_the_person_in(bedrock) -> None:
    person = Person()
    response = person.sign_up("ada@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert person.refresh()["user"] is None  # not signed in before the email is confirmed (mandatory)
    assert mail.outbox[-1].to == ["ada@example.com"]

    assert person.confirm_email("ada@example.com").status_code == 302
    assert person.refresh()["user"] == {"email": "ada@example.com"}
    assert get_user_model().objects.get(email="ada@example.com").emailaddress_set.get().verified


def test_the_session_api_says_nobody_is_signed_in_for_an_anonymous_page() -> None:
    assert Person().refresh()["user"] is None


def test_signing_in_gives_the_session_a_new_key_and_signing_out_ends_it() -> None:
    person = Person()
    person.sign_up("bea@example.com")
    person.confirm_email("bea@example.com")
    person.sign_out()
    anonymous_key = person.session_key()

    person.sign_in("bea@example.com")
    signed_in_key = person.session_key()
    assert signed_in_key != anonymous_key
    assert SessionItem.count(anonymous_key) == 0  # the anonymous session is gone, not just renamed

    person.sign_out()
    assert SessionItem.count(signed_in_key) == 0
    assert person.refresh()["user"] is None


def test_sign_out_is_a_post_with_the_csrf_token() -> None:
    person = Person()
    person.sign_up("cy@example.com")
    person.confirm_email("cy@example.com")
    forged = person.http.post("/accounts/logout/", {})
    assert forged.status_code == 403
    assert person.refresh()["user"] == {"email": "cy@example.com"}


def test_signing_in_with_a_wrong_password_is_refused_on_the_page() -> None:
    person = Person()
    person.sign_up("dee@example.com")
    person.confirm_email("dee@example.com")
    person.sign_out()
    response = person.sign_in("dee@example.com", "not the password")
    assert response.status_code == 200
    assert b"not correct" in response.content
    assert person.refresh()["user"] is None


def test_sign_up_asks_for_no_username() -> None:
    page = Person().http.get("/accounts/signup/")
    assert b'name="email"' in page.content and b'name="username"' not in page.content


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_account_pages_keep_the_chat_pages_policy(path: str) -> None:
    response = Person().http.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == account_pages_csp()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert b"<script>" not in response.content and b"style=" not in response.content


def test_closed_sign_up_refuses_new_email_accounts(settings) -> None:
    settings.ACCOUNT_SIGNUP_OPEN = False
    person = Person()
    response = person.sign_up("eve@example.com")
    assert b"Sign Up Closed" in response.content
    assert not get_user_model().objects.filter(email="eve@example.com").exists()


def test_sign_up_outside_the_allowed_domains_is_refused(settings) -> None:
    settings.ACCOUNT_ALLOWED_EMAIL_DOMAINS = ["example.org"]
    person = Person()
    refused = person.sign_up("fay@example.com")
    assert refused.status_code == 200 and b"limited to addresses" in refused.content
    assert person.sign_up("fay@EXAMPLE.org").status_code == 302
    assert get_user_model().objects.filter(email__iexact="fay@example.org").exists()


def test_the_account_pages_allow_the_providers_sign_in_origins_as_form_targets(settings) -> None:
    settings.OIDC_SERVER_URL = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    settings.OIDC_FORM_ACTION_ORIGINS = ["https://example-corp.auth.us-east-1.amazoncognito.com"]
    policy = Person().http.get("/accounts/login/")["Content-Security-Policy"]
    form_action = next(part for part in policy.split("; ") if part.startswith("form-action"))
    assert form_action == (
        "form-action 'self' https://cognito-idp.us-east-1.amazonaws.com "
        "https://example-corp.auth.us-east-1.amazoncognito.com"
    )


def test_a_deployment_without_email_url_is_told_no_account_mail_goes_out(settings) -> None:
    from django.core import checks

    def account_messages() -> list[str]:
        found = checks.run_checks(include_deployment_checks=True)
        return [message.id for message in found if message.id.startswith("accounts.")]

    settings.EMAIL_URL = ""
    assert account_messages() == ["accounts.I001"]
    settings.EMAIL_URL = "smtp+tls://user:secret@email-smtp.us-east-1.amazonaws.com:587"
    assert account_messages() == []


def test_a_forgotten_password_is_reset_through_the_mailed_link() -> None:
    make_person("gia@example.com")
    person = Person()
    assert person.form("/accounts/password/reset/", {"email": "gia@example.com"}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_page = person.http.get(link, follow=True)
    set_password_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    new = "another long pass phrase 7"
    done = person.form(set_password_url, {"password1": new, "password2": new})
    assert done.status_code == 302
    assert person.sign_in("gia@example.com", PASSWORD).status_code == 200  # the old one no longer works
    assert person.sign_in("gia@example.com", new).status_code == 302


def test_changing_the_password_signs_out_the_other_devices_but_not_this_one() -> None:
    make_person("hue@example.com")
    laptop, phone = Person(), Person()
    laptop.sign_in("hue@example.com")
    phone.sign_in("hue@example.com")
    new = "another long pass phrase 8"
    changed = laptop.form("/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new})
    assert changed.status_code == 302
    assert laptop.refresh()["user"] == {"email": "hue@example.com"}
    assert phone.refresh()["user"] is None  # its session's password hash no longer matches


def test_a_deleted_person_is_signed_out_everywhere() -> None:
    user = make_person("ike@example.com")
    phone = Person()
    phone.sign_in("ike@example.com")
    user.delete()
    assert phone.refresh()["user"] is None
