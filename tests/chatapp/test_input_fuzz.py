"""Hypothesis over raw requests: any body, headers and cookies get an answer below 500, and every 4xx is the
contract's envelope (`invalid_request` with `fields`).

Requests go through the whole Django stack (middleware, CSRF, sessions on moto, DRF) with the test client, which
hands the app a WSGI environ as a server would: header and cookie values are Latin-1 text, as WSGI decodes them.
"""

import json

from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.support import CHAT_URL

PATHS = [CHAT_URL, "/api/v1/session", "/api/v1/conversations", "/api/v1/health", "/api/v1/nothing"]
METHODS = ["POST", "POST", "POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=zlib_codec",
    "application/problem+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "",
]
HEADERS = ["Content-Type", "Content-Length", "Transfer-Encoding", "Host", "Origin", "Referer", "Accept", "X-CSRFToken"]

latin1 = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec="utf-8"), max_size=20)
    | st.sampled_from(["\ud800", "\x00", "8f14e45f-ceea-467f-a9d0-6a7e1c4b2f3a", "hi"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
chat_objects = st.fixed_dictionaries(
    {}, optional={"message": json_values, "conversation_id": json_values, "request_id": json_values}
)


def _encode(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(_encode, chat_objects),
    st.builds(_encode, json_values),
    # a valid body cut, spliced or repeated: the JSON parser's error paths
    st.builds(lambda b, i: b[:i], st.builds(_encode, chat_objects), st.integers(0, 40)),
    st.builds(lambda b, junk: b + junk, st.builds(_encode, chat_objects), st.binary(max_size=8)),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 9_000)),
    st.builds(lambda n: b'{"message": ' + b"9" * n + b"}", st.integers(4_000, 5_000)),
)
cookies = st.dictionaries(st.sampled_from(["sessionid", "csrftoken", "other"]), latin1, max_size=3)
# Most examples keep the request well-formed around a hostile body, so that bodies reach the JSON parser and the
# serializer; the rest vary the method, path, headers and cookies too.
JSON = "application/json"
mostly_json = st.one_of(st.just(JSON), st.just(JSON), st.sampled_from(CONTENT_TYPES), latin1)
mostly_chat = st.one_of(st.just("POST"), st.just("POST"), st.sampled_from(METHODS))
mostly_chat_url = st.one_of(
    st.just(CHAT_URL),
    st.just(CHAT_URL),
    st.just(CHAT_URL),
    st.sampled_from(PATHS),
    st.builds(lambda tail: f"/api/v1/conversations/{tail}", latin1),
)
mostly_none = st.one_of(st.just({}), st.just({}), st.dictionaries(st.sampled_from(HEADERS), latin1, max_size=3))


@hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=mostly_chat,
    path=mostly_chat_url,
    body=bodies,
    content_type=mostly_json,
    headers=mostly_none,
    cookie_jar=st.one_of(st.just({}), st.just({}), cookies),
    keep_session=st.one_of(st.just(True), st.booleans()),
)
def test_any_request_gets_a_contract_answer_below_500(
    api, bedrock, method, path, body, content_type, headers, cookie_jar, keep_session
):
    environ = {"CONTENT_TYPE": content_type}
    # The client's own session and CSRF token unless the example replaces them, so bodies reach the parser.
    sent_cookies = {name: morsel.value for name, morsel in api.http.cookies.items()} if keep_session else {}
    sent_cookies.update(cookie_jar)
    environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in sent_cookies.items())
    environ["HTTP_X_CSRFTOKEN"] = api.csrf_token
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value

    # A client of its own: a response that sets cookies must not change the session the next example starts from.
    response = Client(enforce_csrf_checks=True).generic(method, path, body, **environ)

    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code >= 400 and method != "HEAD":
        error = json.loads(response.content)["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        if error["code"] == "invalid_request":
            assert isinstance(error["fields"], dict)
