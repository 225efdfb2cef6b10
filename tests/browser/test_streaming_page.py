"""The chat page streaming over the WebSocket, in real Chromium: the live server hands out the local gateway's URL
(manage.py websocket_gateway, its own process, on moto_server's DynamoDB and the slow-streaming fake Bedrock)."""

import json
import re
import socket as sockets
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from tests.browser.conftest import screenshot
from tests.sockets.conftest import gateway, moto_url  # noqa: F401 - the gateway process and its DynamoDB
from tests.support import CHAT, CHAT_URL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKDOWN_REPLY = (
    "Here is **the plan**, written slowly.\n\n"
    + "\n".join(f"- Step {n}: a line of the plan that takes a moment to write." for n in range(1, 9))
    + "\n\nThat is all."
)
PLAIN_REPLY = " ".join(f"Sentence {n} of a reply the model writes slowly." for n in range(40))
LONG_REPLY = "\n\n".join(f"Paragraph {n} of a long answer that fills the screen." for n in range(60))


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def streaming(settings, gateway):  # noqa: F811 - the fixture imported above
    """The live server offers the gateway's socket (and its CSP admits it)."""
    settings.WEBSOCKET_URL = gateway.url
    return gateway


def open_chat(page, path: str = "/"):
    page.goto(path)
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    # Every text the live region is given, in order: it must hear the finished reply, never the deltas.
    page.evaluate(
        """() => {
            window.__announced = [];
            const announcer = document.getElementById("announcer");
            new MutationObserver(() => announcer.textContent && window.__announced.push(announcer.textContent))
                .observe(announcer, {childList: true, characterData: true, subtree: true});
        }"""
    )


def send(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def assistant(page):
    return page.locator("#thread .message[data-role='assistant']")


def streaming_reply(page):
    return page.locator("#thread .message[data-role='assistant'][data-state='streaming']")


def wait_for_partial_text(page, minimum: int = 40) -> str:
    """Wait until the reply being written shows some text, and return it (mid-stream: `done` not yet sent)."""
    expect(streaming_reply(page)).to_be_visible()
    page.wait_for_function(
        "n => (document.querySelector('[data-state=streaming] .message-body')?.innerText || '').length >= n",
        arg=minimum,
    )
    return streaming_reply(page).locator(".message-body").inner_text()


def stored_messages(page, conversation_id: str) -> list[dict]:
    """Return the conversation's stored messages; none while it is not stored yet (404)."""
    response = page.request.get(f"/api/v1/conversations/{conversation_id}")
    return [] if response.status == 404 else response.json()["messages"]


def conversation_id_of(page) -> str:
    return page.evaluate("() => new URLSearchParams(location.search).get('c')")


def sockets_opened(page) -> list[str]:
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    return opened


def chat_posts(page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith(CHAT_URL) and posts.append(r.url))
    return posts


def test_reply_appears_as_it_is_written_as_markdown_and_is_announced_once_finished(page, streaming, bedrock):
    bedrock.then(CHAT, stream_answer(MARKDOWN_REPLY, first_token_delay=0.3, tokens_per_second=40))
    opened = sockets_opened(page)
    posts = chat_posts(page)
    open_chat(page)
    send(page, "Plan my week")

    partial = wait_for_partial_text(page)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_hidden()
    assert 0 < len(partial) < len("".join(MARKDOWN_REPLY.split("**"))), "only part of the reply is on the page"
    assert partial.startswith("Here is the plan"), partial
    # Safe Markdown as it arrives: bold is an element, not asterisks.
    expect(streaming_reply(page).locator("strong")).to_have_text("the plan")
    # Nothing is announced while the text grows, and the growing reply is not in a live region.
    assert page.evaluate("() => window.__announced") == []
    live = "el => el.closest('[aria-live], [role=status], [role=log], [role=alert]') === null"
    assert streaming_reply(page).evaluate(live)
    # The first paragraph is rendered once and kept (no flicker): the same node is there after the reply ends.
    page.evaluate("() => (window.__first = document.querySelector('[data-state=streaming] .message-body > p'))")
    screenshot(page, "stream-mid")

    expect(assistant(page).locator("li")).to_have_count(8)
    expect(assistant(page)).not_to_have_attribute("data-state", "streaming")
    expect(assistant(page).locator(".message-body > p").last).to_have_text("That is all.")
    first = page.evaluate("() => window.__first.isConnected && window.__first.textContent")
    assert first == "Here is the plan, written slowly."
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(assistant(page).locator(".stop-note")).to_have_count(0)  # a complete answer has no note
    page.wait_for_function("() => window.__announced.length > 0")
    announced = page.evaluate("() => window.__announced")
    # Once, as it reads on screen: no Markdown markers, one line a block.
    assert len(announced) == 1 and announced[0].startswith("Assistant: Here is the plan, written slowly.\nStep 1: ")
    assert "**" not in announced[0] and "- Step" not in announced[0]
    assert opened == [streaming.url] and posts == [], "the reply came over the socket, not POST"
    stored = stored_messages(page, conversation_id_of(page))
    assert [(m["role"], m["content"]) for m in stored] == [("user", "Plan my week"), ("assistant", MARKDOWN_REPLY)]


def test_stop_keeps_what_was_written_as_stopped_and_continue_sends_continue(page, streaming, bedrock):
    # Slow enough that the server notices the close a while after it (at its next send, up to a second later).
    bedrock.then(CHAT, stream_answer(PLAIN_REPLY, tokens_per_second=1))
    opened = sockets_opened(page)
    open_chat(page)
    send(page, "Write slowly")
    wait_for_partial_text(page, minimum=8)
    page.get_by_role("button", name="Stop").click()

    note = assistant(page).locator(".stop-note")
    expect(note).to_contain_text("Stopped before the end.")
    expect(note.get_by_role("button", name="Continue")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    shown = assistant(page).locator(".message-body").inner_text()
    assert 0 < len(shown) < len(PLAIN_REPLY) and PLAIN_REPLY.startswith(shown)
    page.wait_for_function("() => window.__announced.length > 0")
    announced = page.evaluate("() => window.__announced")
    assert len(announced) == 1 and announced[0].endswith("(Stopped before the end.)")
    screenshot(page, "stream-stopped")

    # At once, before the server has necessarily noticed the close: the page waits for the stopped reply to be
    # stored, so "continue" is answered in the same conversation with that reply in its history.
    note.get_by_role("button", name="Continue").click()
    expect(page.locator("#thread .message[data-role='user']")).to_have_text(["Write slowly", "continue"])
    expect(assistant(page).last).to_have_text("Echo: continue")
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    expect(assistant(page).first.locator(".stop-note")).to_contain_text("Stopped before the end.")
    call = bedrock.calls_to(CHAT)[-1]
    assert call.last_user_text == "continue"
    history = [(m["role"], "".join(block.get("text", "") for block in m["content"])) for m in call.body["messages"]]
    assert history[0] == ("user", "Write slowly") and history[1][0] == "assistant"
    assert history[1][1].startswith(shown)
    assert len(opened) == 2, "the next message after a stop opens a new socket"

    stored = stored_messages(page, conversation_id_of(page))
    assert [(m["role"], m.get("stop_reason")) for m in stored] == [
        ("user", None),
        ("assistant", "stopped"),
        ("user", None),
        ("assistant", "end_turn"),
    ]
    assert stored[1]["content"].startswith(shown) and PLAIN_REPLY.startswith(stored[1]["content"])


def test_reply_cut_at_max_tokens_says_so_and_offers_continue(page, streaming, bedrock):
    bedrock.then(CHAT, stream_answer("A reply that ran out of", stop_reason="max_tokens"))
    open_chat(page)
    send(page, "Write a lot")
    expect(assistant(page).locator(".stop-note")).to_contain_text("Cut off: the reply reached its length limit.")
    # History says so too: reopened, the cut reply still offers to go on.
    page.reload()
    note = assistant(page).locator(".stop-note")
    expect(note).to_contain_text("Cut off: the reply reached its length limit.")
    note.get_by_role("button", name="Continue").click()
    expect(assistant(page).last).to_have_text("Echo: continue")
    expect(assistant(page).first.locator(".stop-note")).to_contain_text("Cut off: the reply reached its length limit.")


def test_post_reply_cut_at_max_tokens_says_so_and_offers_continue(page, bedrock, settings):
    settings.WEBSOCKET_URL = ""  # streaming off: replies come by POST
    bedrock.then(CHAT, stream_answer("A reply that ran out of", stop_reason="max_tokens"))
    posts = chat_posts(page)
    open_chat(page)
    send(page, "Write a lot")
    expect(assistant(page).locator(".stop-note")).to_contain_text("Cut off: the reply reached its length limit.")
    page.get_by_role("button", name="Continue").click()
    expect(assistant(page).last).to_have_text("Echo: continue")
    assert len(posts) == 2


def test_unreachable_socket_falls_back_to_post(page, bedrock, settings):
    with sockets.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.WEBSOCKET_URL = f"ws://127.0.0.1:{port}/"
    opened = sockets_opened(page)
    posts = chat_posts(page)
    open_chat(page)
    send(page, "hello there")
    expect(assistant(page)).to_have_text("Echo: hello there")
    assert opened == [settings.WEBSOCKET_URL], "the socket was tried first"
    assert len(posts) == 1
    expect(page.locator("#thread .notice")).to_have_count(0)


def test_invalid_ticket_fetches_a_new_one_and_the_message_goes_through(page, streaming, bedrock):
    sessions: list[str] = []

    def forge_the_first_ticket(route) -> None:
        response = route.fetch()
        data = response.json()
        if not sessions:
            data["websocket"]["ticket"] = data["websocket"]["ticket"][:-4] + "AAAA"  # as good as expired
        sessions.append(data["websocket"]["ticket"])
        route.fulfill(response=response, body=json.dumps(data))

    page.route("**/api/v1/session", forge_the_first_ticket)
    open_chat(page)
    send(page, "hello there")
    expect(assistant(page)).to_have_text("Echo: hello there")
    assert len(sessions) == 2, "a new ticket was fetched after ticket_invalid"
    assert len(bedrock.calls_to(CHAT)) == 1
    expect(page.locator("#thread .notice")).to_have_count(0)


def test_a_socket_closed_while_idle_is_reopened_on_the_next_message(page, streaming, bedrock):
    routes = []

    def through_the_gateway(route) -> None:
        route.connect_to_server()
        routes.append(route)

    page.route_web_socket(streaming.url, through_the_gateway)
    open_chat(page)
    send(page, "first")
    expect(assistant(page)).to_have_text(["Echo: first"])
    expect(streaming_reply(page)).to_have_count(0)
    send(page, "second")
    expect(assistant(page)).to_have_text(["Echo: first", "Echo: second"])
    expect(streaming_reply(page)).to_have_count(0)  # `done` has arrived: the socket is idle, as API Gateway sees it
    assert len(routes) == 1, "an open socket carries the next message"
    routes[0].close(code=1001, reason="Going away")  # API Gateway's 10-minute idle close
    send(page, "third")
    expect(assistant(page)).to_have_text(["Echo: first", "Echo: second", "Echo: third"])
    assert len(routes) == 2
    expect(page.locator("#thread .notice")).to_have_count(0)


def test_view_follows_the_text_until_the_reader_scrolls_up(page, streaming, bedrock):
    bedrock.then(CHAT, stream_answer(LONG_REPLY, tokens_per_second=60))
    open_chat(page)
    send(page, "Write a long answer")
    thread = page.locator("#thread")
    gap = "el => el.scrollHeight - el.scrollTop - el.clientHeight"
    overflows = "() => { const t = document.getElementById('thread'); return t.scrollHeight > t.clientHeight + 400; }"
    page.wait_for_function(overflows)
    expect(streaming_reply(page)).to_be_visible()
    assert thread.evaluate(gap) < 48, "the view follows the text"

    thread.hover()
    page.mouse.wheel(0, -300)
    page.wait_for_function("() => document.getElementById('thread').scrollTop > 0")
    time.sleep(0.3)
    top, height = thread.evaluate("el => [el.scrollTop, el.scrollHeight]")
    page.wait_for_function(f"() => document.getElementById('thread').scrollHeight > {height + 200}")
    assert thread.evaluate("el => el.scrollTop") == pytest.approx(top, abs=2), "the reader's place is kept"
    assert thread.evaluate(gap) > 200
    expect(streaming_reply(page)).to_be_visible()

    # Back at the end, the view follows again.
    thread.evaluate("el => (el.scrollTop = el.scrollHeight)")
    height = thread.evaluate("el => el.scrollHeight")
    page.wait_for_function(f"() => document.getElementById('thread').scrollHeight > {height + 200}")
    assert thread.evaluate(gap) < 48
    expect(assistant(page).locator(".message-body > p")).to_have_count(60, timeout=30_000)


def test_errors_over_the_socket_are_shown_as_post_shows_them(page, streaming, bedrock):
    open_chat(page)
    send(page, f"Please {MALICIOUS_MARKER}")
    expect(page.locator(".notice[data-kind='blocked']")).to_contain_text("Message blocked by the safety screen")
    expect(page.locator("#thread .message[data-role='user']")).to_have_attribute("data-state", "blocked")

    # A model failure part-way: the partial text goes (nothing was stored), and the error offers a retry.
    bedrock.then(CHAT, stream_answer(PLAIN_REPLY, tokens_per_second=20, cut_after=60))
    send(page, "Go on")
    wait_for_partial_text(page)
    notice = page.locator(".notice[data-kind='error']")
    expect(notice).to_contain_text("The assistant could not answer")
    expect(notice.get_by_role("button", name="Retry")).to_be_visible()
    expect(assistant(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"\?c="))  # nothing was stored: still a new chat
    screenshot(page, "stream-error")
    page.wait_for_function("() => !document.querySelector('.notice .retry').disabled", timeout=20_000)
    notice.get_by_role("button", name=re.compile(r"^Retry")).click()
    expect(assistant(page)).to_have_text(["Echo: Go on"])


def test_the_thread_is_reachable_by_keyboard_and_named(page, streaming):
    open_chat(page)
    thread = page.locator("#thread")
    expect(thread).to_have_attribute("tabindex", "0")
    expect(page.get_by_role("region", name="Conversation")).to_be_visible()
    thread.focus()
    expect(thread).to_be_focused()


def test_stop_by_keyboard_returns_focus_to_the_message_box(page, streaming, bedrock):
    bedrock.then(CHAT, stream_answer(PLAIN_REPLY, tokens_per_second=15))
    open_chat(page)
    send(page, "Write slowly")
    wait_for_partial_text(page)
    page.keyboard.press("Tab")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_focused()
    page.keyboard.press("Enter")
    expect(assistant(page).locator(".stop-note")).to_contain_text("Stopped before the end.")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
