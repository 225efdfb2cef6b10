"""Streaming tickets from GET /api/v1/session: opaque, bound to the caller's owner, and refused when tampered."""

import base64
import time

import pytest
from django.core import signing

from chatapp.exceptions import TicketInvalid
from chatapp.tickets import SALT, socket_ticket_owner

WS_URL = "wss://abc123.execute-api.us-east-1.amazonaws.com/dev"


@pytest.fixture
def streaming(settings):
    settings.WEBSOCKET_URL = WS_URL


def session_body(api):
    return api.get("/api/v1/session").json()


def test_session_hands_out_the_socket_url_and_a_ticket_for_its_owner(streaming, api):
    websocket = session_body(api)["websocket"]
    assert websocket["url"] == WS_URL
    session_key = api.http.cookies["sessionid"].value
    assert socket_ticket_owner(ticket=websocket["ticket"]) == f"session:{session_key}"


def test_ticket_does_not_carry_the_session_key_readably(streaming, api):
    ticket = session_body(api)["websocket"]["ticket"]
    session_key = api.http.cookies["sessionid"].value
    decoded = ticket + base64.urlsafe_b64decode(ticket.split(":")[0] + "==").decode(errors="replace")
    assert session_key not in decoded


def test_two_callers_get_tickets_for_their_own_owners(streaming, api, other_api):
    mine, theirs = session_body(api)["websocket"]["ticket"], session_body(other_api)["websocket"]["ticket"]
    assert socket_ticket_owner(ticket=mine) != socket_ticket_owner(ticket=theirs)


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" + t, lambda t: ""]
)
def test_tampered_or_missing_ticket_is_invalid(streaming, api, mangle):
    ticket = session_body(api)["websocket"]["ticket"]
    with pytest.raises(TicketInvalid):
        socket_ticket_owner(ticket=mangle(ticket))


def test_ticket_signed_for_an_unknown_id_is_invalid(db):
    with pytest.raises(TicketInvalid):
        socket_ticket_owner(ticket=signing.dumps("made-up-id", salt=SALT))


def test_ticket_is_valid_for_at_least_ten_minutes_and_then_expires(streaming, api, settings, monkeypatch):
    assert settings.WEBSOCKET_TICKET_SECONDS >= 600
    ticket = session_body(api)["websocket"]["ticket"]
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 599)
    assert socket_ticket_owner(ticket=ticket)
    monkeypatch.setattr(time, "time", lambda: issued + settings.WEBSOCKET_TICKET_SECONDS + 1)
    with pytest.raises(TicketInvalid):
        socket_ticket_owner(ticket=ticket)
