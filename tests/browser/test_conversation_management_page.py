"""Managing conversations on the page in real Chromium: rename, search, delete all, export, feedback on replies.

Each action is driven by keyboard where a person would use one, checked against what the API then holds, and
photographed (test-artifacts/manage-*.png), at 390 px and in the dark scheme too.
"""

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from fakes.bedrock import stream_answer
from fakes.history import SEEDED_AT, seed_conversation
from security.models import BlockedPrompt
from tests.browser.conftest import screenshot
from tests.browser.test_chat_page_pages import browser_owner
from tests.browser.test_streaming_page import streaming  # noqa: F401 - the page streams over the local gateway
from tests.sockets.conftest import gateway, moto_url  # noqa: F401 - the gateway process and its DynamoDB
from tests.support import CHAT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("patient_expectations"),
]


@pytest.fixture
def csp_violations(page) -> Iterator[list[str]]:
    """Console reports of anything the page's Content-Security-Policy refused: none are allowed."""
    seen: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    yield seen
    assert seen == []


def seed_titles(owner: str, *titles: str) -> list[str]:
    """Store one conversation per title, the last one most recent; return their ids in that order."""
    return [
        seed_conversation(owner, turns=1, title=title, at=SEEDED_AT + timedelta(minutes=n))
        for n, title in enumerate(titles)
    ]


def sidebar_titles(page):
    return page.locator("#conversation-list .conversation-link")


def api_get(page, url: str) -> dict:
    response = page.request.get(url)
    assert response.ok, response.text()
    return response.json()


def send(page, text: str) -> None:
    box = page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def replies(page):
    return page.locator("#thread .message[data-role='assistant']")


def test_a_conversation_is_renamed_in_place_by_keyboard(page, csp_violations):
    owner = browser_owner(page)
    seed_titles(owner, "Trip plans", "Shopping list")
    page.reload()
    expect(sidebar_titles(page)).to_have_text(["Shopping list", "Trip plans"])

    rename = page.get_by_role("button", name="Rename “Trip plans”")
    rename.focus()
    page.keyboard.press("Enter")
    field = page.get_by_role("textbox", name="New title for “Trip plans”")
    expect(field).to_be_focused()
    expect(field).to_have_value("Trip plans")
    page.keyboard.type("Lisbon in May")  # the old title was selected: typing replaces it
    screenshot(page, "manage-rename-editing")
    page.keyboard.press("Enter")
    expect(sidebar_titles(page)).to_have_text(["Shopping list", "Lisbon in May"])
    expect(page.get_by_role("link", name="Lisbon in May")).to_be_focused()
    expect(page.locator("#announcer")).to_have_text("Renamed to Lisbon in May")
    screenshot(page, "manage-rename-done")

    # Escape leaves the title as it was; the list after a reload shows what the server stored.
    page.get_by_role("button", name="Rename “Shopping list”").click()
    page.keyboard.type("Never saved")
    page.keyboard.press("Escape")
    expect(sidebar_titles(page)).to_have_text(["Shopping list", "Lisbon in May"])
    page.reload()
    expect(sidebar_titles(page)).to_have_text(["Shopping list", "Lisbon in May"])
    titles = [c["title"] for c in api_get(page, "/api/v1/conversations")["conversations"]]
    assert titles == ["Shopping list", "Lisbon in May"]


def test_a_blank_title_is_refused_and_the_field_stays_open(page, csp_violations):
    owner = browser_owner(page)
    seed_titles(owner, "Keep this")
    page.reload()
    page.get_by_role("button", name="Rename “Keep this”").click()
    field = page.get_by_role("textbox", name="New title for “Keep this”")
    field.fill("\u200b")  # nothing left once cleaned
    field.press("Enter")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#announcer")).to_contain_text("Not renamed")
    field.press("Escape")
    expect(sidebar_titles(page)).to_have_text(["Keep this"])


def test_the_search_box_narrows_the_list_to_matching_titles(page, csp_violations):
    owner = browser_owner(page)
    seed_titles(owner, "Trip to Lisbon", "Tax return", "lisbon restaurants", "Garden")
    page.reload()
    expect(sidebar_titles(page)).to_have_count(4)

    search = page.get_by_role("searchbox", name="Search conversation titles")
    search.focus()
    page.keyboard.type("LISB")
    expect(sidebar_titles(page)).to_have_text(["lisbon restaurants", "Trip to Lisbon"])
    expect(page.locator("#announcer")).to_have_text("2 conversations match")
    screenshot(page, "manage-search")

    search.fill("berlin")
    expect(sidebar_titles(page)).to_have_count(0)
    expect(page.locator("#conversations-empty")).to_have_text("No conversation titles match.")
    page.keyboard.press("Escape")  # clears the search, and all come back
    expect(search).to_have_value("")
    expect(sidebar_titles(page)).to_have_count(4)


def test_delete_all_asks_first_and_then_empties_the_list(page, csp_violations):
    owner = browser_owner(page)
    first, _ = seed_titles(owner, "One", "Two")
    page.goto(f"/?c={first}")
    expect(replies(page)).to_have_count(1)

    delete_all = page.get_by_role("button", name="Delete all chats")
    delete_all.click()
    dialog = page.get_by_role("dialog", name="Delete all chats?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    screenshot(page, "manage-delete-all-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete_all).to_be_focused()
    expect(sidebar_titles(page)).to_have_count(2)

    delete_all.click()
    dialog.get_by_role("button", name="Delete all").click()
    expect(sidebar_titles(page)).to_have_count(0)
    expect(page.locator("#conversations-empty")).to_have_text("No conversations yet.")
    expect(replies(page)).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"\?c="))
    expect(page.get_by_role("button", name="New chat")).to_be_focused()
    expect(page.locator("#announcer")).to_have_text("All chats deleted")
    assert api_get(page, "/api/v1/conversations") == {"conversations": [], "next": None}
    screenshot(page, "manage-delete-all-done")


def test_the_open_conversation_exports_as_markdown_and_json(page, csp_violations):
    owner = browser_owner(page)
    expect(page.locator("#export")).to_be_hidden()  # nothing open: nothing to export
    (conversation_id,) = seed_titles(owner, "Export me")
    page.goto(f"/?c={conversation_id}")
    expect(replies(page)).to_have_count(1)

    summary = page.locator("#export summary")
    summary.focus()
    page.keyboard.press("Enter")
    markdown_link = page.get_by_role("link", name="Markdown (.md)")
    expect(markdown_link).to_be_visible()
    screenshot(page, "manage-export-menu")
    with page.expect_download() as markdown:
        markdown_link.click()
    assert markdown.value.suggested_filename == f"export-me-{conversation_id[:8]}.md"
    text = open(markdown.value.path(), encoding="utf-8").read()
    assert text.startswith("# Export me\n") and "Echo: Export me question 0" in text

    summary.click()
    with page.expect_download() as exported:
        page.get_by_role("link", name="JSON (.json)").click()
    body = json.loads(open(exported.value.path(), encoding="utf-8").read())
    assert body["id"] == conversation_id
    assert [m["content"] for m in body["messages"]] == ["Export me question 0", "Echo: Export me question 0"]
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#export")).to_be_hidden()


def test_a_reply_is_rated_by_keyboard_with_an_optional_comment(page, bedrock, csp_violations):
    browser_owner(page)
    send(page, "what is the capital of Portugal?")
    reply = replies(page).first
    expect(reply).to_contain_text("Echo:")
    good = reply.get_by_role("button", name="Good reply")
    expect(good).to_have_attribute("aria-pressed", "false")
    good.focus()
    page.keyboard.press("Enter")
    expect(good).to_have_attribute("aria-pressed", "true")
    comment = reply.get_by_label("Comment (optional)")
    expect(comment).to_be_focused()
    page.keyboard.type("Short and right.")
    screenshot(page, "manage-feedback-up-comment")
    reply.get_by_role("button", name="Send feedback").click()
    expect(reply.locator(".feedback-status")).to_have_text("Thanks, your feedback was sent.")
    expect(good).to_be_focused()

    conversation_id = re.search(r"\?c=([0-9a-f-]{36})", page.url).group(1)
    stored = api_get(page, f"/api/v1/conversations/{conversation_id}")["messages"][1]["feedback"]
    assert stored == {"rating": "up", "comment": "Short and right."}
    page.reload()
    expect(replies(page).first.get_by_role("button", name="Good reply")).to_have_attribute("aria-pressed", "true")

    # Pressed again, the rating is withdrawn.
    replies(page).first.get_by_role("button", name="Good reply").click()
    expect(replies(page).first.get_by_role("button", name="Good reply")).to_have_attribute("aria-pressed", "false")
    assert "feedback" not in api_get(page, f"/api/v1/conversations/{conversation_id}")["messages"][1]


def test_a_reply_reported_harmful_reaches_the_moderators(page, bedrock, csp_violations):
    browser_owner(page)
    send(page, "tell me something")
    reply = replies(page).first
    reply.get_by_role("button", name="Bad reply").click()
    form = reply.get_by_role("form", name="Tell us more (optional)")
    expect(form.get_by_role("radio", name="Harmful or unsafe")).to_be_focused()
    page.keyboard.press("Space")
    form.get_by_label("Comment (optional)").fill("This is dangerous advice.")
    screenshot(page, "manage-feedback-down-form")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Send feedback
    expect(reply.locator(".feedback-status")).to_contain_text("A moderator will review this reply.")
    expect(reply.get_by_role("button", name="Bad reply")).to_have_attribute("aria-pressed", "true")
    row = BlockedPrompt.objects.get()
    assert row.kind == BlockedPrompt.Kind.OUTPUT and row.verdict_source == "user_feedback"
    assert row.context == ["tell me something"] and row.reason == "This is dangerous advice."
    screenshot(page, "manage-feedback-down-sent")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_control_fits_390_px_in_light_and_dark(page, bedrock, csp_violations, scheme):
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
    owner = browser_owner(page)
    seed_titles(owner, "An older conversation with a rather long title that will not fit", "Second")
    send(page, "hello from a phone")
    reply = replies(page).first
    reply.get_by_role("button", name="Bad reply").click()
    expect(reply.get_by_role("form", name="Tell us more (optional)")).to_be_visible()
    page.locator("#export summary").click()
    expect(page.get_by_role("link", name="JSON (.json)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"manage-390-{scheme}-thread")

    page.keyboard.press("Escape")
    page.get_by_role("button", name="Conversations").click()
    expect(page.get_by_role("searchbox", name="Search conversation titles")).to_be_visible()
    expect(page.get_by_role("button", name="Delete all chats")).to_be_visible()
    page.get_by_role("button", name="Rename “Second”").click()
    expect(page.get_by_role("textbox", name="New title for “Second”")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"manage-390-{scheme}-sidebar")


def test_a_streamed_reply_gets_its_thumbs_once_it_is_stored(page, streaming, bedrock, csp_violations):  # noqa: F811
    bedrock.then(CHAT, stream_answer("A reply written a little at a time.", tokens_per_second=8))
    browser_owner(page)
    send(page, "stream please")
    reply = replies(page).first
    expect(reply).to_have_attribute("data-state", "streaming")
    expect(reply.get_by_role("group", name="Rate this reply")).to_have_count(0)  # not stored yet: nothing to rate
    good = reply.get_by_role("button", name="Good reply")
    good.click()
    expect(good).to_have_attribute("aria-pressed", "true")
    conversation_id = re.search(r"\?c=([0-9a-f-]{36})", page.url).group(1)
    stored = api_get(page, f"/api/v1/conversations/{conversation_id}")["messages"][1]
    assert stored["content"] == "A reply written a little at a time." and stored["feedback"] == {"rating": "up"}
