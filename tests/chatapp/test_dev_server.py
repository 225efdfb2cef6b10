"""Through Django's own server (live_server runs the WSGIServer that `runserver` and `make run` use)."""

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.support import CHAT_URL

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(live_server, settings, bedrock) -> requests.Session:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    session = requests.Session()
    token = session.get(f"{live_server.url}/api/v1/session", timeout=10).json()["csrf_token"]
    session.headers.update({"X-CSRFToken": token, "Content-Type": "application/json"})
    return session


@pytest.mark.parametrize("size", [100_000, 3 * 1024 * 1024, 6_000_000])
def test_declared_oversized_body_is_413(live_server, browser, size):
    response = browser.post(f"{live_server.url}{CHAT_URL}", data=b'{"message": "' + b"x" * size + b'"}', timeout=60)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_is_413(live_server, browser):
    # Written by hand in one piece: the dev server answers without reading a chunked body, then closes.
    address = urlsplit(live_server.url)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)
    head = (
        f"POST {CHAT_URL} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
        f"X-CSRFToken: {browser.headers['X-CSRFToken']}\r\nCookie: {cookies}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    body = b'{"message": "hi"}'
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "payload_too_large"


def test_hostile_json_is_400(live_server, browser):
    for body in (b"[" * 13_000 + b"]" * 13_000, b'{"message": "a", "message": "b"}', b'{"message": "\xff"}'):
        response = browser.post(f"{live_server.url}{CHAT_URL}", data=body, timeout=30)
        assert response.status_code == 400, (body[:30], response.text)
        assert response.json()["error"]["code"] == "invalid_request"
