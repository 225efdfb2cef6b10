"""Whether a reply leaks the system prompt, judged on its letters alone, in one pass over the text.

A text's *letters* are its letters and digits, casefolded, without accents (NFKD, marks dropped) and without
anything else: spaces, punctuation, separators and invisible characters all go. Spacing out the canary, putting a
`|` every 50 characters through the prompt, or changing its case leaves the letters as they were.

A reply leaks when its letters contain the canary's, CANARY_PART_LETTERS of the canary's secret digits in a row,
or LEAK_RUN_LETTERS of the prompt's letters in a row. `LeakScan` reads a reply piece by piece, turning each
character into letters once and comparing only the windows that end in new letters against sets built once per
prompt, so a reply's check costs time in proportion to its length. It can start from the end of the
conversation's earlier replies, so that a leak split over a reply cut at max_tokens and its continuation is seen.
"""

import functools
import unicodedata
from collections import deque
from dataclasses import dataclass

# A reply that repeats this many of the prompt's letters in a row (about 60 characters of English, 10 words)
# is leaking it, not quoting a phrase of it.
LEAK_RUN_LETTERS = 51
# This many of the canary's secret digits in a row are part of the canary: 16^8 values, never met by chance.
CANARY_PART_LETTERS = 8


@functools.lru_cache(maxsize=4096)
def _char_letters(char: str) -> str:
    if char.isascii():
        return char.lower() if char.isalnum() else ""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(part for part in decomposed if part.isalnum())


def letters(text: str) -> str:
    """Return the letters and digits of `text`, casefolded and without accents: what the leak check compares."""
    return "".join(map(_char_letters, text))


@dataclass(frozen=True)
class _Prompt:
    letters: str  # the prompt's, and the canary's after them (in case the prompt lacks it)
    canary: str
    secret_start: int  # where the canary's secret digits begin in `canary` (after its public word)
    runs: frozenset[str]
    canary_parts: frozenset[str]


@functools.lru_cache(maxsize=16)
def _prompt(system_prompt: str, canary: str) -> _Prompt:
    canary_letters = letters(canary)
    prompt_letters = letters(system_prompt) + canary_letters
    secret = letters(canary.rsplit("-", 1)[-1])
    runs = {prompt_letters[i : i + LEAK_RUN_LETTERS] for i in range(len(prompt_letters) - LEAK_RUN_LETTERS + 1)}
    parts = {secret[i : i + CANARY_PART_LETTERS] for i in range(len(secret) - CANARY_PART_LETTERS + 1)}
    secret_start = len(canary_letters) - len(secret)
    return _Prompt(prompt_letters, canary_letters, secret_start, frozenset(runs), frozenset(parts))


class LeakScan:
    """The letters of a reply read so far, checked as they come: `feed` it text, then read `leak`."""

    def __init__(self, *, system_prompt: str, canary: str, earlier: str = "") -> None:
        self._prompt = _prompt(system_prompt, canary)
        self._keep = max(LEAK_RUN_LETTERS, len(self._prompt.canary)) - 1  # letters a window can reach back
        self._tail = _last_letters(earlier, self._keep)  # earlier replies' letters start this reply's windows
        # Where each letter of the tail is in this reply (earlier replies' letters count as its start).
        self._positions: deque[int] = deque([0] * len(self._tail), maxlen=self._keep)
        self.length = 0
        self.leak: str | None = None

    def feed(self, text: str) -> None:
        """Read the next piece of the reply; set `leak` when the reply now leaks the prompt."""
        new: list[str] = []
        for offset, char in enumerate(text):
            for letter in _char_letters(char):
                new.append(letter)
                self._positions.append(self.length + offset)
        self.length += len(text)
        window, first_new = self._tail + "".join(new), len(self._tail)
        self._tail = window[-self._keep :]
        if self.leak is None:
            self.leak = self._leak_in(window, first_new)

    def _leak_in(self, window: str, first_new: int) -> str | None:
        prompt = self._prompt
        if prompt.canary in window[max(0, first_new - len(prompt.canary) + 1) :]:
            return "the reply contains the system prompt's canary"
        if _any_window(window, first_new, CANARY_PART_LETTERS, prompt.canary_parts):
            return "the reply contains part of the system prompt's canary"
        if _any_window(window, first_new, LEAK_RUN_LETTERS, prompt.runs):
            return f"the reply repeats {LEAK_RUN_LETTERS}+ letters of the system prompt in a row"
        return None

    def held_from(self) -> int:
        """Return where the tail that could still grow into a leak begins (`length` when there is none)."""
        # The longest tail whose letters occur in the prompt (the canary is part of it): ordinary text rarely ends
        # in more than a few letters the prompt contains.
        held, prompt = 0, self._prompt.letters
        while held < len(self._tail) and self._tail[-held - 1 :] in prompt:
            held += 1
        return self._positions[-held] if held else self.length

    def canary_started_from(self) -> int | None:
        """Return where the reply's end begins the canary past its public word (some secret digits), or None."""
        canary = self._prompt.canary
        for size in range(min(len(canary), len(self._tail)), self._prompt.secret_start, -1):
            if self._tail.endswith(canary[:size]):
                return self._positions[-size]
        return None


def reply_leak(reply: str, *, system_prompt: str, canary: str) -> str | None:
    """Return why `reply` leaks the system prompt (its canary, part of it, or a long run of it), or None."""
    scan = LeakScan(system_prompt=system_prompt, canary=canary)
    scan.feed(reply)
    return scan.leak


def _any_window(window: str, first_new: int, size: int, wanted: frozenset[str]) -> bool:
    """Return True when a `size`-letter window of `window` that ends past `first_new` is in `wanted`."""
    return any(window[end - size : end] in wanted for end in range(max(first_new + 1, size), len(window) + 1))


def _last_letters(text: str, count: int) -> str:
    """Return the last `count` letters of `text`, reading it from the end only as far as they reach."""
    found: list[str] = []
    total = 0
    for char in reversed(text):
        if total >= count:
            break
        if part := _char_letters(char):
            found.append(part)
            total += len(part)
    return "".join(reversed(found))[-count:] if count else ""
