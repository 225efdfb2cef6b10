"""A frontend hosted on another origin (examples/other-origin.html), in real Chromium, against the live server
and the local WebSocket gateway. A second origin, listed in CORS_ALLOWED_ORIGINS, chats with credentials over
POST and over the socket; a third, unlisted, can read nothing and its socket is refused.

The pages are served by a tiny http server of their own on other ports of `localhost`, the live server's host:
the same site, other origins, so the Lax cookies are sent and CORS alone decides what a page may read.
The listed page signs in through allauth's headless API (/_allauth/browser/v1/) before it chats.
"""

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from fakes.bedrock import stream_answer
from tests.accounts.support import PASSWORD, make_person
from tests.browser.conftest import screenshot
from tests.sockets.conftest import Gateway, moto_url  # noqa: F401 - moto_url: the gateway's DynamoDB
from tests.support import CHAT, PROJECT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPLY = " ".join(f"Sentence {n} of a reply streamed to another origin." for n in range(12))


class StaticSite:
    """A folder over http on a free port: one more origin, http://localhost:PORT."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page_url(self, api: str) -> str:
        return f"{self.origin}/other-origin.html?api={api}"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def readme_example(api: str) -> str:
    """Return the README's minimal frontend, pointed at `api`."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("## Other frontends (CORS)", 1)[1]
    html = section.split("```html\n", 1)[1].split("```", 1)[0]
    assert 'const api = "https://chat.example.com";' in html
    return html.replace("https://chat.example.com", api)


@pytest.fixture(scope="module")
def sites(live_server, tmp_path_factory) -> Iterator[tuple[StaticSite, StaticSite]]:
    """Two more origins serving examples/other-origin.html and the README's example: one listed, one not."""
    folder = tmp_path_factory.mktemp("frontend")
    shutil.copy(PROJECT / "examples" / "other-origin.html", folder)
    (folder / "readme-example.html").write_text(readme_example(live_server.url))
    listed, unlisted = StaticSite(folder), StaticSite(folder)
    yield listed, unlisted
    for site in (listed, unlisted):
        site.server.shutdown()


@pytest.fixture(scope="module")
def listed_gateway(sites, moto_url, live_server, tmp_path_factory) -> Iterator[Gateway]:  # noqa: F811
    """The WebSocket gateway as deployed with CORS_ALLOWED_ORIGINS naming the second origin."""
    server = Gateway(
        dynamodb_url=moto_url,
        bedrock_url=os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
        workdir=tmp_path_factory.mktemp("cors-gateway"),
        CORS_ALLOWED_ORIGINS=sites[0].origin,
        DJANGO_CSRF_TRUSTED_ORIGINS=live_server.url,
    )
    yield server
    server.stop()


@pytest.fixture
def api(settings, sites, live_server, listed_gateway) -> str:
    """The live server with the second origin listed (as base.py does from CORS_ALLOWED_ORIGINS)."""
    # The same values for every test of this module: Django's CSRF middleware caches its trusted origins.
    settings.CORS_ALLOWED_ORIGINS = [sites[0].origin]
    settings.CSRF_TRUSTED_ORIGINS = [*settings.CSRF_TRUSTED_ORIGINS, sites[0].origin]
    settings.WEBSOCKET_URL = listed_gateway.url
    return live_server.url


@pytest.fixture
def open_page(browser, bedrock) -> Iterator:
    contexts = []

    def opened(url: str):
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        return page

    yield opened
    for context in contexts:
        context.close()


def chat(page, message: str) -> None:
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=20_000)


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text(f"Signed in as {email}")


def test_a_listed_origin_signs_in_through_the_headless_api_then_chats_and_streams(api, sites, open_page, bedrock):
    make_person("ada@example.com")
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=150), stream_answer("A second streamed reply."))
    page = open_page(sites[0].page_url(api))
    expect(page.locator("#status")).to_contain_text("stream over a WebSocket")
    expect(page.locator("#who")).to_have_text("Not signed in")
    sign_in(page, "ada@example.com")
    chat(page, "Hello from another origin")
    expect(page.locator("#log .assistant")).to_have_text(REPLY)
    chat(page, "And a follow-up")
    expect(page.locator("#log .assistant").nth(1)).to_have_text("A second streamed reply.")
    # Reading the session's conversations needs its cookie, sent cross-origin: one conversation, two turns.
    expect(page.locator("#conversations")).to_have_text("Your conversations: 1")
    screenshot(page, "other-origin-listed-streaming")
    # The conversation is the person's, not the browser session's: it is there from a fresh sign-in elsewhere.
    other = open_page(sites[0].page_url(api))
    sign_in(other, "ada@example.com")
    titles = other.evaluate(
        "async (api) => (await (await fetch(api + '/api/v1/conversations', {credentials: 'include'})).json())"
        ".conversations.map((c) => c.title)",
        api,
    )
    assert titles == ["Hello from another origin"]


def test_a_listed_origin_chats_over_post_with_cookie_and_csrf_token(api, sites, open_page, bedrock, settings):
    settings.WEBSOCKET_URL = ""
    bedrock.then(CHAT, stream_answer("A reply by POST."))
    page = open_page(sites[0].page_url(api))
    expect(page.locator("#status")).to_contain_text("come by POST")
    chat(page, "Hello by POST")
    expect(page.locator("#log .assistant")).to_have_text("A reply by POST.")
    expect(page.locator("#conversations")).to_have_text("Your conversations: 1")


def test_the_readme_example_chats_from_a_listed_origin(api, sites, open_page, bedrock):
    bedrock.then(CHAT, stream_answer("Hello, README."))
    page = open_page(f"{sites[0].origin}/readme-example.html")
    page.locator("#message").fill("Hello from the README")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#log")).to_contain_text("Assistant: Hello, README.")


def test_an_unlisted_origin_can_read_nothing_and_its_socket_is_refused(api, sites, open_page, listed_gateway, bedrock):
    page = open_page(sites[1].page_url(api))
    expect(page.locator("#status")).to_have_attribute("data-state", "refused")
    outcomes = page.evaluate(
        """async ([api, socketUrl]) => {
            const read = async (path, options) => {
                try { await (await fetch(api + path, {credentials: "include", ...options})).text(); return "read"; }
                catch (error) { return "blocked"; }
            };
            const socket = await new Promise((resolve) => {
                const ws = new WebSocket(socketUrl);
                ws.onopen = () => { ws.close(); resolve("open"); };
                ws.onerror = () => resolve("refused");
            });
            return {
                session: await read("/api/v1/session"),
                conversations: await read("/api/v1/conversations"),
                health: await read("/api/v1/health", {credentials: "omit"}),
                chat: await read("/api/v1/ai/chat", {method: "POST", headers: {"Content-Type": "application/json"},
                                                     body: JSON.stringify({message: "hi"})}),
                socket,
            };
        }""",
        [api, listed_gateway.url],
    )
    assert outcomes == {
        "session": "blocked",
        "conversations": "blocked",
        "health": "blocked",
        "chat": "blocked",
        "socket": "refused",
    }
    assert bedrock.calls == []  # the preflight stopped the chat POST: no model was called
    screenshot(page, "other-origin-unlisted-refused")
