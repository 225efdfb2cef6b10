"""The page under a path prefix, as on Lambda where API Gateway serves the app below `/{stage}/`."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREFIX = "/dev"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class StaticFiles(StaticFilesHandler):
    """Serve /static/ below the prefix or not, as WhiteNoise does on Lambda (it matches PATH_INFO)."""

    def get_base_url(self) -> str:
        return "/static/"

    def file_path(self, url: str) -> str:
        return super().file_path(url.removeprefix(PREFIX))


class StagePrefix:
    """Serve the app below PREFIX the way Zappa does (SCRIPT_NAME); refuse any other path but static files.

    Static files are let through with or without the prefix: their URL follows STATIC_URL, which the
    deployment settings own. Everything else the page asks for must carry the prefix, or it gets a 404.
    """

    def __init__(self, app: object) -> None:
        self.app = app
        self.unprefixed: list[str] = []

    def __call__(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        path = environ["PATH_INFO"]
        if path.startswith(PREFIX + "/"):
            environ["SCRIPT_NAME"], environ["PATH_INFO"] = PREFIX, path.removeprefix(PREFIX)
        elif not path.startswith("/static/"):
            self.unprefixed.append(path)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not below the stage prefix"]
        return self.app(environ, start_response)


def serve_below_prefix(app: Callable) -> Iterator[tuple[str, StagePrefix]]:
    staged = StagePrefix(app)
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(staged)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # "localhost": the live server has added that name to ALLOWED_HOSTS.
    yield f"http://localhost:{server.server_address[1]}{PREFIX}/", staged
    server.shutdown()
    server.server_close()


@pytest.fixture
def staged_server(live_server) -> Iterator[tuple[str, StagePrefix]]:
    yield from serve_below_prefix(StaticFiles(WSGIHandler()))


@pytest.fixture
def production_static_server(live_server, settings, tmp_path: Path) -> Iterator[tuple[str, StagePrefix]]:
    """Static files as production has them: collected into STATIC_ROOT and served by WhiteNoise's middleware."""
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    call_command("collectstatic", interactive=False, verbosity=0)
    yield from serve_below_prefix(WSGIHandler())  # WhiteNoise reads STATIC_ROOT when the middleware is built


@pytest.mark.parametrize("server", ["staged_server", "production_static_server"])
def test_page_works_under_the_lambda_stage_prefix(page, bedrock, server, request):
    url, app = request.getfixturevalue(server)
    page.goto(url)
    expect(page.get_by_label("Message")).to_be_focused()
    box = page.get_by_label("Message")
    box.fill("hello from the stage")
    box.press("Enter")
    expect(page.locator(".message[data-role='assistant']")).to_have_text(["Echo: hello from the stage"])
    expect(page.locator("#conversation-list .conversation-link")).to_have_text(["hello from the stage"])
    assert page.url.startswith(url + "?c=")

    page.reload()
    expect(page.locator("#thread .message")).to_have_text(["hello from the stage", "Echo: hello from the stage"])
    assert app.unprefixed == []
