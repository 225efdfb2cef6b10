"""People in real Chromium: sign up (the emailed link), chat, sign in on a second device, see it all, sign out."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.accounts.conftest import oidc_provider, sso, sso_user  # noqa: F401 - fixtures used below
from tests.accounts.support import confirmation_link
from tests.browser.conftest import axe_violations, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("patient_expectations"),
]

PASSWORD = "a long pass phrase 42"  # noqa: S105


@pytest.fixture
def second_device(browser, live_server) -> Iterator[object]:
    """Another browser context: its own cookies, as a phone would have."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    opened = context.new_page()
    yield opened
    context.close()


def policy_violations(page) -> list[str]:
    """Collect the console's Content-Security-Policy complaints from now on."""
    seen: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and seen.append(message.text))
    return seen


def sign_up(page, email: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_label("Password (again):").press("Enter")
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    page.goto(confirmation_link(email))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/$"))


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password:", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def test_a_person_signs_up_chats_and_finds_the_chat_on_a_second_device_then_signs_out(page, second_device, bedrock):
    violations = policy_violations(page) + policy_violations(second_device)
    sign_up(page, "noa@example.com")
    expect(page.locator("#account-email")).to_have_text("noa@example.com")
    send(page, "hello from my laptop")
    expect(page.locator("#thread .message[data-role='assistant']")).to_have_text(["Echo: hello from my laptop"])

    sign_in(second_device, "noa@example.com")
    expect(second_device.locator("#account-email")).to_have_text("noa@example.com")
    conversation = second_device.locator("#conversation-list .conversation-link")
    expect(conversation).to_have_text(["hello from my laptop"])
    if not conversation.is_visible():  # 390 px: the list is behind the menu button
        second_device.get_by_role("button", name="Show conversations").click()
    conversation.click()
    expect(second_device.locator("#thread .message[data-role='user']")).to_have_text(["hello from my laptop"])

    second_device.get_by_role("button", name="Sign out").click()
    expect(second_device.get_by_role("link", name="Sign in")).to_be_visible()
    expect(second_device.locator("#conversation-list .conversation-link")).to_have_count(0)
    page.reload()
    expect(page.locator("#account-email")).to_have_text("noa@example.com")  # the laptop is still signed in
    assert violations == []


def test_the_history_of_the_anonymous_page_follows_the_person_who_signs_in(page, bedrock):
    sign_up(page, "oli@example.com")
    page.get_by_role("button", name="Sign out").click()
    send(page, "asked before signing in")
    expect(page.locator("#thread .message[data-role='assistant']")).to_have_count(1)
    sign_in(page, "oli@example.com")
    expect(page.locator("#conversation-list .conversation-link")).to_have_text(["asked before signing in"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_account_pages_at_both_widths_and_in_both_schemes(page, bedrock, width: int, scheme: str):
    page.set_viewport_size({"width": width, "height": 844})
    page.emulate_media(color_scheme=scheme)
    violations = policy_violations(page)
    page.goto("/accounts/login/")
    expect(page.get_by_label("Email:")).to_be_visible()
    screenshot(page, f"accounts-sign-in-{width}-{scheme}")
    page.goto("/accounts/signup/")
    expect(page.get_by_label("Password (again):")).to_be_visible()
    screenshot(page, f"accounts-sign-up-{width}-{scheme}")
    sign_up(page, f"pat-{width}-{scheme}@example.com")
    send(page, "hello")
    expect(page.locator("#thread .message[data-role='assistant']")).to_have_count(1)
    expect(page.locator("#account-email")).to_be_visible()
    expect(page.locator("#conversation-list .conversation-link")).to_have_count(1)
    screenshot(page, f"accounts-signed-in-{width}-{scheme}")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the signed-in page scrolls sideways"
    assert violations == []


def test_the_sign_in_form_works_from_the_keyboard_alone(page, bedrock):
    sign_up(page, "quin@example.com")
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.keyboard.press("Tab")
    focused = [page.evaluate("document.activeElement.textContent.trim() || document.activeElement.name")]
    for _ in range(12):
        if page.evaluate("document.activeElement.name") == "login":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "login", focused
    page.keyboard.type("quin@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#account-email")).to_have_text("quin@example.com")


def test_single_sign_on_in_chromium_passes_the_pages_policy_to_the_provider_and_back(page, sso, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    sso_user(sso, "ray-1", email="ray@corp.example", email_verified=True)
    violations = policy_violations(page)
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Example SSO").click()
    page.get_by_role("button", name="Continue").click()  # allauth's POST, redirected to the provider
    page.get_by_label("Subject").fill("ray-1")
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.locator("#account-email")).to_have_text("ray@corp.example")
    assert violations == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_axe_finds_no_violation_on_the_account_pages(page, bedrock, width: int, scheme: str):
    page.set_viewport_size({"width": width, "height": 844})
    page.emulate_media(color_scheme=scheme)
    found: dict[str, list[dict]] = {}
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        page.goto(path)
        found[path] = axe_violations(page)
    sign_up(page, f"vic-{width}-{scheme}@example.com")
    expect(page.locator("#account-email")).to_be_visible()
    found["signed-in chat page"] = axe_violations(page)
    for path in ("/accounts/password/change/", "/accounts/delete/"):
        page.goto(path)
        found[path] = axe_violations(page)
    bad = {state: violations for state, violations in found.items() if violations}
    assert bad == {}, bad
