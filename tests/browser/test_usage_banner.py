"""The page and the spending ceilings, in real Chromium: a warning when little of today's allowance is left, and
when it resets once it is gone; a message over the ceiling is refused with a notice saying so."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from fakes.bedrock import text_answer
from tests.browser.conftest import screenshot
from tests.browser.test_chat_page import messages, open_chat, send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def reply_costing(dollars: float):
    """A reply whose reported usage costs about `dollars` (its output tokens on Sonnet's US profile)."""
    answer = text_answer("A costly reply.")
    answer.body["usage"] = {"inputTokens": 10, "outputTokens": round(dollars / 16.5e-6), "totalTokens": 0}
    return answer


def test_the_page_warns_when_little_is_left_then_says_when_it_resets(page, bedrock):
    bedrock.then(settings.BEDROCK_CHAT_MODEL_ID, reply_costing(0.85), reply_costing(0.2))
    open_chat(page)
    banner = page.locator("#usage-banner")
    expect(banner).to_be_hidden()

    send(page, "first")
    expect(messages(page, "assistant")).to_have_count(1)
    expect(banner).to_contain_text(re.compile(r"Only \d+% of today's allowance is left\. It resets at"))

    send(page, "second")  # its reported usage takes the rest
    expect(messages(page, "assistant")).to_have_count(2)
    expect(banner).to_contain_text(re.compile(r"You have used today's allowance\. It resets at .+ \(in \d+"))

    send(page, "third")
    notice = page.locator("#thread .message[data-role='notice']")
    expect(notice).to_contain_text("Today's allowance is used up")
    expect(notice).to_contain_text(re.compile(r"resets at \d\d:\d\d UTC"))
    assert len(bedrock.calls_to(settings.BEDROCK_CHAT_MODEL_ID)) == 2
    screenshot(page, "allowance-used-up")
