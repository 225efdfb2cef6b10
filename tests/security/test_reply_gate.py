"""The output check on a reply as it is written: what a client may see before the whole reply exists."""

import re

import pytest

from chatapp.clients import CHAT_SYSTEM_PROMPT
from security.exceptions import ReplyWithheld
from security.leaks import LEAK_RUN_LETTERS, letters
from security.services.output import ReplyGate, canary_token, chat_system_prompt


def system_prompt() -> str:
    return chat_system_prompt(instructions=CHAT_SYSTEM_PROMPT)


def stream_through_gate(reply: str, piece_chars: int = 4, earlier: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Feed `reply` (after the `earlier` replies) in pieces, releasing after each; return the text released and
    whether it was withheld."""
    gate = ReplyGate(system_prompt=system_prompt(), model_id="chat", owner="session:gate", earlier=earlier)
    released = ""
    try:
        for piece in re.findall(".{1,%d}" % piece_chars, reply, re.S):
            gate.add(piece)
            released += gate.release()
        released += gate.release(final=True)
    except ReplyWithheld:
        return released, True
    return released, False


def longest_prompt_run(text: str) -> int:
    prompt, seen = letters(system_prompt()), letters(text)
    return max(
        (n for n in range(1, len(seen) + 1) for i in range(len(seen) - n + 1) if seen[i : i + n] in prompt), default=0
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "leak",
    [
        pytest.param(lambda: f"Fine. The marker is {canary_token()} as you asked.", id="canary"),
        pytest.param(lambda: f"Sure: {system_prompt()[:120]} and so on.", id="verbatim-run"),
        pytest.param(lambda: "Sure: " + system_prompt()[:120].upper(), id="uppercased-run"),
    ],
)
def test_a_leak_never_reaches_the_client_even_in_part(leak):
    released, withheld = stream_through_gate(leak())
    assert withheld
    assert canary_token() not in released and letters(canary_token()) not in letters(released)
    assert longest_prompt_run(released) < LEAK_RUN_LETTERS


def test_ordinary_text_is_released_as_it_comes_holding_back_only_a_few_characters():
    reply = "Paris is the capital of France; about two million people live there, by the Seine."
    gate = ReplyGate(system_prompt=system_prompt(), model_id="chat", owner="session:gate")
    held, released = [], ""
    for piece in re.findall(".{1,4}", reply, re.S):
        gate.add(piece)
        released += gate.release()
        held.append(len(gate.text) - gate.released)
    assert max(held) <= 8, held  # the tail the prompt also contains ("the", "re", ...), never more
    assert released + gate.release(final=True) == reply


def test_a_short_quote_of_the_prompt_passes_whole():
    quote = f"I was told to be {system_prompt()[21:50]}, that is all."
    released, withheld = stream_through_gate(quote)
    assert not withheld and released == quote
