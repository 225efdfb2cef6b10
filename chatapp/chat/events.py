"""What the chat pipeline yields to a transport, and what a transport throws back into it."""

from dataclasses import dataclass

from chatapp.repositories import Message


@dataclass(frozen=True)
class ChatReply:
    conversation_id: str
    message: Message
    verdict_source: str


@dataclass(frozen=True)
class Accepted:
    conversation_id: str
    verdict_source: str


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Done:
    reply: ChatReply


ChatEvent = Accepted | Delta | Done


class ClientGone(Exception):
    """The client cannot be reached any more (its socket closed): thrown into the events by the transport."""
