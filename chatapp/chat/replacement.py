"""Replacing a conversation's last exchange (edit and resend, or regenerate): which pair goes, and when not.

The new message is answered like any other, in the context of the history before the replaced pair; the pair
is deleted in the transaction that stores the new one (`repositories.exchange_store`), so a blocked, failed or
unwritten reply leaves it where it was.
"""

from chatapp.repositories import MessageItem, StoredPair
from core.exceptions import Conflict

NOT_LAST = "Only the conversation's last message can be replaced: reload the conversation and try again."
STALE_REPLACEMENT = "The conversation changed while this message was answered: reload it and try again."


def last_pair_split(messages: list[MessageItem], *, replaces: str) -> tuple[list[MessageItem], StoredPair]:
    """Return the history without its last pair, and that pair; Conflict unless `replaces` is its user message."""
    # `messages` is the end of a conversation, oldest first, in whole pairs.
    if len(messages) < 2:
        raise Conflict(NOT_LAST)
    user, reply = messages[-2:]
    if user.role != "user" or reply.role != "assistant" or user.message_id != replaces:
        raise Conflict(NOT_LAST)
    return messages[:-2], (user, reply)
