"""Conversations seeded through the real repositories (moto or any DynamoDB endpoint), and a DynamoDB call log.

Seeding writes exactly what a chat request writes (`exchange_store`), minus the models, so long histories
cost milliseconds per turn instead of a screened round trip each.
"""

import json
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chatapp import repositories
from chatapp.repositories import Message
from core.dynamodb import dynamodb_client

SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def seed_conversation(owner: str, *, turns: int, title: str, at: datetime = SEEDED_AT) -> str:
    """Store a conversation of `turns` user/assistant pairs, one second apart from `at`; return its id."""
    conversation_id = str(uuid.uuid4())
    for turn in range(turns):
        asked = at + timedelta(seconds=turn)
        seed_turn(owner, conversation_id, f"{title} question {turn}", asked, new=turn == 0, title=title)
    return conversation_id


def seed_turn(
    owner: str, conversation_id: str, text: str, asked: datetime, *, new: bool = False, title: str = ""
) -> None:
    """Store one user message and its reply ("Echo: <text>") as a chat request would."""
    user = Message(str(uuid.uuid4()), "user", text, asked.isoformat())
    reply = Message(str(uuid.uuid4()), "assistant", f"Echo: {text}", (asked + timedelta(milliseconds=1)).isoformat())
    meta = None if new else repositories.conversation_meta(conversation_id)
    repositories.exchange_store(
        owner=owner,
        conversation_id=conversation_id,
        title=title or text if new else None,
        pair=(user, reply),
        request_id=None,
        verdict_source="model",
        now=asked + timedelta(milliseconds=1),
        after_turns=int(meta.turns or 0) if meta is not None else 0,
    )


def seed_conversation_in_bulk(owner: str, *, turns: int, title: str, at: datetime = SEEDED_AT) -> str:
    """Store what `seed_conversation` stores, in batch writes instead of a transaction per turn."""
    # For benchmarks: moto copies the whole table for every transaction item, so a 500-turn conversation would take
    # minutes. The items and keys are those `repositories.exchange_store` writes.
    conversation_id = str(uuid.uuid4())
    pk = repositories.conversation_pk(conversation_id)
    last = (at + timedelta(seconds=turns - 1, milliseconds=1)).isoformat()
    with repositories.ConversationItem.batch_write() as batch:
        batch.save(
            repositories.ConversationMeta(
                pk,
                repositories.META_SK,
                owner=owner,
                updated_at=last,
                title=title,
                title_search=repositories.title_search_key(title),
                created_at=(at + timedelta(milliseconds=1)).isoformat(),
                turns=turns,
            )
        )
        for turn in range(turns):
            asked = at + timedelta(seconds=turn)
            user_id = str(uuid.uuid4())
            text = f"{title} question {turn}"
            for position, (role, content, when) in enumerate(
                [("user", text, asked), ("assistant", f"Echo: {text}", asked + timedelta(milliseconds=1))]
            ):
                batch.save(
                    repositories.MessageItem(
                        pk,
                        f"msg#{asked.isoformat()}#{user_id}#{position}",
                        message_id=user_id if position == 0 else str(uuid.uuid4()),
                        role=role,
                        content=content,
                        created_at=when.isoformat(),
                    )
                )
    return conversation_id


@dataclass
class DynamoDBCall:
    operation: str
    request: dict[str, Any]
    response: dict[str, Any]
    elapsed_ms: float = 0.0

    @property
    def read_capacity_units(self) -> float:
        """Return what DynamoDB bills this read: its items' size in 4 KB units (half for eventual reads)."""
        items = self.response.get("Items") or ([self.response["Item"]] if "Item" in self.response else [])
        units = max(1, math.ceil(sum(item_size(item) for item in items) / 4096))
        return units if self.request.get("ConsistentRead") else units / 2


@dataclass
class DynamoDBCalls:
    calls: list[DynamoDBCall] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]


@contextmanager
def dynamodb_calls() -> Iterator[DynamoDBCalls]:
    """Record every call the shared DynamoDB client makes inside the block, with its request and response."""
    log = DynamoDBCalls()
    requests: dict[int, tuple[dict[str, Any], float]] = {}

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        requests[id(context)] = params.get("body", {}), time.perf_counter()

    def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        body, started = requests.pop(id(context), ({}, time.perf_counter()))
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.calls.append(DynamoDBCall(model.name, _body(body), parsed, elapsed_ms))

    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb", before)
    events.register("after-call.dynamodb", after)
    try:
        yield log
    finally:
        events.unregister("before-call.dynamodb", before)
        events.unregister("after-call.dynamodb", after)


def _body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | str):
        return json.loads(body or "{}")
    return body


def item_size(item: dict[str, Any]) -> int:
    """Return an item's size as DynamoDB counts it: names plus values in bytes (strings as UTF-8)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    return len(str(inner).encode())
