"""WebSocket tickets: items of the conversations table standing for an owner and the session that asked."""

from datetime import UTC, datetime

from pynamodb.attributes import (
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist

from chatapp.repositories.items import ConversationItem


class TicketItem(ConversationItem, discriminator="ticket"):
    """A WebSocket ticket: a random id standing for its owner, so the ticket never carries the session key."""

    ticket_owner = UnicodeAttribute()
    # The session that asked for it: the ticket works only while that session lives (none: issued before that).
    ticket_session = UnicodeAttribute(null=True)


def ticket_put(ticket_id: str, *, owner: str, session_key: str, expires_at: datetime) -> None:
    """Store (or renew) a ticket id for `owner` and its session until `expires_at` (then the TTL deletes it)."""
    TicketItem(
        f"ticket#{ticket_id}", "ticket", ticket_owner=owner, ticket_session=session_key, expires_at=expires_at
    ).save()


def ticket_holder(ticket_id: str) -> tuple[str, str] | None:
    """Return the owner and session key a live ticket id stands for, or None."""
    try:
        item = ConversationItem.get(f"ticket#{ticket_id}", "ticket", consistent_read=True)
    except DoesNotExist:
        return None
    live = item.expires_at is not None and item.expires_at > datetime.now(tz=UTC)
    if not (isinstance(item, TicketItem) and live and item.ticket_session):
        return None
    return item.ticket_owner, item.ticket_session
