"""WebSocket tickets: what stands for a caller's owner (session or user) on the socket, instead of cookies and CSRF.

A ticket is an id, signed (django.core.signing, its own salt, with a timestamp), whose owner and session are stored
in the conversations table. The session key never leaves the server: a signed blob carrying it would let anyone
who sees a ticket (a log, a proxy) read the key and take over the session, whereas a ticket is worth a socket chat
for WEBSOCKET_TICKET_SECONDS at most, and only while the session that asked for it lives. The signature turns
forged tickets away without a read.

A ticket ends with its session. Its id is a keyed digest of the session key and owner, so a session holds one
ticket item however often it asks (each ask renews it), and the item names the session: every chat message checks
that this session still exists, through the session engine. Signing out (logout() flushes the session), signing in
(login() cycles the session key, deleting the old session), and expiry all end it; nothing else needs to be told.
"""

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.core import signing

from chatapp import repositories
from chatapp.exceptions import TicketInvalid

SALT = "chatapp.websocket-ticket"
# A ticket's holder never changes, so a warm process remembers the last ones it read: a socket's later messages
# then start without that DynamoDB read (the signature, checked first, still bounds the ticket's age, and the
# session's check runs for every message).
_KNOWN_HOLDERS_MAX = 1024
_known_holders: OrderedDict[str, "TicketHolder"] = OrderedDict()
_known_holders_lock = threading.Lock()


@dataclass(frozen=True)
class TicketHolder:
    """Whom a ticket stands for: the owner, and the session that asked for it."""

    owner: str
    session_key: str


def socket_ticket_issue(*, owner: str, session_key: str) -> str:
    """Return a ticket for `owner`, valid for WEBSOCKET_TICKET_SECONDS while the session `session_key` lives."""
    ticket_id = _session_ticket_id(owner=owner, session_key=session_key)
    expires_at = datetime.now(tz=UTC) + timedelta(seconds=settings.WEBSOCKET_TICKET_SECONDS)
    repositories.ticket_put(ticket_id, owner=owner, session_key=session_key, expires_at=expires_at)
    return signing.dumps(ticket_id, salt=SALT, compress=False)


def socket_ticket_id(*, ticket: str) -> str:
    """Return the id inside a genuine, unexpired ticket (no I/O); raise TicketInvalid for any other."""
    try:
        return str(signing.loads(ticket, salt=SALT, max_age=settings.WEBSOCKET_TICKET_SECONDS))
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise TicketInvalid(cause=exc) from exc


def socket_ticket_holder(*, ticket: str) -> TicketHolder:
    """Return whom `ticket` stands for (TicketInvalid if none); honour it only after `socket_ticket_session_check`."""
    ticket_id = socket_ticket_id(ticket=ticket)
    with _known_holders_lock:
        if (holder := _known_holders.get(ticket_id)) is not None:
            _known_holders.move_to_end(ticket_id)
            return holder
    stored = repositories.ticket_holder(ticket_id)
    if stored is None:
        raise TicketInvalid(cause=LookupError("no live ticket with that id"))
    holder = TicketHolder(*stored)
    with _known_holders_lock:
        _known_holders[ticket_id] = holder
        while len(_known_holders) > _KNOWN_HOLDERS_MAX:
            _known_holders.popitem(last=False)
    return holder


def socket_ticket_session_check(*, holder: TicketHolder) -> None:
    """Raise TicketInvalid when the session that asked for the ticket has ended (flushed, cycled or expired)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(holder.session_key)
    session.load()  # every engine forgets the key of a session it does not find live
    if session.session_key is None:
        raise TicketInvalid(cause=LookupError("the ticket's session has ended"))


def socket_ticket_owner(*, ticket: str) -> str:
    """Return the owner `ticket` stands for; TicketInvalid when it is missing, forged, expired or its session ended."""
    holder = socket_ticket_holder(ticket=ticket)
    socket_ticket_session_check(holder=holder)
    return holder.owner


def _session_ticket_id(*, owner: str, session_key: str) -> str:
    material = f"{owner}\n{session_key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"websocket-ticket\n" + material, hashlib.sha256).hexdigest()[:32]
