"""The shapes both transports take and answer in: a chat message, and a message and a conversation, as the v1
contract has them. One serializer per shape, so POST and the WebSocket cannot drift apart."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from chatapp.fields import StrictCharField, StrictUUIDField
from chatapp.history.inputs import FeedbackSerializer
from security.services.screening import prompt_screened_text

STOP_REASONS = ["end_turn", "max_tokens", "stopped", "time_limit"]
REQUEST_ID_MAX_CHARS = 128


class ChatMessageSerializer(serializers.Serializer):
    """A chat message, the conversation it continues (none: a new one), and an id that makes retries idempotent."""

    message = StrictCharField()
    conversation_id = StrictUUIDField(required=False, allow_null=True)
    request_id = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=REQUEST_ID_MAX_CHARS)
    replaces = StrictUUIDField(
        required=False,
        allow_null=True,
        help_text="The id of the conversation's last user message: the new message and its reply take the place "
        "of that pair, once the reply is stored (409 conflict when it is not, or no longer, the last).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("replaces") and not attrs.get("conversation_id"):
            raise serializers.ValidationError({"replaces": ["Only a message of a conversation can be replaced."]})
        return attrs

    def validate_message(self, raw: str) -> str:
        # Counted as the models read it: NFKC can turn one character into 18 (U+FDFA).
        limit = settings.MAX_MESSAGE_CHARS
        if len(prompt_screened_text(raw=raw)) > limit:
            message = f"Ensure this field has no more than {limit} characters (after Unicode normalisation)."
            raise serializers.ValidationError(message)
        return raw


class MessageSerializer(serializers.Serializer):
    id = serializers.CharField()
    role = serializers.CharField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    stop_reason = serializers.ChoiceField(
        STOP_REASONS,
        required=False,
        help_text="Assistant messages only: why the reply ended; anything but end_turn is not a complete answer.",
    )
    feedback = FeedbackSerializer(
        required=False, help_text="Assistant messages the caller rated: their feedback (PUT …/feedback)."
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Give every assistant message a stop_reason (end_turn for replies stored before it was recorded)."""
        data = super().to_representation(instance)
        if data.get("feedback") is None:
            data.pop("feedback", None)
        if data.get("role") == "assistant":
            data["stop_reason"] = data.get("stop_reason") or "end_turn"
        else:
            data.pop("stop_reason", None)
        return data


class ConversationSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
