"""Long histories in real Chromium: 120 conversations in the sidebar and a 65-turn conversation, in pages.

The conversations are seeded through the real repositories into the live server's (in-process) moto, for
the owner of the browser's own session.
"""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from playwright.sync_api import expect

from fakes.history import SEEDED_AT, seed_conversation
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def browser_owner(page) -> str:
    """Open the page and return the owner its session cookie stands for."""
    page.goto("/")
    expect(page.get_by_label("Message")).to_be_focused()
    for _ in range(100):  # the page starts its session after loading
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        if settings.SESSION_COOKIE_NAME in cookies:
            return f"session:{cookies[settings.SESSION_COOKIE_NAME]}"
        page.wait_for_timeout(100)
    raise AssertionError("the page started no session")


def sidebar_titles(page):
    return page.locator("#conversation-list .conversation-link")


def scroll_sidebar_to_end(page) -> None:
    page.locator(".conversations").evaluate("nav => { nav.scrollTop = nav.scrollHeight; }")


def thread_messages(page):
    return page.locator("#thread .message")


def test_the_sidebar_loads_older_conversations_as_you_scroll_and_they_open_and_delete(page, bedrock):
    owner = browser_owner(page)
    for n in range(120):
        seed_conversation(owner, turns=1, title=f"chat {n:03}", at=SEEDED_AT + timedelta(minutes=n))
    page.reload()
    expect(sidebar_titles(page)).to_have_count(50)
    expect(sidebar_titles(page).first).to_have_text("chat 119")

    scroll_sidebar_to_end(page)
    expect(sidebar_titles(page)).to_have_count(100)
    scroll_sidebar_to_end(page)
    expect(sidebar_titles(page)).to_have_count(120)
    expect(sidebar_titles(page).last).to_have_text("chat 000")
    expect(page.locator("#conversations-more")).to_be_hidden()
    titles = sidebar_titles(page).all_inner_texts()
    assert titles == [f"chat {n:03}" for n in range(119, -1, -1)]  # each once, most recent first
    scroll_sidebar_to_end(page)
    screenshot(page, "pages-sidebar-end")

    # Switching to a conversation from the third page, then deleting one from there.
    page.get_by_role("link", name="chat 001").click()
    expect(thread_messages(page)).to_have_text(["chat 001 question 0", "Echo: chat 001 question 0"])
    expect(page.get_by_role("link", name="chat 001")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Delete “chat 002”").click()
    page.get_by_role("dialog", name="Delete conversation?").get_by_role("button", name="Delete").click()
    expect(sidebar_titles(page)).to_have_count(119)
    expect(page.get_by_role("link", name="chat 002")).to_have_count(0)
    expect(thread_messages(page)).to_have_count(2)  # the open one stays open

    # A new reply brings its conversation to the top without dropping the pages loaded below.
    page.get_by_label("Message").fill("back to this one")
    page.get_by_label("Message").press("Enter")
    expect(sidebar_titles(page).first).to_have_text("chat 001")
    expect(sidebar_titles(page)).to_have_count(119)
    page.get_by_role("button", name="Delete “chat 001”").click()
    page.get_by_role("dialog", name="Delete conversation?").get_by_role("button", name="Delete").click()
    expect(sidebar_titles(page)).to_have_count(118)
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()


def test_a_long_conversation_opens_at_its_end_and_loads_earlier_messages_keeping_the_place(page, bedrock):
    owner = browser_owner(page)
    conversation_id = seed_conversation(owner, turns=65, title="long")
    page.goto(f"/?c={conversation_id}")
    expect(thread_messages(page)).to_have_count(50)
    latest = thread_messages(page).last
    expect(latest).to_have_text("Echo: long question 64")
    expect(latest).to_be_in_viewport()
    expect(thread_messages(page).first).to_have_text("long question 40")
    screenshot(page, "pages-thread-latest")

    # Scrolling up loads the 50 before, and what the reader was looking at stays where it was.
    thread = page.get_by_role("region", name="Conversation")
    earlier_pages = re.compile(r".*[?&]before=.*")
    held = []  # the request for earlier messages waits until the reader's place is measured
    page.route(earlier_pages, lambda route: held.append(route))
    thread.evaluate("t => { t.scrollTop = 0; }")
    expect(page.locator("#thread-earlier")).to_have_text("Loading earlier messages…")
    first_seen = page.locator("#thread .message", has_text=re.compile(r"^long question 40$"))
    top_before = first_seen.bounding_box()["y"]
    held[0].continue_()
    page.unroute(earlier_pages)
    expect(thread_messages(page)).to_have_count(100)
    expect(thread_messages(page).first).to_have_text("long question 15")
    assert abs(first_seen.bounding_box()["y"] - top_before) <= 2
    screenshot(page, "pages-thread-earlier-loaded")

    # The keyboard reaches the thread (a focusable, named scroll region) and scrolls it to the start.
    assert thread.get_attribute("tabindex") == "0"
    thread.focus()
    expect(thread).to_be_focused()
    page.keyboard.press("Home")
    expect(thread_messages(page)).to_have_count(130)
    expect(page.locator("#thread-earlier")).to_have_count(0)
    page.keyboard.press("Home")
    expect(thread_messages(page).first).to_have_text("long question 0")
    expect(thread_messages(page).first).to_be_in_viewport()
    contents = thread_messages(page).all_inner_texts()
    assert contents == [t for n in range(65) for t in (f"long question {n}", f"Echo: long question {n}")]
    screenshot(page, "pages-thread-start")

    # Sending still appends at the end, below all 130.
    page.get_by_label("Message").fill("one more")
    page.get_by_label("Message").press("Enter")
    expect(thread_messages(page).last).to_have_text("Echo: one more")
    expect(thread_messages(page).last).to_be_in_viewport()


def test_a_failed_page_says_so_without_retrying_in_a_loop_and_scrolling_again_retries(page, bedrock):
    owner = browser_owner(page)
    for n in range(60):
        seed_conversation(owner, turns=1, title=f"chat {n:03}", at=SEEDED_AT + timedelta(minutes=n))
    failures = []

    def unavailable(route) -> None:
        failures.append(route.request.url)
        body = '{"error": {"code": "storage_unavailable", "message": "Storage is unavailable right now."}}'
        route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json", body=body)

    older_pages = re.compile(r".*/conversations\?cursor=.*")
    page.route(older_pages, unavailable)
    page.reload()
    expect(sidebar_titles(page)).to_have_count(50)
    scroll_sidebar_to_end(page)
    expect(page.locator("#conversations-more")).to_have_text("Could not load older conversations.")
    page.wait_for_timeout(1000)
    assert len(failures) == 1
    page.unroute(older_pages)
    page.locator(".conversations").evaluate("nav => { nav.scrollTop = 0; }")
    page.wait_for_timeout(300)  # the end of the list leaves the view, then comes back
    scroll_sidebar_to_end(page)
    expect(sidebar_titles(page)).to_have_count(60)
    expect(page.locator("#conversations-more")).to_be_hidden()
