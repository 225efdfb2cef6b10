"""The chat pipeline's last step: the user message and its reply stored after the history they were screened with."""

import uuid
from datetime import datetime

from chatapp import repositories
from chatapp.chat.events import ChatReply
from chatapp.chat.reads import history_and_lookup, stored_reply
from chatapp.chat.replacement import STALE_REPLACEMENT
from chatapp.chat.turn_order import History, exchange_store_in_order, pair_time_after
from chatapp.repositories import Message, StoredPair
from core import observability
from core.exceptions import Conflict, NotFound
from security.services.screening import (
    ScreeningResult,
)

TITLE_CHARS = 60


def reply_store(
    *,
    owner: str,
    conversation_id: str | None,
    new_conversation_id: str,
    request_id: str | None,
    screening: ScreeningResult,
    history: History,
    raw: str,
    pair_times: tuple[datetime, datetime],
    content: str,
    stop_reason: str,
    replaces: StoredPair | None = None,
) -> ChatReply:
    """Store the pair and request marker after the `history` it was screened on; return the reply or an earlier one."""
    received_at, replied_at = pair_times
    assistant = new_message("assistant", content, replied_at, stop_reason=stop_reason)
    try:
        with observability.stage("history_write"):
            # After the `history` it was screened with, or screened again after the turns stored since.
            exchange_store_in_order(
                owner=owner,
                history=history,
                store=lambda after: repositories.exchange_store(
                    owner=owner,
                    conversation_id=new_conversation_id,
                    title=None if conversation_id else conversation_title(screening.screened),
                    pair=(new_message("user", screening.screened, pair_time_after(after, received_at)), assistant),
                    request_id=request_id,
                    verdict_source=screening.source,
                    now=replied_at,
                    after_turns=after.turns,
                    replaces=replaces,
                ),
                reread=lambda: history_and_lookup(owner, new_conversation_id, raw)[:2],
            )
    except repositories.RequestAlreadyStored:
        answered = stored_reply(owner, request_id or "")
        if answered is None:
            raise
        observability.record(idempotent_replay=True)
        return answered
    except repositories.ConversationGone:
        raise NotFound("The conversation was deleted.") from None
    except repositories.ExchangeStale:
        # A replacement takes the place of the pair it `replaces` only on the very history it was screened with:
        # it is never screened again, as the pair it was to replace may be gone, or no longer last.
        raise Conflict(STALE_REPLACEMENT) from None
    return ChatReply(new_conversation_id, assistant, screening.source)


def conversation_title(text: str) -> str:
    """Return a title from the first message: its first line, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut.rstrip(".,;:") + "…"


def new_message(role: str, content: str, at: datetime, *, stop_reason: str | None = None) -> Message:
    return Message(
        id=str(uuid.uuid4()), role=role, content=content, created_at=at.isoformat(), stop_reason=stop_reason
    )
