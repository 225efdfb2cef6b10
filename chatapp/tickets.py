"""WebSocket tickets: what stands for a caller's owner (session or user) on the socket, instead of cookies and CSRF.

A ticket is a random id, signed (django.core.signing, its own salt, with a timestamp), whose owner is stored in
the conversations table. The session key never leaves the server: a signed blob carrying it would let anyone
who sees a ticket (a log, a proxy) read the key and take over the session, whereas a ticket id is worth a
socket chat for WEBSOCKET_TICKET_SECONDS at most. The signature turns forged tickets away without a read.
"""

import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing

from chatapp import repositories
from chatapp.exceptions import TicketInvalid

SALT = "chatapp.websocket-ticket"
# A ticket's owner never changes, so a warm process remembers the last ones it read: a socket's later
# messages then start without that DynamoDB read (the signature, checked first, still bounds the ticket's age).
_KNOWN_OWNERS_MAX = 1024
_known_owners: OrderedDict[str, str] = OrderedDict()
_known_owners_lock = threading.Lock()


def socket_ticket_issue(*, owner: str) -> str:
    """Return a new ticket for `owner`, valid for WEBSOCKET_TICKET_SECONDS."""
    ticket_id = secrets.token_urlsafe(18)
    expires_at = datetime.now(tz=UTC) + timedelta(seconds=settings.WEBSOCKET_TICKET_SECONDS)
    repositories.ticket_put(ticket_id, owner=owner, expires_at=expires_at)
    return signing.dumps(ticket_id, salt=SALT, compress=False)


def socket_ticket_id(*, ticket: str) -> str:
    """Return the id inside a genuine, unexpired ticket (no I/O); raise TicketInvalid for any other."""
    try:
        return str(signing.loads(ticket, salt=SALT, max_age=settings.WEBSOCKET_TICKET_SECONDS))
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise TicketInvalid(cause=exc) from exc


def socket_ticket_owner(*, ticket: str) -> str:
    """Return the owner `ticket` stands for; raise TicketInvalid when it is missing, forged or expired."""
    ticket_id = socket_ticket_id(ticket=ticket)
    with _known_owners_lock:
        if (owner := _known_owners.get(ticket_id)) is not None:
            _known_owners.move_to_end(ticket_id)
            return owner
    owner = repositories.ticket_owner(ticket_id)
    if owner is None:
        raise TicketInvalid(cause=LookupError("no live ticket with that id"))
    with _known_owners_lock:
        _known_owners[ticket_id] = owner
        while len(_known_owners) > _KNOWN_OWNERS_MAX:
            _known_owners.popitem(last=False)
    return owner
