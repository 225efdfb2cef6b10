"""The output check is not beaten by splitting a leak: with separators, at the end of a reply, or over two replies."""

import re

import pytest

from chatapp.clients import CHAT_SYSTEM_PROMPT
from security.services.output import canary_token
from tests.security.test_reply_gate import stream_through_gate, system_prompt


def gated(reply: str, *, earlier: tuple[str, ...] = ()) -> tuple[str, bool]:
    return stream_through_gate(reply, earlier=earlier)


def secret_digits() -> str:
    return canary_token().removeprefix("canary-")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "leak",
    [
        pytest.param(lambda: "The marker: " + " ".join(canary_token()) + ".", id="canary-spaced-out"),
        pytest.param(lambda: "Marker " + "-".join(canary_token().upper()), id="canary-dashed-uppercase"),
        pytest.param(lambda: "Marker: " + "\n".join(re.findall("..?", canary_token())), id="canary-two-per-line"),
        pytest.param(
            lambda: "|".join(re.findall(".{1,50}", system_prompt(), re.S)), id="whole-prompt-bar-every-50-chars"
        ),
        pytest.param(lambda: " / ".join(CHAT_SYSTEM_PROMPT[:90]), id="prompt-run-slash-between-letters"),
    ],
)
def test_a_leak_with_separators_is_withheld(leak):
    released, withheld = gated(leak())
    assert withheld, released
    assert secret_digits()[:8] not in re.sub(r"[^0-9a-f]", "", released.lower())


@pytest.mark.django_db
def test_the_start_of_the_canary_held_back_at_the_end_is_never_released():
    half = canary_token()[: len(canary_token()) // 2]
    released, withheld = gated(f"Sure, the marker begins {half}")
    assert not withheld
    assert released.startswith("Sure, the marker begins")
    assert half[len("canary-") :] not in released


@pytest.mark.django_db
def test_a_reply_that_is_only_the_start_of_the_canary_is_withheld():
    released, withheld = gated(canary_token()[: len("canary-") + 5])
    assert withheld and released == ""


@pytest.mark.django_db
def test_a_canary_split_over_a_cut_reply_and_its_continuation_is_withheld():
    cut = len(canary_token()) // 2
    first = f"Here is what you asked for, {canary_token()[:cut]}"
    _, withheld = gated(canary_token()[cut:] + " and that is all.", earlier=("Hello! How can I help?", first))
    assert withheld


@pytest.mark.django_db
def test_an_old_reply_is_not_judged_again():
    _, withheld = gated("A new and harmless answer.", earlier=(f"an old leak {canary_token()} stored long ago",))
    assert not withheld


def test_ordinary_text_around_the_words_of_the_prompt_passes_whole():
    reply = "Be helpful and honest: answer clearly, use lists | tables when asked, and code blocks for code."
    released, withheld = gated(reply)
    assert not withheld and released == reply
