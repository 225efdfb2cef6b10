"""The ledger adds no DynamoDB round trip in series: the reservation is sent while the intent cache is read, and
the settle while the pair is written. Each proof holds one request back until the ledger's write has been sent:
were the ledger's work in series with it, the ledger's write would never come and the wait would run out."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.dynamodb import dynamodb_client
from tests.support import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 5


@contextmanager
def held_until_ledger_write(operation: str) -> Iterator[dict[str, bool]]:
    """Hold each DynamoDB `operation` until a ledger UpdateItem has been sent; say whether every one was released."""
    client = dynamodb_client()
    ledger_written = threading.Event()
    outcome = {"released": True, "held": False}

    def on_send(request, **_):  # noqa: ANN001 - botocore's event signature
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        table = json.loads(request.body or b"{}").get("TableName", "")
        if target.endswith(".UpdateItem") and table.endswith("ledger"):
            ledger_written.set()
        elif target.endswith(f".{operation}"):
            outcome["held"] = True
            outcome["released"] &= ledger_written.wait(WAIT_SECONDS)

    client.meta.events.register_first("before-send.dynamodb", on_send, unique_id="ledger-overlap")
    try:
        yield outcome
    finally:
        client.meta.events.unregister("before-send.dynamodb", unique_id="ledger-overlap")


def test_a_first_message_is_reserved_while_its_verdict_is_looked_up(bedrock):
    api = ApiClient()
    with held_until_ledger_write("BatchGetItem") as outcome:
        assert api.chat("Hello").status_code == 200
    assert outcome == {"held": True, "released": True}


def test_a_follow_up_is_reserved_while_its_history_and_verdict_are_read(bedrock):
    api = ApiClient()
    conversation_id = api.chat("Hello").json()["conversation_id"]
    with held_until_ledger_write("BatchGetItem") as outcome:
        assert api.chat("And then?", conversation_id=conversation_id).status_code == 200
    assert outcome == {"held": True, "released": True}


def test_a_reply_is_settled_while_it_is_stored(bedrock):
    api = ApiClient()
    with held_until_ledger_write("TransactWriteItems") as outcome:
        assert api.chat("Hello").status_code == 200
    assert outcome == {"held": True, "released": True}
