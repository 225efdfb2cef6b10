"""The chat page view: its URLs follow the script prefix, and only it carries the strict CSP."""

from django.test import Client
from django.test.utils import override_script_prefix, override_settings


# Django caches STATIC_URL with the script prefix of its first use; override_settings drops that cache on exit.
@override_settings(STATIC_URL="static/")
def test_page_renders_every_api_url_below_the_script_prefix(db):
    # The test client does not set the prefix from SCRIPT_NAME as the WSGI handler does (see tests/browser).
    with override_script_prefix("/dev/"):
        response = Client().get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-url-session="/dev/api/v1/session"' in html
    assert 'data-url-chat="/dev/api/v1/ai/chat"' in html
    assert 'data-url-conversations="/dev/api/v1/conversations"' in html


def test_page_has_a_strict_content_security_policy(db):
    policy = Client().get("/").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def csp_directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_page_policy_lets_the_page_reach_its_streaming_socket_and_nothing_else_new(db, settings):
    before = csp_directives(Client().get("/").headers["Content-Security-Policy"])
    assert before["connect-src"] == ["'self'"]
    settings.WEBSOCKET_URL = "wss://abc123.execute-api.us-east-1.amazonaws.com/dev"
    after = csp_directives(Client().get("/").headers["Content-Security-Policy"])
    assert after["connect-src"] == ["'self'", "wss://abc123.execute-api.us-east-1.amazonaws.com"]
    assert {name: value for name, value in after.items() if name != "connect-src"} == {
        name: value for name, value in before.items() if name != "connect-src"
    }


def test_admin_keeps_its_own_inline_scripts_working(db):
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response.headers
