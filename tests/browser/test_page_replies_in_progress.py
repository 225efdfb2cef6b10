"""A reply in progress, as a person leaves and comes back: New chat then Back, another conversation and back,
a reload mid-reply; Escape stops a reply; forced colours while a reply streams. Real Chromium on the live
server, streaming through the local WebSocket gateway (its own process) and the slow fake Bedrock."""

import re

import pytest
from playwright.sync_api import expect

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from tests.browser.conftest import screenshot, show_sidebar, viewport
from tests.browser.test_streaming_page import assistant as replies
from tests.browser.test_streaming_page import (  # noqa: F401 - fixtures
    conversation_id_of,
    open_chat,
    send,
    stored_messages,
    streaming,
    wait_for_partial_text,
)
from tests.browser.test_streaming_page import streaming_reply as writing
from tests.sockets.conftest import gateway, moto_url  # noqa: F401 - the gateway process and its DynamoDB
from tests.support import CHAT

# Every test streams: the live server offers the gateway's socket (test_streaming_page's fixture).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("streaming", "patient_expectations"),
]

WIDTHS = [390, 1280]
SLOW_REPLY = " ".join(f"Sentence {n} of a reply the model writes slowly." for n in range(12))
STILL_WRITING = "The reply is still being written…"


def slow_reply(page_with, bedrock, width: int, question: str, context=None, **pace: float) -> tuple[object, str]:
    """Open the chat at `width` (and `context` options), send `question`, answered slowly at `pace`; return the
    page and the reply's text once some is shown."""
    page = page_with(viewport=viewport(width), **(context or {}))
    bedrock.then(CHAT, stream_answer(SLOW_REPLY, **pace))
    open_chat(page)
    send(page, question)
    return page, wait_for_partial_text(page, minimum=4)


def questions(page):
    return page.locator("#thread .message[data-role='user']")


def stored(page, conversation_id: str) -> list[tuple[str, str, str | None]]:
    return [(m["role"], m["content"], m.get("stop_reason")) for m in stored_messages(page, conversation_id)]


@pytest.mark.parametrize("width", WIDTHS)
def test_new_chat_mid_reply_then_back_shows_the_question_and_the_reply_still_being_written(page_with, bedrock, width):
    page, _ = slow_reply(page_with, bedrock, width, "Write me something slowly", tokens_per_second=12)
    expect(page).to_have_url(re.compile(r"\?c=[0-9a-f-]{36}$"))  # a new conversation is in the URL once accepted
    conversation_id = conversation_id_of(page)

    show_sidebar(page)
    page.get_by_role("button", name="New chat").click()
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
    page.go_back()

    expect(questions(page)).to_have_text(["Write me something slowly"])
    expect(page.get_by_role("status").filter(has_text=STILL_WRITING)).to_be_visible()
    before = wait_for_partial_text(page, minimum=60)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()  # it is this conversation's reply to stop
    screenshot(page, f"replies-back-still-writing-{width}")
    page.wait_for_function(
        "n => document.querySelector('[data-state=streaming] .message-body').innerText.length > n", arg=len(before)
    )  # it keeps growing on screen

    expect(replies(page)).to_have_text([SLOW_REPLY])
    expect(page.get_by_text(STILL_WRITING)).to_have_count(0)
    expect(writing(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(questions(page)).to_have_count(1)
    assert stored(page, conversation_id) == [
        ("user", "Write me something slowly", None),
        ("assistant", SLOW_REPLY, "end_turn"),
    ]
    screenshot(page, f"replies-back-landed-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_new_conversation_mid_reply_is_listed_and_opening_it_shows_the_reply_still_being_written(
    page_with, bedrock, width
):
    page, _ = slow_reply(page_with, bedrock, width, "A **new** topic, slowly", tokens_per_second=12)
    show_sidebar(page)
    page.get_by_role("button", name="New chat").click()
    show_sidebar(page)
    # Not stored yet, so the server does not list it; the page does, under its plain title, with nothing to delete.
    link = page.get_by_role("link", name="A new topic, slowly")
    expect(link).to_be_visible()
    expect(page.locator(".conversation-delete")).to_have_count(0)
    screenshot(page, f"replies-listed-in-progress-{width}")
    link.click()

    expect(questions(page)).to_have_text(["A **new** topic, slowly"])
    expect(page.get_by_text(STILL_WRITING)).to_be_visible()
    expect(replies(page)).to_have_text([SLOW_REPLY])
    expect(page.get_by_text(STILL_WRITING)).to_have_count(0)
    show_sidebar(page)
    expect(page.locator("#conversation-list .conversation-link")).to_have_text(["A new topic, slowly"])
    expect(page.locator(".conversation-delete")).to_have_count(1)  # stored: listed by the server now


def test_a_reply_that_fails_while_away_says_so_on_return_and_gives_the_message_back(page_with, bedrock):
    # The model fails part-way: nothing is stored, so the new conversation never exists.
    page, _ = slow_reply(page_with, bedrock, 1280, "Try this", tokens_per_second=12, cut_after=120)
    page.get_by_role("button", name="New chat").click()
    page.go_back()
    expect(page.get_by_text(STILL_WRITING)).to_be_visible()
    notice = page.locator(".notice[data-kind='error']")
    expect(notice).to_contain_text("The reply could not be finished")
    expect(page.get_by_text(STILL_WRITING)).to_have_count(0)
    expect(replies(page)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Try this")
    expect(page).not_to_have_url(re.compile(r"\?c="))
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


@pytest.mark.parametrize("width", WIDTHS)
def test_another_conversation_mid_reply_and_back_shows_the_reply_still_being_written_then_stored(
    page_with, bedrock, width
):
    page = page_with(viewport=viewport(width))
    open_chat(page)
    send(page, "other topic")
    expect(replies(page)).to_have_text(["Echo: other topic"])
    show_sidebar(page)
    page.get_by_role("button", name="New chat").click()
    send(page, "main topic")
    expect(replies(page)).to_have_text(["Echo: main topic"])
    bedrock.then(CHAT, stream_answer(SLOW_REPLY, tokens_per_second=12))
    send(page, "and slowly now")
    wait_for_partial_text(page, minimum=20)

    show_sidebar(page)
    page.get_by_role("link", name="other topic").click()
    expect(replies(page)).to_have_text(["Echo: other topic"])
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()  # nothing is being written here
    show_sidebar(page)
    page.get_by_role("link", name="main topic").click()

    expect(questions(page)).to_have_text(["main topic", "and slowly now"])
    expect(page.get_by_text(STILL_WRITING)).to_be_visible()
    expect(replies(page).first).to_have_text("Echo: main topic")
    expect(replies(page)).to_have_text(["Echo: main topic", SLOW_REPLY])
    expect(page.get_by_text(STILL_WRITING)).to_have_count(0)
    assert [m[:2] for m in stored(page, conversation_id_of(page))][-2:] == [
        ("user", "and slowly now"),
        ("assistant", SLOW_REPLY),
    ]
    # The socket left to the earlier reply is not the one the next message uses: both are answered.
    send(page, "one more")
    expect(replies(page)).to_have_text(["Echo: main topic", SLOW_REPLY, "Echo: one more"])


@pytest.mark.parametrize("width", WIDTHS)
def test_reload_mid_reply_asks_first_then_says_it_was_interrupted_until_it_is_stored_as_stopped(
    page_with, bedrock, width
):
    # Slow enough that the server notices the closed socket seconds after the reload (at its next send).
    page, partial = slow_reply(page_with, bedrock, width, "Write very slowly", tokens_per_second=0.5)
    conversation_id = conversation_id_of(page)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.reload()
    assert dialogs == ["beforeunload"], "the person was asked before the reply was stopped"

    expect(questions(page)).to_have_text(["Write very slowly"])
    notice = page.locator(".notice[data-kind='interrupted']")
    expect(notice).to_contain_text("The reply was interrupted")
    expect(notice).to_contain_text("Saving what was written")
    expect(replies(page)).to_have_count(1)
    assert replies(page).inner_text().startswith(partial.strip())
    screenshot(page, f"replies-reload-interrupted-{width}")

    # Once the server has stored it: the stored reply, marked as stopped, offering Continue; no notice.
    note = replies(page).locator(".stop-note")
    expect(note).to_contain_text("Stopped before the end.")
    expect(note.get_by_role("button", name="Continue")).to_be_visible()
    expect(notice).to_have_count(0)
    expect(questions(page)).to_have_count(1)
    (question, reply) = stored(page, conversation_id)
    assert question == ("user", "Write very slowly", None)
    assert reply[2] == "stopped" and reply[1].startswith(partial.strip())
    screenshot(page, f"replies-reload-stored-{width}")


def test_reload_before_the_reply_began_says_nothing_was_saved_and_gives_the_message_back(page, bedrock):
    bedrock.then(CHAT, stream_answer("Too late.", first_token_delay=4))
    open_chat(page)
    send(page, "Think first")
    expect(page).to_have_url(re.compile(r"\?c=[0-9a-f-]{36}$"))  # accepted: the reply is being written
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    notice = page.locator(".notice[data-kind='interrupted']")
    expect(notice).to_contain_text("before the reply began")
    expect(notice).to_contain_text("nothing of it was saved")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Think first")
    expect(page).not_to_have_url(re.compile(r"\?c="))  # the conversation was never stored: a new chat
    expect(page.get_by_text("No conversations yet.")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_escape_stops_a_reply(page_with, bedrock, width):
    page, _ = slow_reply(page_with, bedrock, width, "Write slowly", tokens_per_second=8)
    page.keyboard.press("Escape")
    expect(replies(page).locator(".stop-note")).to_contain_text("Stopped before the end.")
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
def test_forced_colours_keep_every_control_and_message_bounded(page_with, bedrock, width):
    forced = {"forced_colors": "active"}
    page, _ = slow_reply(page_with, bedrock, width, "Write slowly", context=forced, tokens_per_second=10)
    border = "el => { const s = getComputedStyle(el); return [s.borderTopStyle, parseFloat(s.borderTopWidth)]; }"

    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    style, thickness = stop.evaluate(border)
    assert style == "solid" and thickness >= 2, "Stop keeps its circle"
    assert stop.locator("svg").bounding_box()["width"] >= 24, "Stop's square is recognisable"
    style, thickness = questions(page).locator(".message-body").evaluate(border)
    assert style == "solid" and thickness >= 1, "one's own message keeps its bubble"
    screenshot(page, f"forced-colours-streaming-{width}")

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    style, thickness = page.get_by_role("button", name="Send").evaluate(border)
    assert style == "solid" and thickness >= 2, "Send keeps its circle"
    send(page, f"Please {MALICIOUS_MARKER}")
    notice = page.locator(".notice[data-kind='blocked']")
    expect(notice).to_be_visible()
    style, thickness = notice.evaluate(border)
    assert style == "solid" and thickness >= 1
    screenshot(page, f"forced-colours-blocked-{width}")
