"""A person's conversations as a whole: rename, title search, delete all, and feedback on replies (one module for
the four, near 300 lines: they share the owner's by_owner Queries and the message lookup).

Items are those of `chatapp.repositories` (see its layout); this module adds, in the same table:
  feedback#<YYYY-MM-DD>, counts     feedback given that day and still standing, one number per bucket
                                    (`up`, `down`, `down_<reason>`): what the admin's chart reads
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

from pynamodb.exceptions import UpdateError

from chatapp.repositories import (
    META_SK,
    ConversationItem,
    ConversationMeta,
    MessageItem,
    conversation_pk,
    conversation_position,
    title_search_key,
)
from core.dynamodb import dynamodb_client

T = TypeVar("T")

# Title search reads the owner's conversations newest first, SEARCH_PAGE_ITEMS a Query, until the page is full
# or SEARCH_MAX_READS were read; then the page may be short, and its cursor continues after the last one read.
SEARCH_PAGE_ITEMS = 200
SEARCH_MAX_READS = 1000
# Delete all: DynamoDB's BatchWriteItem takes 25 requests; BULK_WORKERS of them (and of the reads) at once.
BATCH_SIZE = 25
BULK_WORKERS = 8
BATCH_ATTEMPTS = 8
FEEDBACK_SK = "counts"


class ConversationGone(Exception):
    """The conversation or message is not there (or not the owner's) any more."""


def conversation_title_set(owner: str, conversation_id: str, *, title: str) -> ConversationMeta:
    """Rename the owner's conversation, keeping its updated_at (a rename is no activity)."""
    meta = ConversationMeta(conversation_pk(conversation_id), META_SK)
    actions = [ConversationMeta.title.set(title), ConversationMeta.title_search.set(title_search_key(title))]
    try:
        meta.update(actions=actions, condition=ConversationItem.owner == owner)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConversationGone from exc  # not theirs, or not there
        raise
    return meta


def conversations_search(
    owner: str, *, text: str, limit: int, after: tuple[str, str] | None
) -> tuple[list[ConversationMeta], tuple[str, str] | None]:
    """Return up to `limit` conversations of the owner whose title holds `text` (newest first) and the next start."""
    # An item without title_search (stored before the attribute existed) matches `text` as typed (case-sensitive).
    condition = ConversationMeta.title_search.contains(title_search_key(text)) | (
        ConversationMeta.title_search.does_not_exist() & ConversationMeta.title.contains(text)
    )
    start = _owner_key(owner, after) if after is not None else None
    found: list[ConversationMeta] = []
    read = 0
    while True:
        query = ConversationItem.by_owner.query(
            owner,
            scan_index_forward=False,
            filter_condition=condition,
            page_size=min(SEARCH_PAGE_ITEMS, SEARCH_MAX_READS - read),
            last_evaluated_key=start,
        )
        page = next(query.page_iter)
        read += page["ScannedCount"]
        for raw in page.get("Items", []):
            item = ConversationItem.from_raw_data(raw)
            if isinstance(item, ConversationMeta):
                found.append(item)
            if len(found) > limit:
                return found[:limit], conversation_position(found[limit - 1])
        start = page.get("LastEvaluatedKey")
        if start is None:
            return found, None
        if read >= SEARCH_MAX_READS:
            # A page may then hold fewer than `limit` (even none); it resumes at the last conversation read, so
            # nothing is skipped or repeated.
            return found, (start["pk"]["S"].removeprefix("conv#"), start["updated_at"]["S"])


def _owner_key(owner: str, position: tuple[str, str]) -> dict[str, dict[str, str]]:
    conversation_id, updated_at = position
    return {
        "owner": {"S": owner},
        "updated_at": {"S": updated_at},
        "pk": {"S": conversation_pk(conversation_id)},
        "sk": {"S": META_SK},
    }


# ---------------------------------------------------------------- delete all


def conversations_delete_all(owner: str) -> int:
    """Delete every conversation of the owner with its messages and request markers; return how many."""
    listed = dict(_owner_conversations(owner))
    with ThreadPoolExecutor(BULK_WORKERS, thread_name_prefix="delete-all") as pool:
        # Messages and markers go first, conversation items last: if this stops part-way, the conversations left
        # are still listed (and deleted by the next call), never orphaned messages that nothing lists.
        _delete_messages(pool, list(listed))
        # A reply stored meanwhile moves its conversation's updated_at: reading them again just before their
        # items go leaves a window of one round trip, not the whole run.
        changed = [i for i, updated_at in _updated_at(list(listed)).items() if updated_at != listed[i]]
        _delete_messages(pool, changed)
        meta_keys = [{"pk": {"S": conversation_pk(i)}, "sk": {"S": META_SK}} for i in listed]
        _drain(pool.map(_batch_delete, _chunks(meta_keys, BATCH_SIZE)))
    return len(listed)


def _delete_messages(pool: ThreadPoolExecutor, conversation_ids: list[str]) -> None:
    keys = [key for keys in pool.map(_message_and_marker_keys, conversation_ids) for key in keys]
    _drain(pool.map(_batch_delete, _chunks(keys, BATCH_SIZE)))


def _owner_conversations(owner: str) -> Iterator[tuple[str, str]]:
    """Yield the id and updated_at of each of the owner's conversations (a paged Query on by_owner)."""
    for item in _query_all(
        IndexName="by_owner",
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": {"S": owner}},
        ProjectionExpression="pk, updated_at",
    ):
        yield item["pk"]["S"].removeprefix("conv#"), item["updated_at"]["S"]


def _updated_at(conversation_ids: list[str]) -> dict[str, str]:
    """Return the updated_at of each conversation still there, read consistently."""
    keys = [{"pk": {"S": conversation_pk(i)}, "sk": {"S": META_SK}} for i in conversation_ids]
    items = _batch_get(keys, ProjectionExpression="pk, updated_at")
    return {item["pk"]["S"].removeprefix("conv#"): item["updated_at"]["S"] for item in items}


def _batch_get(keys: list[dict[str, Any]], **parameters: Any) -> Iterator[dict[str, Any]]:
    """Yield the items there are of `keys`, read consistently, 100 a BatchGetItem (unprocessed keys asked again)."""
    client, table = dynamodb_client(), ConversationItem.Meta.table_name
    while keys:
        request = {"Keys": keys[:100], "ConsistentRead": True, **parameters}
        answer = client.batch_get_item(RequestItems={table: request})
        yield from answer.get("Responses", {}).get(table, [])
        keys = keys[100:] + answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])


def _message_and_marker_keys(conversation_id: str) -> list[dict[str, Any]]:
    """Return the keys of a conversation's messages and of their replies' request markers (not its own item)."""
    keys: list[dict[str, Any]] = []
    for item in _query_all(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": conversation_pk(conversation_id)}},
        ProjectionExpression="pk, sk, request_pk",
        ConsistentRead=True,
    ):
        if item["sk"]["S"] == META_SK:
            continue
        keys.append({"pk": item["pk"], "sk": item["sk"]})
        if "request_pk" in item:
            keys.append({"pk": item["request_pk"], "sk": {"S": "request"}})
    return keys


def _query_all(**parameters: Any) -> Iterator[dict[str, Any]]:
    client, table = dynamodb_client(), ConversationItem.Meta.table_name
    start: dict[str, Any] | None = None
    while True:
        page = client.query(TableName=table, **parameters, **({"ExclusiveStartKey": start} if start else {}))
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def _batch_delete(keys: Sequence[dict[str, Any]]) -> None:
    """Delete up to 25 items in one BatchWriteItem, retrying what DynamoDB leaves unprocessed (with backoff)."""
    client, table = dynamodb_client(), ConversationItem.Meta.table_name
    requests = [{"DeleteRequest": {"Key": key}} for key in keys]
    for attempt in range(BATCH_ATTEMPTS):
        unprocessed = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
        requests = unprocessed.get(table, [])
        if not requests:
            return
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise RuntimeError(f"DynamoDB left {len(requests)} deletes unprocessed after {BATCH_ATTEMPTS} attempts")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _drain(results: Iterable[object]) -> None:
    """Wait for every task of a pool.map, raising the first failure."""
    for _ in results:
        pass


# ---------------------------------------------------------------- feedback


def reply_find(conversation_id: str, message_id: str) -> tuple[ConversationMeta | None, MessageItem | None]:
    """Return the conversation item and the message with `message_id` (None for either missing), in one Query."""
    # The message's sort key does not hold its id, so the Query filters the conversation's items on it.
    condition = (MessageItem.message_id == message_id) | ConversationMeta.title.exists()
    meta, message = None, None
    items = ConversationItem.query(conversation_pk(conversation_id), filter_condition=condition, consistent_read=True)
    for item in items:
        if isinstance(item, ConversationMeta):
            meta = item
        elif isinstance(item, MessageItem):
            message = item
    return meta, message


FEEDBACK_FIELDS = ("feedback_rating", "feedback_reason", "feedback_comment", "feedback_at")


def reply_feedback_set(message: MessageItem, *, feedback: dict[str, str | None]) -> dict[str, str]:
    """Store feedback (FEEDBACK_FIELDS → value or None) on a message; return what it replaced (read atomically)."""
    actions = [
        getattr(MessageItem, name).set(value) if value else getattr(MessageItem, name).remove()
        for name, value in feedback.items()
    ]
    return _message_update(message, actions)


def reply_feedback_remove(message: MessageItem) -> dict[str, str]:
    """Remove the feedback on a stored message; return what it was (empty when none)."""
    return _message_update(message, [getattr(MessageItem, name).remove() for name in FEEDBACK_FIELDS])


def _message_update(message: MessageItem, actions: list[Any]) -> dict[str, str]:
    try:
        answer = ConversationItem._get_connection().update_item(  # noqa: SLF001 - the one way to get ALL_OLD
            message.pk,
            message.sk,
            actions=actions,
            condition=ConversationItem.pk.exists(),
            return_values="ALL_OLD",
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConversationGone from exc  # the message is not there any more
        raise
    old = answer.get("Attributes", {})
    return {name: old[name]["S"] for name in FEEDBACK_FIELDS if name in old}


def feedback_count_add(day: date, bucket: str, delta: int) -> None:
    """Add `delta` to the day's count of `bucket` (one atomic ADD)."""
    dynamodb_client().update_item(
        TableName=ConversationItem.Meta.table_name,
        Key={"pk": {"S": f"feedback#{day.isoformat()}"}, "sk": {"S": FEEDBACK_SK}},
        UpdateExpression="ADD #bucket :delta",
        ExpressionAttributeNames={"#bucket": bucket},
        ExpressionAttributeValues={":delta": {"N": str(delta)}},
    )


def feedback_counts(days: Sequence[date]) -> dict[date, dict[str, int]]:
    """Return each day's feedback counts by bucket (days without any: empty)."""
    counts: dict[date, dict[str, int]] = {day: {} for day in days}
    keys = [{"pk": {"S": f"feedback#{day.isoformat()}"}, "sk": {"S": FEEDBACK_SK}} for day in days]
    for item in _batch_get(keys):
        day = date.fromisoformat(item["pk"]["S"].removeprefix("feedback#"))
        counts[day] = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    return counts


def user_turns_up_to(message: MessageItem, *, count: int) -> list[str]:
    """Return the last `count` user turns of the conversation up to `message`'s own pair, oldest first (one Query)."""
    items = ConversationItem.query(
        message.pk,
        ConversationItem.sk.between("msg#", message.sk),
        scan_index_forward=False,
        limit=2 * count + 1,
        consistent_read=True,
    )
    turns = [item.content for item in items if isinstance(item, MessageItem) and item.role == "user"]
    return turns[:count][::-1]
