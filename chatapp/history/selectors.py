"""Reads of a person's conversations as a whole: title search, export, and the admin's feedback counts."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from chatapp import repositories, selectors
from chatapp.history import repositories as history
from chatapp.pagination import DEFAULT_LIMIT, cursor_dump, cursor_load
from chatapp.repositories import Conversation, ConversationMeta, Message, MessageItem
from chatapp.selectors import ConversationPage, conversation_owned

# The admin's chart: one bar per day, a colour per bucket (Okabe-Ito, as the moderation overview), bottom first.
FEEDBACK_BUCKETS = {
    "up": "#009E73",
    "down": "#999999",
    "down_other": "#0072B2",
    "down_unhelpful": "#56B4E9",
    "down_wrong": "#E69F00",
    "down_harmful": "#D55E00",
}
FEEDBACK_LABELS = {
    "up": "up",
    "down": "down, no reason",
    "down_other": "down: other",
    "down_unhelpful": "down: unhelpful",
    "down_wrong": "down: wrong",
    "down_harmful": "down: harmful",
}


@dataclass(frozen=True)
class ConversationExport(Conversation):
    messages: list[Message]


def conversation_search(
    *, owner: str, text: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> ConversationPage:
    """Return a page of the owner's conversations whose title contains `text` (any case) and the next page's cursor."""
    listing = f"search:{text}"
    # InvalidRequest when `cursor` was not made for this owner's search for this text.
    after = cursor_load(cursor, owner=owner, listing=listing, field="cursor") if cursor else None
    # Most recently active first; a next page may follow a short one (see `conversations_search`).
    items, position = history.conversations_search(owner, text=text, limit=limit, after=after)
    next_cursor = cursor_dump(position, owner=owner, listing=listing) if position else None
    return ConversationPage([Conversation.from_item(item) for item in items], next_cursor)


def conversation_export(*, owner: str, conversation_id: str) -> ConversationExport:
    """Return the owner's whole conversation, every message oldest first; NotFound when it is not theirs."""
    meta: ConversationMeta | None = None
    messages: list[Message] = []
    for item in repositories.conversation_items(conversation_id):
        if isinstance(item, ConversationMeta):
            meta = item
        elif isinstance(item, MessageItem):
            messages.append(Message.from_item(item))
    conversation = Conversation.from_item(conversation_owned(owner=owner, meta=meta))
    return ConversationExport(**vars(conversation), messages=messages)


def feedback_daily_counts(*, days: int = 30, today: date | None = None) -> dict[date, dict[str, int]]:
    """Return, for each of the last `days` days (oldest first), the standing feedback given that day by bucket."""
    today = today or timezone.now().date()
    window = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    counts = history.feedback_counts(window)
    return {day: {b: n for b, n in counts[day].items() if n > 0 and b in FEEDBACK_BUCKETS} for day in window}


def conversation_page(
    *, owner: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None, q: str = ""
) -> ConversationPage:
    """Return a page of the owner's conversations: those whose title contains `q`, or all when `q` is empty."""
    if q:
        return conversation_search(owner=owner, text=q, limit=limit, cursor=cursor)
    return selectors.conversation_list(owner=owner, limit=limit, cursor=cursor)
