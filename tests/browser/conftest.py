"""Real headless Chromium (Debian's package) driven by Playwright, against a live server.

The live server runs in this process, so it shares moto's in-process DynamoDB and the fake Bedrock.
Screenshots go to test-artifacts/ (not committed).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PROJECT

ARTIFACTS = PROJECT / "test-artifacts"
# Playwright's sync API runs an event loop; Django's async-safety check would refuse ORM calls in it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page_with(browser, live_server, bedrock) -> Iterator[object]:
    """Open a page in a fresh browser context (own cookies) on the live server, with these context options
    (viewport, has_touch, is_mobile, forced_colors, color_scheme...); JavaScript errors on it fail the test."""
    contexts: list[object] = []
    errors: list[str] = []

    def open_page(**options):
        context = browser.new_context(
            base_url=live_server.url, **{"viewport": {"width": 1280, "height": 800}, **options}
        )
        contexts.append(context)
        opened = context.new_page()
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.set_default_timeout(10_000)
        return opened

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(page_with) -> object:
    """A page at 1280 × 800 in a fresh browser context on the live server."""
    return page_with()


def viewport(width: int) -> dict[str, int]:
    """A phone's screen at 390 px wide, a desktop's at 1280."""
    return {"width": width, "height": 844 if width < 768 else 800}


def show_sidebar(page) -> None:
    """Open the conversations on a small screen (on a wide one they are always there)."""
    from playwright.sync_api import expect

    toggle = page.get_by_role("button", name="Show conversations")
    if toggle.is_visible():
        toggle.click()
        expect(page.get_by_role("button", name="New chat")).to_be_visible()


def axe_violations(page) -> list[dict]:
    """Run axe-core (every rule, every impact) on the page as it is now; return its violations, briefly."""
    from axe_playwright_python import __file__ as axe_package

    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated, not a <script>: the page's CSP (rightly) refuses inline scripts.
        page.evaluate((Path(axe_package).parent / "axe.min.js").read_text())
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
        }))"""
    )


@pytest.fixture
def patient_expectations() -> Iterator[None]:
    """Give replies time: the machine is shared, and a reply builds fresh model clients (about a second)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default


def screenshot(page, name: str) -> Path:
    """Save a screenshot of the page under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
