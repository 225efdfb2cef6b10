"""A streaming ticket dies with the session that asked for it: signing in and out through allauth's pages ends it."""

import pytest

from tests.accounts.support import Person, make_person
from tests.chatapp.test_ticket_lifetime import WS_URL, assert_ticket_refused, socket_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def connections(settings, socket_connections, bedrock):
    settings.WEBSOCKET_URL = WS_URL
    return socket_connections


def test_signing_in_and_out_on_the_pages_ends_the_tickets_handed_out_before(connections) -> None:
    make_person("uma@example.com")
    person = Person()
    anonymous_ticket = person.refresh()["websocket"]["ticket"]
    assert socket_chat(connections, anonymous_ticket, "anonymous")["type"] == "done"

    person.sign_in("uma@example.com")
    assert_ticket_refused(socket_chat(connections, anonymous_ticket, "after-sign-in"))
    signed_in_ticket = person.refresh()["websocket"]["ticket"]
    assert socket_chat(connections, signed_in_ticket, "signed-in")["type"] == "done"
    titles = [c["title"] for c in person.get("/api/v1/conversations").json()["conversations"]]
    assert titles == ["hi", "hi"]  # the anonymous socket chat moved; the signed-in one is the person's

    person.sign_out()
    assert_ticket_refused(socket_chat(connections, signed_in_ticket, "after-sign-out"))
