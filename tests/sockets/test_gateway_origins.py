"""Through the local gateway: $connect gets the browser's Origin header as API Gateway passes it, and a page of
another origin is refused at the handshake (HTTP 403), before any frame."""

import time

import pytest
from websockets.exceptions import InvalidStatus

from fakes.bedrock import stream_answer
from tests.sockets.conftest import Socket, ticket_of
from tests.support import CHAT


def test_the_sites_own_page_opens_the_socket_and_chats(session_api, gateway, live_server, bedrock):
    bedrock.then(CHAT, stream_answer("Hello from the site's own origin."))
    socket = Socket(gateway.url, origin=live_server.url)
    try:
        socket.chat(ticket_of(session_api), "hello")
        assert socket.reply()[-1]["message"]["content"] == "Hello from the site's own origin."
    finally:
        socket.close()


@pytest.mark.parametrize("origin", ["https://evil.example.net", "http://127.0.0.1:1", "null"])
def test_a_page_of_another_origin_is_refused_at_the_handshake(gateway, live_server, origin):
    with pytest.raises(InvalidStatus) as refused:
        Socket(gateway.url, origin=origin)
    assert refused.value.response.status_code == 403
    assert wait_for_line(gateway, "socket_origin_refused", origin)


def wait_for_line(gateway, *parts: str) -> str | None:
    """Return the gateway's first log line holding every part, waiting a little for its pipe to be read."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in list(gateway.lines):
            if all(part in line for part in parts):
                return line
        time.sleep(0.05)
    return None
