"""The conversations table (one item per conversation, message and idempotent request) and rate counters.

Layout of `{prefix}conversations` (pk, sk):
  conv#<id>, ~meta                      the conversation: owner, title, created/updated (sorts after messages)
  conv#<id>, msg#<pair time>#<pair>#0|1  one message; a user message and its reply share a prefix, so
                                        concurrent pairs never interleave
  req#<owner>#<request id>, request     the answer to a request_id, for retries (expires after a day); the
                                        reply's message item names it, so deleting the conversation finds it
  owned#session:<key>, conversations   the conversations an anonymous session started, and who it became at
                                        sign-in (its successor), for moving them to the person
The sparse GSI `by_owner` (owner, updated_at) holds only conversation items: listing is one Query.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from core.dynamodb import TableModel, dynamodb_table, share_client, table_meta

META_SK = "~meta"
REQUEST_TTL = timedelta(days=1)


class ByOwnerIndex(GlobalSecondaryIndex["ConversationItem"]):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


@dynamodb_table
class ConversationItem(TableModel):
    """Any item of the conversations table; the `kind` attribute picks the subclass on read."""

    Meta = table_meta("conversations")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    # Set on conversation items only, which keeps the by_owner index sparse.
    owner = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    by_owner = ByOwnerIndex()
    # The table's TTL attribute (declared here so create_table enables it); only request markers expire.
    expires_at = TTLAttribute(null=True)


class ConversationMeta(ConversationItem, discriminator="conversation"):
    title = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # The title case-folded (`title_search_key`): searching titles is a filter on the by_owner Query.
    title_search = UnicodeAttribute(null=True)
    # Exchanges stored so far (absent on conversations stored before it: 0). An exchange is stored only on the
    # count read with the history it was screened with, so concurrent turns take one order (chatapp.chat.turn_order).
    turns = NumberAttribute(null=True)
    # The anonymous session it was moved from at sign-in: a reply that session was writing then still lands.
    previous_owner = UnicodeAttribute(null=True)


class MessageItem(ConversationItem, discriminator="message"):
    message_id = UnicodeAttribute()
    role = UnicodeAttribute()
    content = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # On a reply to a request with a request_id: where its request marker is (`request_pk`).
    request_pk = UnicodeAttribute(null=True)
    # Assistant messages only; items stored before stop reasons existed were complete replies (end_turn).
    stop_reason = UnicodeAttribute(null=True)
    # The person's feedback on a reply (chatapp.history): up or down, an optional reason and comment, when.
    feedback_rating = UnicodeAttribute(null=True)
    feedback_reason = UnicodeAttribute(null=True)
    feedback_comment = UnicodeAttribute(null=True)
    feedback_at = UnicodeAttribute(null=True)


class RequestItem(ConversationItem, discriminator="request"):
    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    content = UnicodeAttribute()
    created_at = UnicodeAttribute()
    verdict_source = UnicodeAttribute()
    stop_reason = UnicodeAttribute(null=True)


class TicketItem(ConversationItem, discriminator="ticket"):
    """A WebSocket ticket: a random id standing for its owner, so the ticket never carries the session key."""

    ticket_owner = UnicodeAttribute()
    # The session that asked for it: the ticket works only while that session lives (none: issued before that).
    ticket_session = UnicodeAttribute(null=True)


def ticket_put(ticket_id: str, *, owner: str, session_key: str, expires_at: datetime) -> None:
    """Store (or renew) a ticket id for `owner` and its session until `expires_at` (then the TTL deletes it)."""
    TicketItem(
        f"ticket#{ticket_id}", "ticket", ticket_owner=owner, ticket_session=session_key, expires_at=expires_at
    ).save()


def ticket_holder(ticket_id: str) -> tuple[str, str] | None:
    """Return the owner and session key a live ticket id stands for, or None."""
    try:
        item = ConversationItem.get(f"ticket#{ticket_id}", "ticket", consistent_read=True)
    except DoesNotExist:
        return None
    live = item.expires_at is not None and item.expires_at > datetime.now(tz=UTC)
    if not (isinstance(item, TicketItem) and live and item.ticket_session):
        return None
    return item.ticket_owner, item.ticket_session


def conversation_pk(conversation_id: str) -> str:
    return f"conv#{conversation_id}"


def request_pk(owner: str, request_id: str) -> str:
    return f"req#{owner}#{request_id}"


@dataclass(frozen=True)
class Message:
    id: str
    role: str
    content: str
    created_at: str
    stop_reason: str | None = None  # assistant messages: end_turn, max_tokens, stopped or time_limit
    feedback: dict[str, str] | None = None  # assistant messages the person rated: rating, reason?, comment?

    @classmethod
    def from_item(cls, item: "MessageItem") -> "Message":
        stop_reason = (item.stop_reason or "end_turn") if item.role == "assistant" else None
        return cls(item.message_id, item.role, item.content, item.created_at, stop_reason, _feedback(item))


def _feedback(item: "MessageItem") -> dict[str, str] | None:
    if not item.feedback_rating:
        return None
    given = {"rating": item.feedback_rating, "reason": item.feedback_reason, "comment": item.feedback_comment}
    return {name: value for name, value in given.items() if value}


def title_search_key(title: str) -> str:
    """Return what title search matches against: the title case-folded (so "STRASSE" finds "Straße")."""
    return title.casefold()


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: "ConversationMeta") -> "Conversation":
        return cls(item.pk.removeprefix("conv#"), item.title, item.created_at, item.updated_at or item.created_at)


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
    """Return up to `limit` of the owner's conversations, most recently updated first, and whether more follow.

    `after` is the `conversation_position` of the last one already listed; the Query resumes there
    (ExclusiveStartKey), so a conversation updated meanwhile moves to the top instead of shifting the pages.
    One Query on the by_owner index; it asks for one item more than it returns to tell whether more follow.
    """
    start = None
    if after is not None:
        conversation_id, updated_at = after
        start = _key(owner=owner, updated_at=updated_at, pk=conversation_pk(conversation_id), sk=META_SK)
    items = ConversationItem.by_owner.query(owner, scan_index_forward=False, limit=limit + 1, last_evaluated_key=start)
    conversations = [item for item in items if isinstance(item, ConversationMeta)]
    return conversations[:limit], len(conversations) > limit


def conversation_position(item: ConversationMeta) -> tuple[str, str]:
    """Return where a conversation sits in its owner's list: (conversation id, updated_at)."""
    return item.pk.removeprefix("conv#"), item.updated_at or item.created_at


def messages_page(
    conversation_id: str, *, limit: int, before: tuple[str, str] | None
) -> tuple[ConversationMeta | None, list[MessageItem], bool]:
    """Return the conversation item (first page only), up to `limit` messages (oldest first) and whether more precede.

    The page is the latest `limit` messages, or those just before the pair at `before` (a `pair_position`,
    as ExclusiveStartKey). One Query, newest first on the table's own order, one item more than the page
    to tell whether earlier ones exist; the conversation item sorts after every message, so the first page
    reads it in the same Query. Nothing older than the page is read.
    """
    pk = conversation_pk(conversation_id)
    start = _key(pk=pk, sk=_message_sort_key(*before, position=0)) if before is not None else None
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


def _message_sort_key(pair_time: str, pair_id: str, *, position: int) -> str:
    return f"msg#{pair_time}#{pair_id}#{position}"


def conversation_meta(conversation_id: str) -> ConversationMeta | None:
    """Return the conversation item, or None when there is no such conversation (one GetItem)."""
    try:
        item = ConversationItem.get(conversation_pk(conversation_id), META_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return item if isinstance(item, ConversationMeta) else None


def _key(**attributes: str) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in attributes.items()}


def request_get(owner: str, request_id: str) -> RequestItem | None:
    """Return the stored answer to `request_id`, if that request completed."""
    try:
        item = ConversationItem.get(request_pk(owner, request_id), "request", consistent_read=True)
    except DoesNotExist:
        return None
    live = item.expires_at is None or item.expires_at > datetime.now(tz=UTC)
    return item if isinstance(item, RequestItem) and live else None


class ConversationGone(Exception):
    """The conversation was deleted (or is not the owner's) while the reply was being written."""


class RequestAlreadyStored(Exception):
    """Another attempt with the same request_id stored its answer first."""


class TurnsMoved(Exception):
    """Another exchange was stored in the conversation since its history was read."""


class ExchangeStale(Exception):
    """The pair a replacement was to replace is no longer the conversation's last: replaced, or followed."""


StoredPair = tuple[MessageItem, MessageItem]  # a stored user message and its reply, as read


# The items of an exchange's transaction, named to tell which one's condition cancelled it.
CONVERSATION, USER_MESSAGE, REPLY, REQUEST_MARKER = "conversation", "user message", "reply", "request marker"
SESSION_CONVERSATIONS = "session conversations"
REPLACED = REPLACED_USER_MESSAGE, REPLACED_REPLY, REPLACED_MARKER = (
    "replaced user message",
    "replaced reply",
    "replaced request marker",
)


def exchange_store(
    *,
    owner: str,
    conversation_id: str,
    title: str | None,
    pair: tuple[Message, Message],
    request_id: str | None,
    verdict_source: str,
    now: datetime,
    after_turns: int,
    replaces: StoredPair | None = None,
) -> None:
    """Store a user message and its reply atomically, with the conversation item and the request marker.

    `title` set means a new conversation. `after_turns` is the conversation's turn count read with the history
    the message was screened with. `replaces` is a stored pair (as read with that count) that the new one takes
    the place of: it is deleted, with its request marker, in the same transaction, only while it is there and no
    exchange was stored since (so it is still the last). Raise ConversationGone, RequestAlreadyStored, TurnsMoved
    (another exchange was stored since) or, for a replacement, ExchangeStale instead, when a condition fails;
    nothing is written then.
    """
    pk = conversation_pk(conversation_id)
    marker_pk = request_pk(owner, request_id) if request_id else None
    transaction = _NamedTransaction()
    _conversation_write(transaction, pk, owner=owner, title=title, now=now, after_turns=after_turns)
    if title is not None and owner.startswith("session:"):
        _session_conversation_add(transaction, owner, conversation_id, now=now)
    user_item, reply_item = _pair_items(pk, pair, marker_pk=marker_pk)
    transaction.put(USER_MESSAGE, user_item)
    transaction.put(REPLY, reply_item)
    if marker_pk is not None:
        _request_marker_write(transaction, marker_pk, conversation_id, pair[1], verdict_source=verdict_source, now=now)
    if replaces is not None:
        _replaced_pair_delete(transaction, replaces, keep_marker=marker_pk)
    try:
        transaction.commit()
    except TransactWriteError as exc:
        failed = transaction.failed(exc)
        if SESSION_CONVERSATIONS in failed and (successor := owner_successor(owner)) is not None:
            # The session signed in while this reply was written: the new conversation is the person's.
            return exchange_store(
                owner=successor,
                conversation_id=conversation_id,
                title=title,
                pair=pair,
                request_id=request_id,
                verdict_source=verdict_source,
                now=now,
                after_turns=after_turns,
                replaces=replaces,
            )
        if REQUEST_MARKER in failed:
            raise RequestAlreadyStored from exc
        if CONVERSATION in failed or failed.intersection(REPLACED):
            meta = conversation_meta(conversation_id)  # which of its conditions failed: one read, on this rare path
            moved = title is None and meta is not None and owner in (meta.owner, meta.previous_owner)
            if not moved:
                raise ConversationGone from exc
            raise (ExchangeStale if replaces is not None else TurnsMoved) from exc
        raise


def _conversation_write(
    transaction: "_NamedTransaction", pk: str, *, owner: str, title: str | None, now: datetime, after_turns: int
) -> None:
    """Add the conversation item: a new one when `title` is set (none may exist yet), else the owner's, counted
    one turn on from `after_turns` (only if no other exchange was stored since), and updated."""
    updated_at = now.isoformat()
    if title is not None:
        meta = ConversationMeta(
            pk,
            META_SK,
            owner=owner,
            updated_at=updated_at,
            title=title,
            title_search=title_search_key(title),
            created_at=updated_at,
            turns=1,
        )
        transaction.put(CONVERSATION, meta, condition=ConversationItem.pk.does_not_exist())
    else:
        actions = [ConversationItem.updated_at.set(updated_at), ConversationMeta.turns.add(1)]
        unchanged = ConversationMeta.turns == after_turns
        if after_turns == 0:
            unchanged |= ConversationMeta.turns.does_not_exist()
        owned = (ConversationItem.owner == owner) | (ConversationMeta.previous_owner == owner)
        condition = owned & unchanged
        transaction.update(CONVERSATION, ConversationMeta(pk, META_SK), actions, condition=condition)


def _replaced_pair_delete(transaction: "_NamedTransaction", replaces: StoredPair, *, keep_marker: str | None) -> None:
    """Add the deletes of a replaced pair, each only while it exists, and of its reply's request marker.

    Without its marker, replaying the replaced reply's request_id finds nothing: it is answered afresh.
    """
    user, reply = replaces
    transaction.delete(REPLACED_USER_MESSAGE, user, condition=ConversationItem.sk.exists())
    transaction.delete(REPLACED_REPLY, reply, condition=ConversationItem.sk.exists())
    # The same request_id again is the same request: its marker is the new one's (its put refuses a live one).
    if reply.request_pk and reply.request_pk != keep_marker:
        transaction.delete(REPLACED_MARKER, ConversationItem(reply.request_pk, "request"))


def _pair_items(pk: str, pair: tuple[Message, Message], *, marker_pk: str | None) -> list[MessageItem]:
    """Return the items of a user message and its reply, which share a sort-key prefix; the reply names the marker."""
    user, reply = pair
    return [
        MessageItem(
            pk,
            _message_sort_key(user.created_at, user.id, position=position),
            message_id=message.id,
            role=message.role,
            content=message.content,
            created_at=message.created_at,
            request_pk=marker_pk if message is reply else None,
            stop_reason=message.stop_reason,
        )
        for position, message in enumerate(pair)
    ]


def _request_marker_write(
    transaction: "_NamedTransaction",
    marker_pk: str,
    conversation_id: str,
    reply: Message,
    *,
    verdict_source: str,
    now: datetime,
) -> None:
    """Add the answer to a request_id, for retries; only where no live marker is (RequestAlreadyStored)."""
    marker = RequestItem(
        marker_pk,
        "request",
        conversation_id=conversation_id,
        message_id=reply.id,
        content=reply.content,
        created_at=reply.created_at,
        verdict_source=verdict_source,
        stop_reason=reply.stop_reason,
        expires_at=now + REQUEST_TTL,
    )
    # An expired marker may still be there (TTL deletes lazily): it no longer counts.
    condition = ConversationItem.pk.does_not_exist() | (ConversationItem.expires_at < now)
    transaction.put(REQUEST_MARKER, marker, condition=condition)


class _NamedTransaction:
    """The items of one TransactWriteItems, each under a name, so that a cancellation says whose condition failed."""

    def __init__(self) -> None:
        self._deletes: dict[str, tuple[ConversationItem, Condition | None]] = {}
        self._puts: dict[str, tuple[ConversationItem, Condition | None]] = {}
        self._updates: dict[str, tuple[ConversationItem, list[Action], Condition | None]] = {}

    def delete(self, name: str, item: ConversationItem, condition: Condition | None = None) -> None:
        self._deletes[name] = (item, condition)

    def put(self, name: str, item: ConversationItem, condition: Condition | None = None) -> None:
        self._puts[name] = (item, condition)

    def update(self, name: str, item: ConversationItem, actions: list[Action], condition: Condition | None) -> None:
        self._updates[name] = (item, actions, condition)

    def commit(self) -> None:
        """Write every item or none; TransactWriteError when the transaction is cancelled."""
        with TransactWrite(connection=_transaction_connection()) as transaction:
            for item, condition in self._deletes.values():
                transaction.delete(item, condition=condition)
            for item, condition in self._puts.values():
                transaction.save(item, condition=condition)
            for item, actions, update_condition in self._updates.values():
                transaction.update(item, actions=actions, condition=update_condition)

    def failed(self, error: TransactWriteError) -> set[str]:
        """Return the names of the items whose condition cancelled the transaction."""
        # One reason per item, in the order sent; PynamoDB sends every delete, then every put, then every update,
        # whatever the order they were added in (a follow-up's conversation update goes last).
        names = [*self._deletes, *self._puts, *self._updates]
        reasons = error.cancellation_reasons or []
        return {
            name
            for name, reason in zip(names, reasons, strict=False)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        }


@functools.cache
def _transaction_connection() -> Connection:
    meta = ConversationItem.Meta
    connection = Connection(
        region=meta.region,
        connect_timeout_seconds=meta.connect_timeout_seconds,
        read_timeout_seconds=meta.read_timeout_seconds,
        max_retry_attempts=meta.max_retry_attempts,
        max_pool_connections=meta.max_pool_connections,
    )
    return share_client(connection)


def conversation_delete_items(conversation_id: str) -> bool:
    """Delete every item of a conversation and the request markers of its replies; False when there was none.

    Without its marker, replaying a deleted reply's request_id finds nothing: it is answered afresh.
    """
    items = list(conversation_items(conversation_id))
    markers = [ConversationItem(i.request_pk, "request") for i in items if isinstance(i, MessageItem) and i.request_pk]
    with ConversationItem.batch_write() as batch:
        for item in markers + items:
            batch.delete(item)
    return bool(items)


# Sign-in: an anonymous session's conversations move to the person (chatapp.services.conversations_transfer).


class SessionConversationsItem(ConversationItem, discriminator="session conversations"):
    """The conversations an anonymous session started, and who it became at sign-in (if it did).

    Written in the transaction that starts each conversation, on the condition that the session has no
    successor yet: reading it is a consistent list of the session's conversations (the by_owner index is
    only eventually consistent), and once the successor is set no conversation can start under the session.
    """

    conversation_ids = UnicodeSetAttribute(null=True)
    successor = UnicodeAttribute(null=True)


SESSION_CONVERSATIONS_SK = "conversations"
# Kept as long as the session could live, and a day more for a reply still being written at its end.
SESSION_CONVERSATIONS_TTL = timedelta(days=15)


def session_conversations_pk(owner: str) -> str:
    return f"owned#{owner}"


def _session_conversation_add(
    transaction: "_NamedTransaction", owner: str, conversation_id: str, *, now: datetime
) -> None:
    """Add a new conversation to its session's list, unless the session has signed in (SESSION_CONVERSATIONS)."""
    item = SessionConversationsItem(session_conversations_pk(owner), SESSION_CONVERSATIONS_SK)
    actions = [
        ConversationItem.kind.set(SessionConversationsItem),
        SessionConversationsItem.conversation_ids.add({conversation_id}),
        ConversationItem.expires_at.set(now + SESSION_CONVERSATIONS_TTL),
    ]
    transaction.update(SESSION_CONVERSATIONS, item, actions, SessionConversationsItem.successor.does_not_exist())


def owner_successor_set(owner: str, *, successor: str, now: datetime) -> set[str]:
    """Record that the session `owner` is now `successor`; return the ids of every conversation it started.

    From then on a new conversation stored for `owner` goes to `successor` (exchange_store).
    """
    item = SessionConversationsItem(session_conversations_pk(owner), SESSION_CONVERSATIONS_SK)
    item.update(
        actions=[
            ConversationItem.kind.set(SessionConversationsItem),
            SessionConversationsItem.successor.set(successor),
            ConversationItem.expires_at.set(now + SESSION_CONVERSATIONS_TTL),
        ]
    )
    return set(item.conversation_ids or ())


def owner_successor(owner: str) -> str | None:
    """Return who the session `owner` became at sign-in, or None."""
    try:
        item = ConversationItem.get(session_conversations_pk(owner), SESSION_CONVERSATIONS_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return item.successor if isinstance(item, SessionConversationsItem) else None


def owner_conversation_ids(owner: str) -> list[str]:
    """Return the ids of every conversation of `owner`, all pages of the by_owner index read."""
    items = ConversationItem.by_owner.query(owner, page_size=100)
    return [item.pk.removeprefix("conv#") for item in items]


def conversation_owner_move(conversation_id: str, *, owner: str, successor: str) -> bool:
    """Give `owner`'s conversation to `successor`, remembering `owner`; False when it is not `owner`'s (any more)."""
    meta = ConversationMeta(conversation_pk(conversation_id), META_SK)
    actions = [ConversationItem.owner.set(successor), ConversationMeta.previous_owner.set(owner)]
    try:
        meta.update(actions=actions, condition=ConversationItem.owner == owner)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@dynamodb_table
class RateCounter(TableModel):
    """Requests counted in one window for one `{scope}#{ident}#{window}` key."""

    Meta = table_meta("rate_limits")

    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def rate_counter_hit(key: str, *, expires_at: datetime) -> int:
    """Count one request under `key` with one atomic ADD and return the count so far."""
    counter = RateCounter(key)
    counter.update(actions=[RateCounter.count.add(1), RateCounter.expires_at.set(expires_at)])
    return int(counter.count)
