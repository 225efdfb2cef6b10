"""Benchmark floor: a fresh process with only Django, boto3 and PynamoDB that makes the app's DynamoDB calls.

Run by path like child_app.py, and prints one `BENCH_RESULT {json}` line. Modes:
  first       the calls of a first visit (session create, then one chat message that misses the cache)
  warm N      the calls of N chat requests in the same mix as child_app's warm mode
The calls are the ones the app makes (child_app with BENCH_COUNT_OPS=1 lists them), with items of similar size.
With BENCH_FLOOR_LANGCHAIN=1 it also imports langchain-aws first: a bound on any app that answers through it.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402

import boto3  # noqa: E402
import django  # noqa: E402
import pynamodb.models  # noqa: E402, F401 - part of the floor: every request path uses it
from botocore.config import Config  # noqa: E402
from django.conf import settings  # noqa: E402

if os.environ.get("BENCH_FLOOR_LANGCHAIN"):
    import langchain_aws  # noqa: F401

PREFIX = os.environ["DYNAMODB_TABLE_PREFIX"]
OPERATIONS: list[str] = []
CLEAR_EVERY = 40  # as in child_app
TEXT = "Here is a short, considered answer to your question, with an example. " * 8


def client() -> object:
    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})
    db = boto3.session.Session().client("dynamodb", config=config)
    db.meta.events.register("before-call.dynamodb", lambda model, **_: OPERATIONS.append(f"dynamodb:{model.name}"))
    return db


def s(value: str) -> dict:
    return {"S": value}


def session_create(db: object, key: str) -> None:
    item = {"session_key": s(key), "data": s("e30:bench"), "expires_at": {"N": str(int(time.time()) + 3600)}}
    db.get_item(TableName=f"{PREFIX}sessions", Key={"session_key": s(key)}, ConsistentRead=True)
    db.put_item(TableName=f"{PREFIX}sessions", Item=item, ConditionExpression="attribute_not_exists(session_key)")
    db.put_item(TableName=f"{PREFIX}sessions", Item=item)


def chat(db: object, session: str, *, miss: bool, conversation: str | None) -> str:
    """Make one chat request's calls; return the conversation id."""
    db.get_item(TableName=f"{PREFIX}sessions", Key={"session_key": s(session)}, ConsistentRead=True)
    for counter in ("chat_ip#127.0.0.1#1", f"chat#{session}#1"):  # the per-IP, then the per-owner limit
        db.update_item(
            TableName=f"{PREFIX}rate_limits",
            Key={"key": s(counter)},
            UpdateExpression="ADD #c :one SET expires_at = :e",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"N": str(int(time.time()) + 120)}},
        )
    if conversation:
        db.query(
            TableName=f"{PREFIX}conversations",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(f"conv#{conversation}")},
            ScanIndexForward=False,
            Limit=21,
            ConsistentRead=True,
        )
    verdict_key = uuid.uuid4().hex if miss else "bench-floor-hit"
    keys = [{"key": s(f"pin#{verdict_key}")}, {"key": s(verdict_key)}]
    db.batch_get_item(RequestItems={f"{PREFIX}intent_cache": {"Keys": keys}})
    if miss:
        verdict = {"key": s(verdict_key), "verdict": s("safe"), "category": s("none"), "source": s("model")}
        db.put_item(TableName=f"{PREFIX}intent_cache", Item=verdict)
    return exchange_store(db, conversation or str(uuid.uuid4()))


def exchange_store(db: object, conversation: str) -> str:
    pk, now = s(f"conv#{conversation}"), s(str(time.time()))
    meta = {"pk": pk, "sk": s("~meta"), "kind": s("conversation"), "owner": s("o"), "updated_at": now}
    messages = [
        {"pk": pk, "sk": s(f"msg#{now['S']}#{i}"), "kind": s("message"), "content": s(TEXT), "role": s("user")}
        for i in range(2)
    ]
    table = f"{PREFIX}conversations"
    db.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}} for item in [meta, *messages]])
    return conversation


def clear_conversations(db: object) -> None:
    """Empty the conversations table (untimed), as child_app does."""
    table = f"{PREFIX}conversations"
    keys = [
        item
        for page in db.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk")
        for item in page["Items"]
    ]
    for start in range(0, len(keys), 25):
        requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        db.batch_write_item(RequestItems={table: requests})


def first() -> dict:
    settings.configure()
    django.setup()
    db, session = client(), uuid.uuid4().hex
    session_create(db, session)
    chat(db, session, miss=True, conversation=None)
    return {"ms": (time.perf_counter() - STARTED) * 1000, "operations": OPERATIONS}


def warm(count: int) -> dict:
    db, session, conversation, outside = client(), uuid.uuid4().hex, None, []
    session_create(db, session)
    for i in range(count + 4):
        if i % CLEAR_EVERY == 0:
            clear_conversations(db)
        started = time.perf_counter()
        conversation = chat(db, session, miss=i % 2 == 0, conversation=conversation if i % 4 >= 2 else None)
        if i >= 4:
            outside.append((time.perf_counter() - started) * 1000)
    return {"outside_ms": outside}


if __name__ == "__main__":
    mode = sys.argv[1]
    result = first() if mode == "first" else warm(int(sys.argv[2]))
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
