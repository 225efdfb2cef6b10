"""One conversation, one order of turns (DESIGN.md): an exchange is stored only on the history it was screened with.

A follow-up's history is read with the conversation's turn count, and its exchange's transaction stores it only
if that count has not moved (repositories.exchange_store). When another exchange was stored meanwhile, the
message is screened again, in the context of the conversation as it now is: if that verdict is malicious it is
blocked (and queued for moderators) with nothing stored; else it is stored after the other one. Screening again
rather than refusing keeps both messages of a user who typed in two tabs; the reply itself was written on the
history the message was first screened with, so the chat model was shown nothing that screening had not seen.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatapp import repositories
from chatapp.exceptions import ConversationBusy
from chatapp.repositories import MessageItem
from core import observability
from security.services.screening import PromptLookup, prompt_screen, prompt_verdict_store

# Each miss means another exchange of this conversation was stored first (CHAT_RATE_LIMIT bounds how many): ten
# lets ten messages sent at once all land.
STORE_ATTEMPTS = 10


@dataclass(frozen=True)
class History:
    """The messages of a conversation read for a reply, and its turn count at that read (0: none stored yet)."""

    messages: list[MessageItem] = field(default_factory=list)
    turns: int = 0


def exchange_store_in_order(
    *,
    owner: str,
    history: History,
    store: Callable[[History], None],
    reread: Callable[[], tuple[History, PromptLookup]],
) -> None:
    """Store the exchange after `history`; once another is stored first, screen it again after `reread()`'s history."""
    for attempt in range(STORE_ATTEMPTS):
        if attempt:
            history, lookup = reread()
            observability.record(screened_again=attempt)
            # PromptBlocked (recorded for moderators) when the message is malicious in this history: nothing stored.
            screening = prompt_screen(lookup=lookup, owner=owner)
            if screening.source == "model":
                prompt_verdict_store(result=screening)  # its verdict in this context, reused as any other
        try:
            store(history)
            return
        except repositories.TurnsMoved:
            continue
    raise ConversationBusy()  # the conversation kept moving: nothing is stored


def pair_time_after(history: History, received_at: datetime) -> datetime:
    """Return the time a pair stored after `history` is filed under: when its message was received, after the last."""
    if not history.messages:
        return received_at
    # After the last stored pair, so the conversation's order is the order its turns were stored and screened in,
    # whatever the clocks of the containers that stored them.
    last_pair_time, _ = repositories.pair_position(history.messages[-1])
    return max(received_at, datetime.fromisoformat(last_pair_time) + timedelta(microseconds=1))
