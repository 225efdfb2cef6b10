"""Oversized bodies and hostile JSON: always the contract's 4xx envelope, never a 5xx, nothing stored."""

import pytest
from django.conf import settings
from django.test import Client

from tests.chatapp.test_api_errors import assert_error, assert_nothing_stored
from tests.support import CHAT_URL, log_records

MiB = 1024 * 1024


def post_raw(api, body: bytes, content_type: str = "application/json", **extra):
    """POST `body` byte for byte (the test client would re-encode a str for a declared charset)."""
    headers = {"X-CSRFToken": api.csrf_token}
    return api.http.generic("POST", CHAT_URL, body, content_type=content_type, headers=headers, **extra)


def nested(depth: int) -> bytes:
    return b'{"message": "hi", "extra": ' + b"[" * depth + b"]" * depth + b"}"


# --- oversized bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(None, id="limit+1"),
        pytest.param(2 * MiB, id="2MiB"),
        pytest.param(int(2.5 * MiB) + 1, id="over-django-DATA_UPLOAD_MAX_MEMORY_SIZE-default"),
        pytest.param(3 * MiB, id="3MiB"),
        pytest.param(6 * MiB - 1, id="just-under-lambda-6MB"),
    ],
)
def test_body_over_the_limit_is_413_whatever_its_size(api, bedrock, size):
    size = size or settings.MAX_REQUEST_BYTES + 1
    body = b'{"message": "' + b"x" * (size - 15) + b'"}'
    assert len(body) == size
    error = assert_error(post_raw(api, body), 413, "payload_too_large")
    assert str(settings.MAX_REQUEST_BYTES) in error["message"]
    assert_nothing_stored(api, bedrock)


def test_body_of_exactly_the_limit_is_read(api, bedrock):
    body = b'{"message": "hi"}'.ljust(settings.MAX_REQUEST_BYTES, b" ")
    response = post_raw(api, body)
    assert response.status_code == 200, response.content
    assert response.json()["message"]["content"] == "Echo: hi"


def test_chunked_body_without_a_length_is_413(api, bedrock, capsys):
    # WSGI servers give Django nothing to read without a Content-Length: it would be taken for an empty body.
    headers = {"X-CSRFToken": api.csrf_token, "Transfer-Encoding": "chunked"}
    response = api.http.generic("POST", CHAT_URL, b"", headers=headers, CONTENT_TYPE="application/json")
    error = assert_error(response, 413, "payload_too_large")
    assert "Content-Length" in error["message"]
    assert_nothing_stored(api, bedrock)
    lines = log_records(capsys.readouterr().out)
    refused = [line for line in lines if line.get("event") == "request_body_refused"]
    assert refused == [refused[0]] and refused[0]["error"] == "payload_too_large" and refused[0]["path"] == CHAT_URL


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "12 ", "١٢"])
def test_content_length_that_is_not_a_number_is_400(api, bedrock, length):
    error = assert_error(post_raw(api, b'{"message": "hi"}', CONTENT_LENGTH=length), 400, "invalid_request")
    assert error["fields"] == {}
    assert_nothing_stored(api, bedrock)


def test_content_length_of_thousands_of_digits_is_413(api, bedrock):
    assert_error(post_raw(api, b'{"message": "hi"}', CONTENT_LENGTH="9" * 5000), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/admin/login/"), ("POST", "/"), ("DELETE", "/api/v1/conversations/x"), ("PUT", "/api/v1/session")],
)
def test_oversized_body_is_413_on_every_path(db, method, path):
    response = Client().generic(method, path, b"x" * 3 * MiB, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "payload_too_large")


def test_django_own_body_cap_is_413_too(api, bedrock, settings):
    # Should MAX_REQUEST_BYTES ever be raised above DATA_UPLOAD_MAX_MEMORY_SIZE, Django refuses first.
    settings.MAX_REQUEST_BYTES = 8 * MiB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1 * MiB
    body = b'{"message": "' + b"x" * (2 * MiB) + b'"}'
    assert_error(post_raw(api, body), 413, "payload_too_large")


# --- hostile JSON -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 13_000 + b"]" * 13_000, id="13000-deep-arrays"),
        pytest.param(b'{"a":' * 4_000 + b"1" + b"}" * 4_000, id="4000-deep-objects"),
        pytest.param(nested(32), id="depth-33"),
        pytest.param(b'{"message": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"message": "\xc0\xaf"}', id="overlong-utf8"),
        pytest.param(b'{"message": "\xe2\x82"}', id="truncated-utf8"),
        pytest.param(b'{"message": "\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
        pytest.param('{"message": "hi"}'.encode("utf-16"), id="utf16-body"),
        pytest.param(b'\xef\xbb\xbf{"message": "hi"}', id="utf8-bom"),
        pytest.param(b'{"message": "a\x00b"}', id="raw-nul"),
        pytest.param(b'{"message": "a", "message": "b"}', id="duplicate-key"),
        pytest.param(b'{"message": "a", "x": {"k": 1, "k": 2}}', id="nested-duplicate-key"),
        pytest.param(b'{"message": ' + b"9" * 4_301 + b"}", id="int-over-4300-digits"),
        pytest.param(b'{"message": NaN}', id="NaN"),
        pytest.param(b'{"message": -Infinity}', id="Infinity"),
        pytest.param(b'{"message": "hi"', id="truncated"),
        pytest.param(b'{"message": "hi"} x', id="trailing-garbage"),
        pytest.param(b'{"message": "hi"}{"message": "hi"}', id="two-documents"),
        pytest.param(b"{'message': 'hi'}", id="single-quotes"),
        pytest.param(b"   ", id="whitespace"),
    ],
)
def test_malformed_json_is_400_invalid_request(api, bedrock, body):
    error = assert_error(post_raw(api, body), 400, "invalid_request")
    assert error["fields"] == {}
    assert error["message"].startswith("The body is not valid JSON")
    assert_nothing_stored(api, bedrock)


def test_nesting_up_to_the_depth_limit_is_parsed(api, bedrock):
    assert post_raw(api, nested(31)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param('{"message": "\\ud800"}', "message", id="lone-high-surrogate"),
        pytest.param('{"message": "a\\udfffb"}', "message", id="lone-low-surrogate"),
        pytest.param('{"message": "hi", "request_id": "\\udc00"}', "request_id", id="surrogate-request-id"),
        pytest.param('{"message": "hi", "conversation_id": "\\ud800"}', "conversation_id", id="surrogate-uuid"),
        pytest.param('{"message": "a\\u0000b"}', "message", id="escaped-nul"),
        pytest.param('{"message": "hi", "request_id": "r\\u0000"}', "request_id", id="nul-request-id"),
        pytest.param('{"message": 1e999999}', "message", id="float-overflow"),
        pytest.param('{"message": ' + "9" * 4_300 + "}", "message", id="int-of-4300-digits"),
        pytest.param("null", "non_field_errors", id="null"),
        pytest.param("true", "non_field_errors", id="true"),
        pytest.param("12", "non_field_errors", id="number"),
        pytest.param('"hi"', "non_field_errors", id="string"),
        pytest.param("[]", "non_field_errors", id="array"),
    ],
)
def test_valid_json_with_unusable_values_is_400_naming_the_field(api, bedrock, body, field):
    error = assert_error(post_raw(api, body.encode()), 400, "invalid_request")
    assert field in error["fields"]
    assert_nothing_stored(api, bedrock)


def test_empty_json_body_is_400_message_required(api, bedrock):
    error = assert_error(post_raw(api, b"", CONTENT_TYPE="application/json"), 400, "invalid_request")
    assert error["fields"] == {"message": ["This field is required."]}


WRONG_TYPES = [True, 0, 1.5, [], ["hi"], {}, {"a": "b"}]


@pytest.mark.parametrize("value", [None, *WRONG_TYPES], ids=repr)
def test_message_of_any_other_type_than_string_is_400(api, bedrock, value):
    error = assert_error(api.post(CHAT_URL, {"message": value}), 400, "invalid_request")
    assert list(error["fields"]) == ["message"]
    assert_nothing_stored(api, bedrock)


@pytest.mark.parametrize("field", ["conversation_id", "request_id"])
@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_optional_fields_of_the_wrong_type_are_400(api, bedrock, field, value):
    error = assert_error(api.post(CHAT_URL, {"message": "hi", field: value}), 400, "invalid_request")
    assert list(error["fields"]) == [field]
    assert_nothing_stored(api, bedrock)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"message": "\\ud83d\\ude00 hi"}', id="surrogate-pair"),
        pytest.param('{"\\ud800": 1, "message": "hi"}', id="surrogate-in-an-unknown-key"),
        pytest.param('{"message": "hi", "extra": [1e999999, 123456789012345678901234567890]}', id="unknown-numbers"),
    ],
)
def test_json_that_is_odd_but_usable_is_answered(api, bedrock, body):
    assert post_raw(api, body.encode()).status_code == 200


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "rot13", "zlib_codec", "hex", "no-such-codec"])
def test_declared_charset_is_ignored_json_is_utf8(api, bedrock, charset):
    body = '{"message": "café"}'.encode()
    response = post_raw(api, body, content_type=f"application/json; charset={charset}")
    assert response.status_code == 200, response.content
    assert response.json()["message"]["content"] == "Echo: café"


# --- form bodies on the JSON API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"a&" * 1_200, "application/x-www-form-urlencoded", id="over-1000-fields"),
        pytest.param(b"message=hi", "application/x-www-form-urlencoded; charset=latin-1", id="form-not-utf8"),
        pytest.param(
            b"".join(
                b'--b\r\nContent-Disposition: form-data; name="f%d"; filename="f"\r\n\r\nx\r\n' % i for i in range(120)
            )
            + b"--b--\r\n",
            "multipart/form-data; boundary=b",
            id="over-100-files",
        ),
        pytest.param(b"--b\r\nnonsense", "multipart/form-data; boundary=b", id="broken-multipart"),
    ],
)
def test_form_bodies_the_csrf_check_cannot_read_are_415(api, bedrock, body, content_type):
    assert_error(post_raw(api, body, content_type=content_type), 415, "unsupported_media_type")
    assert_nothing_stored(api, bedrock)


def test_disallowed_host_on_the_api_is_400_in_the_envelope(db):
    response = Client().get("/api/v1/session", HTTP_HOST="evil..example")
    error = assert_error(response, 400, "invalid_request")
    assert error["fields"] == {}


@pytest.mark.parametrize("charset", ["rot13", "zlib_codec", "hex", "undefined", "punycode", "no-such-codec"])
def test_unusable_charset_with_a_query_string_is_ignored_not_500(api, bedrock, charset):
    # Django decodes the query string with the declared charset while it builds the request, before middleware.
    content_type = f"application/json; charset={charset}"
    session = api.http.get("/api/v1/session?a=1&b=%ff", CONTENT_TYPE=content_type)
    assert session.status_code == 200, session.content
    chat = api.http.generic(
        "POST",
        f"{CHAT_URL}?x=1",
        b'{"message": "hi"}',
        content_type=content_type,
        headers={"X-CSRFToken": api.csrf_token},
    )
    assert chat.status_code == 200, chat.content


# --- any session cookie -----------------------------------------------------------------------------------------

COOKIES = ["", "short", "a" * 65, "z" * 2049, "x" * 3000, "é" * 32, "A" * 32, "a b c d e f g h", '"quoted"', "%00" * 8]


@pytest.mark.parametrize("value", COOKIES, ids=lambda value: f"{value[:12]!r}x{len(value)}")
def test_any_session_cookie_is_no_session_and_a_fresh_one_is_issued(db, bedrock, value):
    # tests/conftest.py makes DynamoDB refuse keys over 2,048 bytes as AWS does (moto would not).
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/v1/session", HTTP_COOKIE=f"sessionid={value}")
    assert response.status_code == 200, response.content
    fresh = response.cookies["sessionid"].value
    assert fresh != value and len(fresh) == 32
    cookie = f"sessionid={value}; csrftoken={response.cookies['csrftoken'].value}"
    headers = {"X-CSRFToken": response.json()["csrf_token"]}
    chat = client.post(
        CHAT_URL, {"message": "hi"}, content_type="application/json", headers=headers, HTTP_COOKIE=cookie
    )
    assert chat.status_code == 200, chat.content
    assert chat.cookies["sessionid"].value not in (value, fresh)  # the junk cookie again: another fresh session
