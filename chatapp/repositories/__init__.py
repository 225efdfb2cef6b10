"""The DynamoDB repositories of the chat app, one module a table or an item kind; import them from here.

- `items`: the conversations table's model and item kinds (conversation, message, request marker), their keys;
- `conversations`: reading a conversation, pages of messages and of an owner's list; deleting a conversation;
- `exchanges`: storing a user message and its reply (and replacing the last pair) in one transaction;
- `transfers`: an anonymous session's conversations, moved to the person at sign-in;
- `tickets`: WebSocket tickets (items of the conversations table);
- `counters`: the rate_limits table.
"""

from chatapp.repositories.conversations import (
    conversation_delete_items,
    conversation_history,
    conversation_items,
    conversation_meta,
    conversation_position,
    conversations_page,
    messages_page,
    pair_position,
    request_get,
)
from chatapp.repositories.counters import (
    RateCounter,
    rate_counter_hit,
)
from chatapp.repositories.exchanges import (
    CONVERSATION,
    REPLACED,
    REPLACED_MARKER,
    REPLACED_REPLY,
    REPLACED_USER_MESSAGE,
    REPLY,
    REQUEST_MARKER,
    SESSION_CONVERSATIONS,
    USER_MESSAGE,
    ConversationGone,
    ExchangeStale,
    RequestAlreadyStored,
    StoredPair,
    TurnsMoved,
    exchange_store,
    transaction_connection,
)
from chatapp.repositories.items import (
    META_SK,
    REQUEST_TTL,
    ByOwnerIndex,
    Conversation,
    ConversationItem,
    ConversationMeta,
    Message,
    MessageItem,
    RequestItem,
    attribute_key,
    conversation_pk,
    message_sort_key,
    request_pk,
    title_search_key,
)
from chatapp.repositories.tickets import (
    TicketItem,
    ticket_holder,
    ticket_put,
)
from chatapp.repositories.transfers import (
    SESSION_CONVERSATIONS_SK,
    SESSION_CONVERSATIONS_TTL,
    SessionConversationsItem,
    conversation_owner_move,
    owner_conversation_ids,
    owner_successor,
    owner_successor_set,
    session_conversations_pk,
)

__all__ = [
    "META_SK",
    "REQUEST_TTL",
    "ByOwnerIndex",
    "Conversation",
    "ConversationItem",
    "ConversationMeta",
    "Message",
    "MessageItem",
    "RequestItem",
    "attribute_key",
    "conversation_pk",
    "message_sort_key",
    "request_pk",
    "title_search_key",
    "conversation_delete_items",
    "conversation_history",
    "conversation_items",
    "conversation_meta",
    "conversation_position",
    "conversations_page",
    "messages_page",
    "pair_position",
    "request_get",
    "CONVERSATION",
    "REPLACED",
    "REPLACED_MARKER",
    "REPLACED_REPLY",
    "REPLACED_USER_MESSAGE",
    "REPLY",
    "REQUEST_MARKER",
    "SESSION_CONVERSATIONS",
    "USER_MESSAGE",
    "ConversationGone",
    "ExchangeStale",
    "RequestAlreadyStored",
    "StoredPair",
    "TurnsMoved",
    "exchange_store",
    "transaction_connection",
    "SESSION_CONVERSATIONS_SK",
    "SESSION_CONVERSATIONS_TTL",
    "SessionConversationsItem",
    "conversation_owner_move",
    "owner_conversation_ids",
    "owner_successor",
    "owner_successor_set",
    "session_conversations_pk",
    "TicketItem",
    "ticket_holder",
    "ticket_put",
    "RateCounter",
    "rate_counter_hit",
]
