"""The conversations table and its items, by kind (`kind` picks the class on read).

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

from dataclasses import dataclass
from datetime import timedelta

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from core.dynamodb import TableModel, dynamodb_table, table_meta

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
    # Assistant messages only; absent on replies stored before the attribute existed, which are complete (end_turn).
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


def message_sort_key(pair_time: str, pair_id: str, *, position: int) -> str:
    return f"msg#{pair_time}#{pair_id}#{position}"


def attribute_key(**attributes: str) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in attributes.items()}
