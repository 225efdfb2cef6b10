"""Benchmark child: serving pages of history from one process, against the bench's DynamoDB.

`python bench/child_pages.py ROUNDS` seeds (untimed) a 1,000-message and a 10-message conversation and 60
more conversations for one session, then times ROUNDS first-page reads of each conversation, alternating
which goes first, and records the DynamoDB reads of one page of each kind. Prints one `BENCH_RESULT` line.
"""

import json
import sys
import time
from datetime import timedelta
from typing import Any

from child_app import load_app

LONG_TURNS, SHORT_TURNS, LIST_SIZE = 500, 5, 60


def main(rounds: int) -> dict:
    client, _ = load_app()
    from django.conf import settings

    from fakes.history import SEEDED_AT, dynamodb_calls, seed_conversation_in_bulk

    owner = f"session:{client.cookies[settings.SESSION_COOKIE_NAME]}"
    long_id = seed_conversation_in_bulk(owner, turns=LONG_TURNS, title="long")
    short_id = seed_conversation_in_bulk(owner, turns=SHORT_TURNS, title="short")
    for n in range(LIST_SIZE):
        seed_conversation_in_bulk(owner, turns=1, title=f"chat {n}", at=SEEDED_AT + timedelta(minutes=n))
    # The same page size for both (all of the short one), so the only difference is the conversation's length.
    page = f"?limit={2 * SHORT_TURNS}"
    urls = {"long": f"/api/v1/conversations/{long_id}{page}", "short": f"/api/v1/conversations/{short_id}{page}"}
    for url in urls.values():  # warm connections and code paths
        client.request("GET", url)
    samples: dict[str, list[float]] = {"long": [], "short": []}
    in_dynamodb: dict[str, list[float]] = {"long": [], "short": []}
    for i in range(rounds):
        for name in ("long", "short") if i % 2 == 0 else ("short", "long"):
            with dynamodb_calls() as log:
                started = time.perf_counter()
                status, body = client.request("GET", urls[name])
                samples[name].append((time.perf_counter() - started) * 1000)
            in_dynamodb[name].append(sum(c.elapsed_ms for c in log.calls if _conversations_table(c)))
            if status != 200 or len(body["messages"]) != 2 * SHORT_TURNS:
                raise RuntimeError(f"unexpected page: {status} {body}")
    reads = {}
    long_url = f"/api/v1/conversations/{long_id}"  # default page size from here on
    pages = {
        "long_first": long_url,
        "long_earlier": f"{long_url}?before={client.request('GET', long_url)[1]['earlier']}",
        "short_first": urls["short"],
        "list_first": "/api/v1/conversations",
    }
    for name, url in pages.items():
        with dynamodb_calls() as log:
            status, _ = client.request("GET", url)
        calls = [c for c in log.calls if _conversations_table(c)]
        reads[name] = {
            "operations": [c.operation for c in calls],
            "items_read": sum(c.response.get("ScannedCount", 1 if "Item" in c.response else 0) for c in calls),
            "rcu_from_item_sizes": sum(c.read_capacity_units for c in calls),
            "rcu_reported_by_moto": sum(c.response.get("ConsumedCapacity", {}).get("CapacityUnits", 0) for c in calls),
        }
    return {
        "samples_ms": samples,
        "conversations_table_ms": in_dynamodb,
        "reads": reads,
        "messages": {"long": 2 * LONG_TURNS, "short": 2 * SHORT_TURNS},
    }


def _conversations_table(call: Any) -> bool:
    return call.request.get("TableName", "").endswith("conversations")


if __name__ == "__main__":
    result = main(int(sys.argv[1]))
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
