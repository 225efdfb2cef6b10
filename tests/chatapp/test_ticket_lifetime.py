"""A streaming ticket lives no longer than the session that asked for it, and a session holds few of them."""

import json
import time
from datetime import UTC, datetime, timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.test import RequestFactory

from chatapp.chat.socket import socket_message
from chatapp.repositories import ConversationItem, TicketItem
from fakes.connections import websocket_event
from tests.support import ApiClient

WS_URL = "wss://abc123.execute-api.us-east-1.amazonaws.com/dev"


@pytest.fixture
def streaming(settings, socket_connections, bedrock, db):
    settings.WEBSOCKET_URL = WS_URL
    return socket_connections


def ticket_of(api: ApiClient) -> str:
    return api.get("/api/v1/session").json()["websocket"]["ticket"]


def session_of(api: ApiClient):
    return import_module(settings.SESSION_ENGINE).SessionStore(api.http.cookies["sessionid"].value)


def socket_chat(connections, ticket: str, connection_id: str) -> dict:
    """Send one chat frame with `ticket`; return the last frame the client got."""
    frame = {"action": "chat", "ticket": ticket, "message": "hi", "request_id": connection_id}
    event = websocket_event("MESSAGE", connection_id=connection_id, body=json.dumps(frame))
    socket_message(event, SimpleNamespace(aws_request_id=connection_id))
    return connections.frames[connection_id][-1]


def assert_ticket_refused(frame: dict) -> None:
    assert frame["type"] == "error" and frame["error"]["code"] == "ticket_invalid", frame


def end_by_flush(session) -> None:
    session.load()
    session.flush()  # what sign-out (logout) does


def end_by_expiry(session) -> None:
    session.load()
    session.set_expiry(datetime.now(tz=UTC) - timedelta(seconds=1))
    session.save()


def end_by_cycled_key(session) -> None:
    session.load()
    session.cycle_key()  # what sign-in (login) does to the session it finds


@pytest.mark.parametrize("end_session", [end_by_flush, end_by_expiry, end_by_cycled_key])
def test_a_ticket_stops_working_when_its_session_ends(streaming, end_session):
    api = ApiClient()
    ticket = ticket_of(api)
    assert socket_chat(streaming, ticket, "before")["type"] == "done"  # and this warm process now knows the ticket
    end_session(session_of(api))
    assert_ticket_refused(socket_chat(streaming, ticket, "after"))


@pytest.mark.parametrize("sign", ["in", "out"])
def test_signing_in_or_out_ends_the_tickets_handed_out_before(streaming, sign):
    api = ApiClient()
    ticket = ticket_of(api)
    assert socket_chat(streaming, ticket, "before")["type"] == "done"
    request = RequestFactory().get("/")
    request.session = session_of(api)
    request.user = get_user_model().objects.create_user("reader", password="a long passphrase")  # noqa: S106
    if sign == "in":
        login(request, request.user, backend="django.contrib.auth.backends.ModelBackend")
    else:
        logout(request)
    assert_ticket_refused(socket_chat(streaming, ticket, "after"))


def test_a_session_holds_a_bounded_number_of_live_tickets_however_often_it_asks(streaming, monkeypatch):
    api = ApiClient()
    started = time.time()
    tickets = []
    for minute in range(0, 40, 2):  # twenty asks over 40 minutes, past a ticket's lifetime
        monkeypatch.setattr(time, "time", lambda minute=minute: started + minute * 60)
        tickets.append(ticket_of(api))
    items = [item for item in ConversationItem.scan() if isinstance(item, TicketItem)]
    assert len(items) == 1, f"{len(items)} ticket items for one session"
    assert socket_chat(streaming, tickets[-1], "latest")["type"] == "done"


def test_a_ticket_still_serves_its_session_while_it_lives(streaming):
    api = ApiClient()
    first, second = ticket_of(api), ticket_of(api)
    assert socket_chat(streaming, first, "first")["type"] == "done"
    assert socket_chat(streaming, second, "second")["type"] == "done"
    assert_ticket_refused(socket_chat(streaming, ticket_of(ApiClient()) + "x", "forged"))
