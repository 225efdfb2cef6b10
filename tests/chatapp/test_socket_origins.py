"""$connect accepts the site's own pages and the listed origins, exactly (scheme and port included), and refuses
every other page, including another site on API Gateway's shared execute-api domain."""

import pytest

from chatapp.chat.socket import socket_connect
from fakes.connections import websocket_event
from tests.support import log_records

SOCKET_HOST = "wsapi123.execute-api.us-east-1.amazonaws.com"  # the domainName of fakes.connections' events
SITE_HOST = "httpapi42.execute-api.us-east-1.amazonaws.com"


def connect(origin: str | None, header: str = "Origin") -> int:
    event = websocket_event("CONNECT", connection_id="c-1")
    event["headers"] = {"Host": SOCKET_HOST, **({header: origin} if origin is not None else {})}
    return socket_connect(event)["statusCode"]


@pytest.fixture(autouse=True)
def deployed(settings):
    """A Lambda deployment: the wildcard host, the site's exact host, a custom domain and one other frontend."""
    settings.ALLOWED_HOSTS = [".execute-api.us-east-1.amazonaws.com", SITE_HOST, "chat.example.com"]
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://app.example.com"]


@pytest.mark.parametrize(
    "origin",
    [f"https://{SITE_HOST}", "https://chat.example.com", "https://app.example.com", f"https://{SOCKET_HOST}"],
)
def test_the_sites_own_pages_and_listed_origins_may_open_the_socket(origin):
    assert connect(origin) == 200
    assert connect(origin, header="origin") == 200  # HTTP header names are case-insensitive


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil-api.execute-api.us-east-1.amazonaws.com",  # another API on the shared domain
        "http://app.example.com",  # scheme
        "https://app.example.com:8443",  # port
        "https://app.example.com.evil.net",
        "null",  # a sandboxed frame or a file
        "",
    ],
)
def test_any_other_page_is_refused(origin, capsys):
    capsys.readouterr()
    assert connect(origin) == 403
    (line,) = [line for line in log_records(capsys.readouterr().out) if line.get("event") == "socket_origin_refused"]
    assert line["origin"] == origin


def test_a_client_that_is_no_browser_sends_no_origin_and_is_left_to_its_ticket():
    assert connect(None) == 200
