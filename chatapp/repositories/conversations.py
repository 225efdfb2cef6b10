"""Reading the conversations table: a conversation, pages of its messages and of an owner's list, a request's
stored answer; and deleting a conversation with its request markers."""

from collections.abc import Iterator
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from chatapp.repositories.items import (
    META_SK,
    ConversationItem,
    ConversationMeta,
    MessageItem,
    RequestItem,
    attribute_key,
    conversation_pk,
    message_sort_key,
    request_pk,
)


def conversation_history(conversation_id: str, *, limit: int) -> tuple[ConversationMeta | None, list[MessageItem]]:
    """Return the conversation item and its last `limit` messages (oldest first), in one Query."""
    items = ConversationItem.query(
        conversation_pk(conversation_id), scan_index_forward=False, limit=limit + 1, consistent_read=True
    )
    meta, messages = _meta_and_messages(items)
    return meta, messages[::-1]


def _meta_and_messages(items: Iterator[ConversationItem]) -> tuple[ConversationMeta | None, list[MessageItem]]:
    """Split a conversation's items, in the order read, into its conversation item and its messages."""
    meta: ConversationMeta | None = None
    messages: list[MessageItem] = []
    for item in items:
        if isinstance(item, ConversationMeta):
            meta = item
        elif isinstance(item, MessageItem):
            messages.append(item)
    return meta, messages


def conversation_items(conversation_id: str) -> Iterator[ConversationItem]:
    """Yield every item of a conversation: its messages oldest first, then the conversation item."""
    return ConversationItem.query(conversation_pk(conversation_id), consistent_read=True)


def conversations_page(
    owner: str, *, limit: int, after: tuple[str, str] | None
) -> tuple[list[ConversationMeta], bool]:
    """Return up to `limit` of the owner's conversations, most recently updated first, and whether more follow."""
    start = None
    # The Query resumes after the last one already listed (ExclusiveStartKey), so a conversation updated meanwhile
    # moves to the top instead of shifting the pages.
    if after is not None:
        conversation_id, updated_at = after
        start = attribute_key(owner=owner, updated_at=updated_at, pk=conversation_pk(conversation_id), sk=META_SK)
    # One item more than it returns tells whether more follow.
    items = ConversationItem.by_owner.query(owner, scan_index_forward=False, limit=limit + 1, last_evaluated_key=start)
    conversations = [item for item in items if isinstance(item, ConversationMeta)]
    return conversations[:limit], len(conversations) > limit


def conversation_position(item: ConversationMeta) -> tuple[str, str]:
    """Return where a conversation sits in its owner's list: (conversation id, updated_at)."""
    return item.pk.removeprefix("conv#"), item.updated_at or item.created_at


def messages_page(
    conversation_id: str, *, limit: int, before: tuple[str, str] | None
) -> tuple[ConversationMeta | None, list[MessageItem], bool]:
    """Return the conversation item (first page only), up to `limit` messages (oldest first), whether more precede."""
    pk = conversation_pk(conversation_id)
    # The latest `limit` messages, or those just before the pair at `before` (a `pair_position`).
    start = attribute_key(pk=pk, sk=message_sort_key(*before, position=0)) if before is not None else None
    # One Query, newest first on the table's own order, one item more than the page to tell whether earlier ones
    # exist; the conversation item sorts after every message, so the first page reads it in the same Query.
    # Nothing older than the page is read.
    items = ConversationItem.query(
        pk,
        scan_index_forward=False,
        limit=limit + (1 if before is not None else 2),
        last_evaluated_key=start,
        consistent_read=True,
    )
    meta, messages = _meta_and_messages(items)
    return meta, messages[:limit][::-1], len(messages) > limit


def pair_position(item: MessageItem) -> tuple[str, str]:
    """Return where a message's pair sits in its conversation: (pair time, pair id), as in its sort key."""
    _, pair_time, pair_id, _ = item.sk.split("#")
    return pair_time, pair_id


def conversation_meta(conversation_id: str) -> ConversationMeta | None:
    """Return the conversation item, or None when there is no such conversation (one GetItem)."""
    try:
        item = ConversationItem.get(conversation_pk(conversation_id), META_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return item if isinstance(item, ConversationMeta) else None


def request_get(owner: str, request_id: str) -> RequestItem | None:
    """Return the stored answer to `request_id`, if that request completed."""
    try:
        item = ConversationItem.get(request_pk(owner, request_id), "request", consistent_read=True)
    except DoesNotExist:
        return None
    live = item.expires_at is None or item.expires_at > datetime.now(tz=UTC)
    return item if isinstance(item, RequestItem) and live else None


def conversation_delete_items(conversation_id: str) -> bool:
    """Delete every item of a conversation and the request markers of its replies; False when there was none."""
    items = list(conversation_items(conversation_id))
    # Without its marker, replaying a deleted reply's request_id finds nothing: it is answered afresh.
    markers = [ConversationItem(i.request_pk, "request") for i in items if isinstance(i, MessageItem) and i.request_pk]
    with ConversationItem.batch_write() as batch:
        for item in markers + items:
            batch.delete(item)
    return bool(items)
