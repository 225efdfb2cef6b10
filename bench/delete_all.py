"""Delete all of one person's conversations against moto_server: how long, how many requests, how it scales.

    .venv/bin/python -m bench.delete_all [--sizes 100 300 1000] [--workers 8] [--repeats 1] [--partition-queries]

Each size seeds that many conversations for one owner (each a user message, its reply and the reply's request
marker, as a chat with a request_id stores them; plus other owners' conversations, which must survive), then
times `conversations_delete_all` (what DELETE /api/v1/conversations runs) against moto's server in a process
of its own (fakes.aws.MotoServerProcess), over HTTP like DynamoDB. Not a pass/fail test: API Gateway's limit
is 29 s, and the numbers say how far from it the run is. moto is one Python process (parallel requests queue
on its GIL) and its Query sorts the whole table (`--partition-queries` reads the partition only, as DynamoDB
does), so the absolute times are the emulator's; the request counts are DynamoDB's.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

API_GATEWAY_LIMIT_SECONDS = 29


def _setup(endpoint: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto's, not a secret
        AWS_DEFAULT_REGION="us-east-1",
        DJANGO_SETTINGS_MODULE="chatapp.settings.base",
        DJANGO_SECRET_KEY="bench-only",  # noqa: S106 - signs nothing that leaves this process
        # moto answers some requests in seconds where DynamoDB takes milliseconds: time them, do not fail them.
        DYNAMODB_READ_TIMEOUT="60",
        DYNAMODB_TABLE_PREFIX=f"bench-delete-all-{uuid.uuid4().hex[:6]}-",
    )
    import django

    django.setup()
    from core.dynamodb import ensure_table, registered_tables

    for model in registered_tables():
        ensure_table(model)


def seed(owner: str, count: int) -> None:
    """Store `count` one-pair conversations with request markers for `owner`, in batch writes."""
    from chatapp import repositories as r

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with r.ConversationItem.batch_write() as batch:
        for n in range(count):
            at = start + timedelta(seconds=n)
            conversation_id, user_id, reply_id = (str(uuid.uuid4()) for _ in range(3))
            pk, marker_pk = r.conversation_pk(conversation_id), r.request_pk(owner, f"request-{n}")
            stamp = at.isoformat()
            batch.save(
                r.ConversationMeta(
                    pk,
                    r.META_SK,
                    owner=owner,
                    updated_at=stamp,
                    title=f"chat {n}",
                    title_search=f"chat {n}",
                    created_at=stamp,
                )
            )
            batch.save(
                r.MessageItem(
                    pk,
                    f"msg#{stamp}#{user_id}#0",
                    message_id=user_id,
                    role="user",
                    content=f"question {n}",
                    created_at=stamp,
                )
            )
            batch.save(
                r.MessageItem(
                    pk,
                    f"msg#{stamp}#{user_id}#1",
                    message_id=reply_id,
                    role="assistant",
                    content=f"Echo: question {n}",
                    created_at=stamp,
                    request_pk=marker_pk,
                    stop_reason="end_turn",
                )
            )
            batch.save(
                r.RequestItem(
                    marker_pk,
                    "request",
                    conversation_id=conversation_id,
                    message_id=reply_id,
                    content=f"Echo: question {n}",
                    created_at=stamp,
                    verdict_source="model",
                    expires_at=at + timedelta(days=1000),
                )
            )


def owner_item_count(owner: str) -> int:
    from chatapp.history.repositories import _message_and_marker_keys, _owner_conversations

    ids = [conversation_id for conversation_id, _ in _owner_conversations(owner)]
    return len(ids) + sum(len(_message_and_marker_keys(i)) for i in ids)


def measure(count: int, workers: int) -> dict[str, float]:
    """Seed `count` conversations for a new owner (and a bystander's), delete the owner's all; return figures."""
    from chatapp.history import repositories as history
    from fakes.history import dynamodb_calls

    owner, bystander = f"session:bench-{uuid.uuid4().hex}", f"session:bystander-{uuid.uuid4().hex}"
    seed(owner, count)
    seed(bystander, 10)
    history.BULK_WORKERS = workers
    with dynamodb_calls() as calls:
        started = time.perf_counter()
        deleted = history.conversations_delete_all(owner)
        seconds = time.perf_counter() - started
    left, kept = owner_item_count(owner), owner_item_count(bystander)
    if deleted != count or left or kept != 10 * 4:
        raise RuntimeError(f"deleted {deleted} of {count}, {left} items left, {kept} of a bystander's 40 kept")
    ops = calls.operations
    return {
        "seconds": seconds,
        "queries": ops.count("Query"),
        "batch_writes": ops.count("BatchWriteItem"),
        "requests": len(ops),
        "slowest_ms": max(c.elapsed_ms for c in calls.calls),
        "query_ms": statistics.median(c.elapsed_ms for c in calls.calls if c.operation == "Query"),
        "batch_ms": statistics.median(c.elapsed_ms for c in calls.calls if c.operation == "BatchWriteItem"),
    }


def _say(text: str, **_: object) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--workers", type=int, nargs="+", default=[8])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--partition-queries",
        action="store_true",
        help="moto's Query reads only the partition asked for, as DynamoDB does (fakes.aws.partition_local_queries); "
        "without it every Query sorts the whole table, and its cost grows with the table",
    )
    args = parser.parse_args()

    from fakes.aws import MotoServerProcess

    os.environ["MOTO_PARTITION_QUERIES"] = "1" if args.partition_queries else "0"
    server = MotoServerProcess()
    try:
        _setup(server.url)
        mode = "partition-local Query" if args.partition_queries else "moto's own Query (sorts the whole table)"
        _say(f"moto_server at {server.url}, {mode}; API Gateway's limit {API_GATEWAY_LIMIT_SECONDS} s")
        _say(
            f"{'conversations':>13} {'workers':>7} {'seconds (median)':>16} {'ms/conv':>8} {'Query':>6} "
            f"{'BatchWrite':>10} {'requests':>8} {'Query ms':>8} {'Batch ms':>8} {'slowest ms':>10}"
        )
        for workers in args.workers:
            for count in args.sizes:
                runs = [measure(count, workers) for _ in range(args.repeats)]
                seconds = statistics.median(r["seconds"] for r in runs)
                last = runs[-1]
                _say(
                    f"{count:>13} {workers:>7} {seconds:>16.2f} {seconds / count * 1000:>8.2f} "
                    f"{last['queries']:>6} {last['batch_writes']:>10} {last['requests']:>8} "
                    f"{last['query_ms']:>8.0f} {last['batch_ms']:>8.0f} {last['slowest_ms']:>10.0f}",
                    flush=True,
                )
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
