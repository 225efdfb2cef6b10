"""The chat over API Gateway's WebSocket API: a frame in, the pipeline's events out as frames through @connections.

API Gateway invokes the function once per client frame ($default), and the function answers by posting
frames to the connection through the Management API, for as long as the reply takes (past the integration's
29 s). See DESIGN.md "Streaming chat over WebSocket (v1)" for the frames.
"""

import functools
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rest_framework import serializers

from chatapp.chat.events import Accepted, ChatEvent, ClientGone, Delta
from chatapp.chat.pipeline import conversation_reply_events
from chatapp.fields import StrictCharField
from chatapp.origins import socket_origin_allowed
from chatapp.parsers import json_document
from chatapp.repositories import Message
from chatapp.serializers import REQUEST_ID_MAX_CHARS, ChatMessageSerializer, MessageSerializer
from chatapp.tickets import socket_ticket_holder, socket_ticket_session_check
from core import observability
from core.aws import chat_request_worst_case, connections_client
from core.exceptions import ApplicationError, InvalidRequest, as_application_error

logger = logging.getLogger(__name__)


class ChatFrameSerializer(ChatMessageSerializer):
    """The POST's message rules (chatapp.serializers), plus the frame's action and ticket."""

    action = serializers.ChoiceField(["chat"])
    ticket = StrictCharField(required=False, allow_blank=True, default="")  # missing: ticket_invalid
    request_id = StrictCharField(max_length=REQUEST_ID_MAX_CHARS)  # required: every frame back carries it


class ConnectionLost(Exception):
    """A frame could not be delivered: the client closed the socket (410 Gone) or the Management API failed."""


class ClientSocket:
    """One client's socket, reached through the Management API of the stage that invoked us."""

    def __init__(self, event: dict[str, Any]) -> None:
        context = event["requestContext"]
        self.connection_id = context["connectionId"]
        self.source_ip = observability.event_client_ip(event)
        endpoint = f"https://{context['domainName']}/{context['stage']}"
        standard = os.environ.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
        self._client = connections_client(None if standard else endpoint)
        self.frames_sent = 0

    def send(self, frame: dict[str, Any]) -> None:
        """Post one JSON text frame to the client; raise ConnectionLost when it cannot be delivered."""
        data = json.dumps(frame, ensure_ascii=False).encode()
        try:
            self._client.post_to_connection(ConnectionId=self.connection_id, Data=data)
        except (ClientError, BotoCoreError) as exc:  # GoneException (410) when the client has closed
            gone = isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "GoneException"
            observability.record(connection="gone" if gone else "send_failed")
            if not gone:
                observability.record(send_error=f"{type(exc).__name__}: {exc}"[:300])
            raise ConnectionLost from exc
        self.frames_sent += 1


def socket_connect(event: dict[str, Any]) -> dict[str, Any]:
    """Accept a connection from an allowed origin; the ticket in each chat frame says whose chat it is."""
    if not socket_origin_allowed(event=event):
        return {"statusCode": 403}
    return {"statusCode": 200}


def socket_disconnect(event: dict[str, Any]) -> dict[str, Any]:
    """Nothing to clean up: a reply in progress notices the closed socket at its next frame (410)."""
    return {"statusCode": 200}


def socket_message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one client frame: a chat message answered as frames; anything unreadable gets `invalid_request`."""
    request_id = getattr(context, "aws_request_id", None) or event["requestContext"].get("requestId", "")
    client_ip = observability.event_client_ip(event)
    with observability.request_record(request_id=request_id, transport="websocket", client_ip=client_ip) as record:
        try:
            connection = ClientSocket(event)
        except Exception as exc:  # no way to answer the client: log it, and tell API Gateway the invocation failed
            observability.record_error(_application_error(exc))
            record["status"] = 500
            return {"statusCode": 500}
        frame: dict[str, Any] = {}
        try:
            frame = _parse(event.get("body"))
            _chat(connection, frame, deadline=_deadline(context))
            record["status"] = 200
        except ConnectionLost:
            record["status"] = 200
        except Exception as exc:  # noqa: BLE001 - every failure becomes an error frame, never a traceback
            error = _application_error(exc)
            record["status"] = error.status_code
            chat_request_id = frame.get("request_id") if isinstance(frame.get("request_id"), str) else None
            _send_error(connection, chat_request_id, error)
        finally:
            record["frames_sent"] = connection.frames_sent
    return {"statusCode": 200}


def _chat(connection: ClientSocket, frame: dict[str, Any], *, deadline: float | None) -> None:
    serializer = ChatFrameSerializer(data=frame)
    if not serializer.is_valid():
        raise InvalidRequest("Some fields are not valid.", fields=serializer.errors)
    data = serializer.validated_data
    holder = socket_ticket_holder(ticket=data["ticket"])
    owner = holder.owner
    observability.record(chat_request_id=data["request_id"])
    conversation_id = data.get("conversation_id")
    events = conversation_reply_events(
        owner=owner,
        ip=connection.source_ip,
        raw=data["message"],
        conversation_id=str(conversation_id) if conversation_id else None,
        request_id=data["request_id"],
        deadline=deadline,
        # Whether the ticket's session still lives is read with the pipeline's first reads, not before them.
        admission=functools.partial(socket_ticket_session_check, holder=holder),
        replaces=str(data["replaces"]) if data.get("replaces") else None,
    )
    _deliver(connection, events, data["request_id"])


def _deliver(connection: ClientSocket, events: Iterator[ChatEvent], request_id: str) -> None:
    """Send each event as a frame; when one cannot be delivered, tell the events (ClientGone) and carry on."""
    gone = False
    event = next(events, None)
    while event is not None:
        try:
            if gone:
                raise ConnectionLost
            connection.send(_frame(event, request_id))
        except ConnectionLost:
            gone = True
            try:
                event = events.throw(ClientGone())
            except StopIteration:
                event = None
            continue
        event = next(events, None)
    if gone:
        raise ConnectionLost


def _frame(event: ChatEvent, request_id: str) -> dict[str, Any]:
    """Return the contract's frame for one event of a reply."""
    if isinstance(event, Accepted):
        screening = {"verdict": "safe", "source": event.verdict_source}
        return {
            "type": "accepted",
            "request_id": request_id,
            "conversation_id": event.conversation_id,
            "screening": screening,
        }
    if isinstance(event, Delta):
        return {"type": "delta", "request_id": request_id, "text": event.text}
    reply = event.reply
    return {
        "type": "done",
        "request_id": request_id,
        "conversation_id": reply.conversation_id,
        "message": _message(reply.message),
    }


def _message(message: Message) -> dict[str, Any]:
    return dict(MessageSerializer(message).data)  # the HTTP API's shape, so both transports say the same


def _send_error(connection: ClientSocket, request_id: str | None, error: ApplicationError) -> None:
    observability.record_error(error)
    body = error.payload()
    if retry_after := error.headers().get("Retry-After"):
        body["error"]["retry_after"] = int(retry_after)
    try:
        connection.send({"type": "error", "request_id": request_id, **body})
    except ConnectionLost:
        pass


def _application_error(exc: Exception) -> ApplicationError:
    error = as_application_error(exc)
    if error is None:
        logger.error("unhandled error", exc_info=exc, extra={"event": "unhandled_error"})
        error = ApplicationError(cause=exc)
    return error


def _parse(body: Any) -> dict[str, Any]:
    """Return the frame as an object, read by the HTTP API's JSON rules (InvalidRequest); any other value is {}."""
    frame = json_document(body) if isinstance(body, str | bytes) else None
    return frame if isinstance(frame, dict) else {}


def _deadline(context: Any) -> float | None:
    """Return when a reply must end so that storing it fits in what is left of the Lambda invocation."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    margin = chat_request_worst_case()["dynamodb"] + 2
    return time.monotonic() + remaining() / 1000 - margin
