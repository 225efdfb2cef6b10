"""Bad input through Zappa's real handler with API Gateway events: 4xx in the envelope, never a 5xx."""

import json

import pytest

from tests.deploy.support import LambdaClient
from tests.support import CHAT_URL

MiB = 1024 * 1024


def post(client: LambdaClient, body: str, token: str, **headers: str):
    headers = {"x-csrftoken": token, "origin": f"https://{client.host}", **headers}
    return client.request("POST", CHAT_URL, body=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("version", ["v2", "v1"])
@pytest.mark.parametrize("size", [100_000, 3 * MiB, 6_000_000 - 100])
def test_body_over_the_limit_up_to_lambdas_6mb_is_413(source_lambda, version, size):
    client = LambdaClient(source_lambda, version=version)
    token = client.session()
    response = post(client, json.dumps({"message": "x" * size}), token)
    assert response.status == 413, response.body[:300]
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 13_000 + "]" * 13_000, id="deep"),
        pytest.param('{"message": "a", "message": "b"}', id="duplicate-key"),
        pytest.param('{"message": "\\ud800"}', id="lone-surrogate"),
        pytest.param('{"message": "a\\u0000"}', id="nul"),
        pytest.param('{"message": ' + "9" * 5_000 + "}", id="huge-int"),
        pytest.param('{"message": 7, "conversation_id": [], "request_id": {}}', id="wrong-types"),
    ],
)
def test_hostile_json_is_400_invalid_request(source_lambda, body):
    client = LambdaClient(source_lambda)
    response = post(client, body, client.session())
    assert response.status == 400, response.body[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert isinstance(error["fields"], dict)


@pytest.mark.parametrize("cookie", ["x" * 3000, "", "é" * 40, "ABC", "a b;c"])
def test_any_session_cookie_gets_a_fresh_session(source_lambda, cookie):
    client = LambdaClient(source_lambda, cookies={"sessionid": cookie})
    response = client.get("/api/v1/session")
    assert response.status == 200, response.body[:300]
    assert client.cookies["sessionid"] != cookie
    assert len(client.cookies["sessionid"]) == 32


def test_unusable_charset_with_a_query_string_is_ignored(source_lambda):
    client = LambdaClient(source_lambda)
    token = client.session()
    headers = {"x-csrftoken": token, "origin": f"https://{client.host}"}
    response = client.request(
        "POST",
        "/api/v1/ai/chat?a=1",
        body='{"message": "hi"}',
        content_type="application/json; charset=zlib_codec",
        headers=headers,
    )
    assert response.status == 200, response.body[:300]
