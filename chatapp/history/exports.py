"""A conversation written out as a file: Markdown to read, JSON to process (the API's own message shapes)."""

import json
from typing import Any

from django.utils.text import slugify

from chatapp.history.selectors import ConversationExport

CUT_NOTES = {
    "max_tokens": "Cut off: the reply reached its length limit.",
    "time_limit": "Cut off: the reply ran out of time.",
    "stopped": "Stopped before the end.",
}
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "json": "application/json"}


def export_filename(export: ConversationExport, *, file_format: str) -> str:
    """Return a download's file name: the title made safe, and the start of the id to tell same titles apart."""
    return f"{slugify(export.title, allow_unicode=True)[:60] or 'conversation'}-{export.id[:8]}.{file_format}"


def export_markdown(export: ConversationExport) -> str:
    """Return the conversation as Markdown: the title, then each message under its speaker and time."""
    lines = [f"# {_one_line(export.title)}", "", f"Started {export.created_at}, last active {export.updated_at}.", ""]
    for message in export.messages:
        speaker = "You" if message.role == "user" else "Assistant"
        lines += [f"## {speaker} ({message.created_at})", "", message.content, ""]
        if note := CUT_NOTES.get(message.stop_reason or ""):
            lines += [f"> {note}", ""]
    return "\n".join(lines)


def export_json(export: ConversationExport, messages: list[dict[str, Any]]) -> str:
    """Return the conversation as JSON: its fields and `messages` (as the API serializes them), oldest first."""
    conversation = {name: getattr(export, name) for name in ("id", "title", "created_at", "updated_at")}
    return json.dumps({**conversation, "messages": messages}, ensure_ascii=False, indent=2)


def _one_line(text: str) -> str:
    return " ".join(text.split())
