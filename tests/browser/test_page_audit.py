"""The page audit's findings, each as a person meets it, at a phone's width (390 px) and a desktop's (1280 px):
wide tables and code, touch screens, focus after deleting, titles, what a screen reader hears, landmarks,
the keyboard hint, and the admin's sign-in page. Screenshots go to test-artifacts/audit-*."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from fakes.bedrock import text_answer
from tests.browser.conftest import screenshot, show_sidebar, viewport
from tests.browser.test_streaming_page import assistant as replies
from tests.browser.test_streaming_page import open_chat, send

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("patient_expectations"),
]

WIDTHS = [390, 1280]
COLUMNS = [f"Column {letter}" for letter in "ABCDEFGHIJ"]
WIDE_TABLE = (
    "Here is the table:\n\n| "
    + " | ".join(COLUMNS)
    + " |\n|"
    + "---|" * len(COLUMNS)
    + "\n| "
    + " | ".join(f"value {n} here" for n in range(len(COLUMNS)))
    + " |\n\nAnd a long line of code:\n\n```python\n"
    + "result = compute(" + ", ".join(f"argument_{n}" for n in range(30)) + ")\n```\n"
)  # fmt: skip
MARKDOWN_REPLY = (
    "**First** read [the guide](https://example.com/guide), then run `make test`.\n\n"
    "```sh\nmake run\n```\n\n| Name | Value |\n|---|---|\n| a | 1 |\n"
)
# A title from a message written in Markdown: the server keeps the first line as it was typed.
MARKDOWN_TITLE = "**Bold** plan with `code` and [a link](https://example.com)"
PLAIN_TITLE = "Bold plan with code and a link"


# The words of a table's cells that a line break cuts in two: a word on one line has one client rect.
WORDS_BROKEN = """el => [...el.querySelectorAll("th, td")].flatMap((cell) => {
    const text = cell.firstChild;
    return [...text.data.matchAll(/\\S+/g)].filter((word) => {
        const range = document.createRange();
        range.setStart(text, word.index);
        range.setEnd(text, word.index + word[0].length);
        return range.getClientRects().length > 1;
    }).map((word) => word[0]);
})"""


def start_new_chat(page) -> None:
    show_sidebar(page)
    page.get_by_role("button", name="New chat").click()


def two_conversations(page) -> None:
    """Have "first" and "second" answered, each its own conversation; "second" stays open."""
    open_chat(page)
    send(page, "first")
    expect(replies(page)).to_have_text(["Echo: first"])
    start_new_chat(page)
    send(page, "second")
    expect(replies(page)).to_have_text(["Echo: second"])
    expect(page.locator("#conversation-list .conversation-link")).to_have_count(2)


def focused_and_on_screen(page) -> bool:
    """True when keyboard focus is on an element a person can see: shown, inside the viewport, not inert."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body || el.closest("[inert]")) return false;
            if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
            const box = el.getBoundingClientRect();
            return box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
                && box.left < innerWidth && box.top < innerHeight;
        }"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_wide_tables_and_code_lines_scroll_sideways_inside_the_message_with_a_cue(page_with, bedrock, width):
    page = page_with(viewport=viewport(width))
    bedrock.then(settings.BEDROCK_CHAT_MODEL_ID, text_answer(WIDE_TABLE))
    open_chat(page)
    send(page, "a wide table please")
    scroller = replies(page).locator(".table-scroll")
    expect(scroller.locator("th")).to_have_text(COLUMNS)

    # Each header reads on one line ("Column A", never "Colu / mn A"), and no cell breaks a word.
    lines = "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }"
    assert [header.evaluate(lines) for header in scroller.locator("th").all()] == [1] * len(COLUMNS)
    assert scroller.evaluate(WORDS_BROKEN) == []
    # The table scrolls within the message, which stays within the screen; the page itself never scrolls sideways.
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth + 40")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = replies(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    # Reachable by keyboard, and a visible cue (shadows at the edges that have more) says there is more.
    expect(scroller).to_have_attribute("tabindex", "0")
    code = replies(page).locator("pre")
    assert code.evaluate("el => el.scrollWidth > el.clientWidth")
    for element in (scroller, code):
        assert element.evaluate("el => getComputedStyle(el).backgroundImage.split('gradient').length - 1") == 4
    scroller.scroll_into_view_if_needed()
    screenshot(page, f"audit-wide-table-{width}")
    scroller.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollLeft > 0")
    screenshot(page, f"audit-wide-table-scrolled-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_on_a_touch_screen_every_conversations_delete_is_visible_and_a_tap_deletes(page_with, bedrock, width):
    page = page_with(viewport=viewport(width), has_touch=True, is_mobile=True)
    two_conversations(page)
    show_sidebar(page)
    expect(page.locator(".conversation-delete")).to_have_count(2)
    actions = page.locator(".conversation-delete, .conversation-rename")
    for button in actions.all():  # the open one's and the other's: no hover needed to see any
        expect(button).to_be_visible()
        assert button.evaluate("el => getComputedStyle(el).opacity") == "1"
        box = button.bounding_box()
        assert round(box["width"]) >= 44 and round(box["height"]) >= 44, "a finger-sized target (2.75rem)"
    screenshot(page, f"audit-touch-sidebar-{width}")

    page.get_by_role("button", name="Delete “first”").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("“first” will be deleted for good.")
    dialog.get_by_role("button", name="Delete").tap()
    expect(page.locator("#conversation-list .conversation-link")).to_have_text(["second"])
    assert focused_and_on_screen(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_keyboard_hint_shows_with_a_keyboard_and_not_on_a_touch_screen(page_with, bedrock, width):
    desktop = page_with(viewport=viewport(width))
    open_chat(desktop)
    expect(desktop.get_by_text("Enter to send, Shift+Enter for a new line.")).to_be_visible()
    expect(desktop.get_by_role("textbox", name="Message")).to_have_attribute("aria-describedby", "composer-hint")

    touch = page_with(viewport=viewport(width), has_touch=True, is_mobile=True)
    touch.goto("/")
    expect(touch.get_by_role("textbox", name="Message")).to_be_visible()
    expect(touch.get_by_text("Shift+Enter")).to_be_hidden()
    expect(touch.get_by_role("textbox", name="Message")).not_to_have_attribute("aria-describedby", "composer-hint")
    screenshot(touch, f"audit-touch-composer-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_the_open_conversation_leaves_focus_on_something_visible(page_with, bedrock, width):
    page = page_with(viewport=viewport(width))
    two_conversations(page)
    show_sidebar(page)
    page.get_by_role("button", name="Delete “second”").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#conversation-list .conversation-link")).to_have_text(["first"])
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
    if width < 768:  # the sidebar closed with the conversation: the message box, in view, takes focus
        expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    else:
        expect(page.get_by_role("button", name="New chat")).to_be_focused()
    assert focused_and_on_screen(page)
    screenshot(page, f"audit-focus-after-delete-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_titles_read_as_plain_text_in_the_list_the_window_title_and_the_delete_dialog(page_with, bedrock, width):
    page = page_with(viewport=viewport(width))
    open_chat(page)
    send(page, MARKDOWN_TITLE)
    expect(replies(page)).to_have_count(1)
    show_sidebar(page)
    link = page.locator("#conversation-list .conversation-link")
    expect(link).to_have_text([PLAIN_TITLE])
    expect(link).to_have_attribute("title", PLAIN_TITLE)
    expect(page).to_have_title(f"{PLAIN_TITLE} · Guarded chat")
    page.get_by_role("button", name=f"Delete “{PLAIN_TITLE}”").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"“{PLAIN_TITLE}” will be deleted for good.")
    screenshot(page, f"audit-plain-title-{width}")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()


def test_a_reply_is_announced_once_as_it_reads_never_as_markdown(page, bedrock):
    bedrock.then(settings.BEDROCK_CHAT_MODEL_ID, text_answer(MARKDOWN_REPLY))
    open_chat(page)  # which records every text the live region is given in window.__announced
    send(page, "how do I start?")
    expect(replies(page).locator("table")).to_be_visible()
    page.wait_for_function("() => window.__announced.length > 0")
    page.wait_for_timeout(300)
    announced = page.evaluate("() => window.__announced")
    assert announced == ["Assistant: First read the guide, then run make test.\nmake run\nName, Value\na, 1"]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_has_a_main_landmark_and_a_description(page_with, bedrock, width):
    page = page_with(viewport=viewport(width))
    open_chat(page)
    main = page.get_by_role("main")
    expect(main).to_have_count(1)
    expect(main.get_by_role("textbox", name="Message")).to_be_visible()
    expect(main.get_by_role("region", name="Conversation")).to_be_visible()
    description = page.locator("meta[name='description']").get_attribute("content")
    assert description and "safety screen" in description


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_sign_in_names_the_project_has_a_heading_and_leads_back_to_the_chat(page_with, bedrock, width):
    page = page_with(viewport=viewport(width))
    page.goto("/admin/login/?next=/admin/")
    expect(page).to_have_title("Sign in · Guarded chat administration")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to moderate")
    expect(page.get_by_role("link", name="Guarded chat administration")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    icon = page.locator("link[rel='icon']").get_attribute("href")
    assert page.request.get(icon).ok, "the project's icon, not a 404 for /favicon.ico"
    screenshot(page, f"audit-admin-sign-in-{width}")
    page.get_by_role("link", name="Back to the chat").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    assert page.url.rstrip("/") == page.url.split("/admin")[0].rstrip("/")
