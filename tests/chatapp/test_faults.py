"""Every step of a chat request, every way its dependency can fail: a contract 503, no half exchange, one log line.

DynamoDB is moto_server over HTTP and the models are the fake Bedrock, each behind a fault-injecting proxy
(fakes/faultproxy.py) that fails exactly one step: a DynamoDB operation on one table, or one model.
Faults are persistent, so botocore's retries meet them too.
"""

import json
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings

from fakes import faultproxy
from fakes.aws import forget_connections, moto_dynamodb_server
from fakes.faultproxy import FaultProxy
from tests.support import ApiClient, request_log_records

pytestmark = pytest.mark.slow

PREFIX = "test-"
SLOW = 3.0  # seconds of silence: past the read timeouts (test settings: DynamoDB 2 s; models 1 s below)


@dataclass(frozen=True)
class Step:
    name: str
    service: str  # "dynamodb" or "bedrock"
    error: str
    target: str | None = None
    table: str | None = None
    model: str | None = None
    before_chat_model: bool = True
    # The chat model's answer starts while a passing verdict is being cached: when that write fails, the
    # model has been called, but its answer is closed unread (never shown, stored or logged).
    overlaps_chat_model: bool = False

    def arm(self, proxy: FaultProxy, fault: faultproxy.Fault) -> None:
        if self.service == "dynamodb":
            proxy.fail(fault, target=f"DynamoDB_20120810.{self.target}", table=f"{PREFIX}{self.table}")
        else:
            proxy.fail(fault, path_contains=self.model)


STEPS = [
    Step("session_load", "dynamodb", "storage_unavailable", target="GetItem", table="sessions"),
    Step("rate_limit", "dynamodb", "storage_unavailable", target="UpdateItem", table="rate_limits"),
    Step("cache_read", "dynamodb", "storage_unavailable", target="BatchGetItem", table="intent_cache"),
    Step("spend_reserve", "dynamodb", "storage_unavailable", target="UpdateItem", table="ledger"),
    Step("screening", "bedrock", "screening_unavailable", model="claude-haiku"),
    Step(
        "cache_write",
        "dynamodb",
        "storage_unavailable",
        target="PutItem",
        table="intent_cache",
        before_chat_model=False,
        overlaps_chat_model=True,
    ),
    Step("history_read", "dynamodb", "storage_unavailable", target="Query", table="conversations"),
    Step("chat_model", "bedrock", "model_unavailable", model="claude-sonnet", before_chat_model=False),
    Step(
        "history_write",
        "dynamodb",
        "storage_unavailable",
        target="TransactWriteItems",
        table="conversations",
        before_chat_model=False,
    ),
]
FAULTS = {
    "dynamodb": [faultproxy.THROUGHPUT_EXCEEDED, faultproxy.DYNAMODB_500, faultproxy.RESET, faultproxy.silence(SLOW)],
    "bedrock": [
        faultproxy.BEDROCK_THROTTLED,
        faultproxy.BEDROCK_500,
        faultproxy.silence(SLOW),
        faultproxy.GARBAGE,
        faultproxy.CUT,
    ],
}
MATRIX = [pytest.param(step, fault, id=f"{step.name}-{fault}") for step in STEPS for fault in FAULTS[step.service]]


@pytest.fixture(scope="module")
def proxies():
    """moto_server and the fake Bedrock, each behind its own fault proxy (all on loopback, ephemeral ports)."""
    from tests.conftest import _fake_bedrock

    with moto_dynamodb_server() as moto_url:
        dynamodb_proxy = FaultProxy(moto_url).start()
        bedrock_proxy = FaultProxy(_fake_bedrock.url).start()
        yield {"dynamodb": dynamodb_proxy, "bedrock": bedrock_proxy}
        dynamodb_proxy.stop()
        bedrock_proxy.stop()


@pytest.fixture
def through_proxies(proxies, monkeypatch, settings, bedrock, db):
    """Send this test's DynamoDB and Bedrock traffic through the proxies, with short model timeouts."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxies["dynamodb"].url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", proxies["bedrock"].url)
    settings.SCREEN_MODEL_READ_TIMEOUT = 1.0
    settings.CHAT_MODEL_READ_TIMEOUT = 1.0
    settings.CHAT_RATE_LIMIT = "1000/min"
    forget_connections()
    yield proxies
    for proxy in proxies.values():
        proxy.clear()
    monkeypatch.undo()
    forget_connections()


def history(api, conversation_id):
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    return [(m["role"], m["content"]) for m in messages]


def lines_naming(output: str, *needles: str) -> list[str]:
    return [line for line in output.splitlines() if any(needle in line for needle in needles)]


@pytest.mark.parametrize(("step", "fault"), MATRIX)
def test_fault_in_any_step_is_a_contract_503_with_whole_pairs_and_one_log_line(
    step, fault, through_proxies, bedrock, capsys
):
    api = ApiClient()
    conversation_id = api.chat("first message").json()["conversation_id"]
    chat_calls_before = len(bedrock.calls_to(settings.BEDROCK_CHAT_MODEL_ID))
    proxy = through_proxies[step.service]
    capsys.readouterr()

    step.arm(proxy, fault)
    response = api.chat(f"second message {uuid.uuid4()}", conversation_id=conversation_id)
    injected = proxy.injected
    proxy.clear()
    output = capsys.readouterr()

    assert injected >= 1, "the fault was never hit: the step did not run"
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == step.error and error["message"]
    assert response.headers["Retry-After"] == str(settings.RETRY_AFTER_SECONDS)
    assert history(api, conversation_id) == [("user", "first message"), ("assistant", "Echo: first message")]
    if step.before_chat_model:
        assert len(bedrock.calls_to(settings.BEDROCK_CHAT_MODEL_ID)) == chat_calls_before
    assert "Echo:" not in response.content.decode()  # nothing of an answer is shown

    request_lines = request_log_records(output.out)
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["status"] == 503 and line["error"] == step.error and line["cause"]
    if step.overlaps_chat_model:
        assert line["speculative_reply"] in ("discarded", "cancelled")
        assert "Echo:" not in output.out + output.err
    cause_type = line["cause"].split(":", 1)[0]
    assert len(lines_naming(output.out + output.err, step.error, cause_type)) == 1, output


def test_a_fault_that_clears_within_the_retries_is_invisible(through_proxies, bedrock):
    api = ApiClient()
    through_proxies["dynamodb"].fail(
        faultproxy.THROUGHPUT_EXCEEDED, target="DynamoDB_20120810.TransactWriteItems", times=1
    )
    through_proxies["bedrock"].fail(faultproxy.BEDROCK_THROTTLED, path_contains="claude-haiku", times=1)
    response = api.chat("hello through a hiccup")
    assert response.status_code == 200
    assert through_proxies["dynamodb"].injected == 1 and through_proxies["bedrock"].injected == 1
    assert history(api, response.json()["conversation_id"])[0] == ("user", "hello through a hiccup")


def test_session_save_failing_after_the_view_is_a_503_and_one_line_names_it(through_proxies, capsys):
    from django.test import Client

    # The view creates the session (first PutItem); SessionMiddleware saves it again on the way out.
    through_proxies["dynamodb"].fail(
        faultproxy.DYNAMODB_500, target="DynamoDB_20120810.PutItem", table=f"{PREFIX}sessions", after=1
    )
    capsys.readouterr()
    response = Client().get("/api/v1/session")
    output = capsys.readouterr()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert response.headers["Retry-After"] == str(settings.RETRY_AFTER_SECONDS)
    naming = lines_naming(output.out + output.err, "storage_unavailable", "PutError")
    assert len(naming) == 1, output
    assert json.loads(naming[0])["cause"].startswith("PutError")
