"""axe-core (every rule, every impact) on the page as people see it, at 390 and 1280 px, light and dark: the empty
page, a reply streaming and streamed, a blocked message, and the admin's sign-in. Screenshots: test-artifacts/axe-*."""

import pytest
from playwright.sync_api import expect

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from tests.browser.conftest import axe_violations, screenshot
from tests.sockets.conftest import gateway, moto_url  # noqa: F401 - the gateway process and its DynamoDB
from tests.support import CHAT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("patient_expectations"),
]

REPLY = (
    "Here is **the plan**, with [a link](https://example.com/docs):\n\n"
    + "\n".join(f"- Step {n}: something to do, with `code`." for n in range(1, 6))
    + "\n\n| Column A | Column B | Column C | Column D | Column E | Column F |\n|---|---|---|---|---|---|\n"
    + "| one | two | three | four | five | six |\n\n"
    + "```python\nprint('a line of code long enough to scroll sideways')\n```\n"
)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_axe_finds_no_violation_on_the_page_in_any_state(page_with, settings, gateway, bedrock, width, scheme):  # noqa: F811
    settings.WEBSOCKET_URL = gateway.url
    size = {"width": width, "height": 844 if width < 768 else 800}
    page = page_with(viewport=size, color_scheme=scheme)
    found: dict[str, list[dict]] = {}
    page.goto("/")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    found["empty page"] = axe_violations(page)

    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=20))
    box = page.get_by_role("textbox", name="Message")
    box.fill("Plan my week")
    box.press("Enter")
    expect(page.locator("[data-state='streaming'] li").first).to_be_visible()
    found["reply streaming"] = axe_violations(page)
    expect(page.locator(".message[data-role='assistant'] pre")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    found["reply streamed"] = axe_violations(page)
    screenshot(page, f"axe-streamed-{width}-{scheme}")

    box.fill(f"Please {MALICIOUS_MARKER}")
    box.press("Enter")
    expect(page.locator(".notice[data-kind='blocked']")).to_be_visible()
    found["blocked message"] = axe_violations(page)
    screenshot(page, f"axe-blocked-{width}-{scheme}")

    page.goto("/admin/login/?next=/admin/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    found["admin sign-in"] = axe_violations(page)
    screenshot(page, f"axe-admin-sign-in-{width}-{scheme}")
    assert {state: violations for state, violations in found.items() if violations} == {}
