"""Storing an exchange: a user message and its reply, with the conversation item, the request marker and (when it
replaces one) the deletes of the last pair, in one transaction."""

import functools
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chatapp.repositories.conversations import conversation_meta
from chatapp.repositories.items import (
    META_SK,
    REQUEST_TTL,
    ConversationItem,
    ConversationMeta,
    Message,
    MessageItem,
    RequestItem,
    conversation_pk,
    message_sort_key,
    request_pk,
    title_search_key,
)
from chatapp.repositories.transfers import (
    SESSION_CONVERSATIONS_SK,
    SESSION_CONVERSATIONS_TTL,
    SessionConversationsItem,
    owner_successor,
    session_conversations_pk,
)
from core.dynamodb import share_client


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
    title: str | None,  # set: a new conversation
    pair: tuple[Message, Message],
    request_id: str | None,
    verdict_source: str,
    now: datetime,
    after_turns: int,  # the turn count read with the history the message was screened with
    replaces: StoredPair | None = None,  # a stored pair (read with that count) the new one takes the place of
) -> None:
    """Store a user message and its reply atomically, with the conversation item and the request marker.

    Raise ConversationGone, RequestAlreadyStored, TurnsMoved (another exchange was stored since) or, for a
    replacement, ExchangeStale instead, when a condition fails; nothing is written then.
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
    if replaces is not None:  # deleted only while it is there and no exchange was stored since: still the last
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
    """Add the conversation item: a new one when `title` is set, else the owner's, one turn on from `after_turns`."""
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
        unchanged = ConversationMeta.turns == after_turns  # no other exchange was stored since
        if after_turns == 0:
            unchanged |= ConversationMeta.turns.does_not_exist()
        owned = (ConversationItem.owner == owner) | (ConversationMeta.previous_owner == owner)
        condition = owned & unchanged
        transaction.update(CONVERSATION, ConversationMeta(pk, META_SK), actions, condition=condition)


def _replaced_pair_delete(transaction: "_NamedTransaction", replaces: StoredPair, *, keep_marker: str | None) -> None:
    """Add the deletes of a replaced pair, each only while it exists, and of its reply's request marker."""
    user, reply = replaces
    transaction.delete(REPLACED_USER_MESSAGE, user, condition=ConversationItem.sk.exists())
    transaction.delete(REPLACED_REPLY, reply, condition=ConversationItem.sk.exists())
    # Without its marker, replaying the replaced reply's request_id finds nothing: it is answered afresh. The same
    # request_id again is the same request: its marker is the new one's (its put refuses a live one).
    if reply.request_pk and reply.request_pk != keep_marker:
        transaction.delete(REPLACED_MARKER, ConversationItem(reply.request_pk, "request"))


def _pair_items(pk: str, pair: tuple[Message, Message], *, marker_pk: str | None) -> list[MessageItem]:
    """Return the items of a user message and its reply, which share a sort-key prefix; the reply names the marker."""
    user, reply = pair
    return [
        MessageItem(
            pk,
            message_sort_key(user.created_at, user.id, position=position),
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
        with TransactWrite(connection=transaction_connection()) as transaction:
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
def transaction_connection() -> Connection:
    meta = ConversationItem.Meta
    connection = Connection(
        region=meta.region,
        connect_timeout_seconds=meta.connect_timeout_seconds,
        read_timeout_seconds=meta.read_timeout_seconds,
        max_retry_attempts=meta.max_retry_attempts,
        max_pool_connections=meta.max_pool_connections,
    )
    return share_client(connection)


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
