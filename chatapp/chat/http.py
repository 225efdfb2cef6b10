"""The chat over POST: the pipeline's events gathered into one answer, inside API Gateway's 29 s."""

import time

from django.conf import settings

from chatapp.chat.events import ChatReply, Done
from chatapp.chat.pipeline import conversation_reply_events


def conversation_reply(
    *, owner: str, ip: str, raw: str, conversation_id: str | None, request_id: str | None, replaces: str | None = None
) -> ChatReply:
    """Screen the message `raw` (as received), answer it and store both; nothing is stored on any failure."""
    events = conversation_reply_events(
        owner=owner,
        ip=ip,
        raw=raw,
        conversation_id=conversation_id,
        request_id=request_id,
        # The HTTP budget: what is still being written then is returned and stored with stop_reason `time_limit`.
        deadline=time.monotonic() + settings.POST_REPLY_SECONDS,
        replaces=replaces,
    )
    for event in events:
        if isinstance(event, Done):
            return event.reply
    raise AssertionError("a reply ends with Done or an error")  # pragma: no cover
