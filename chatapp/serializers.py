"""The shapes both transports answer in: a message and a conversation, as the v1 contract has them."""

from typing import Any

from rest_framework import serializers

from chatapp.history.inputs import FeedbackSerializer

STOP_REASONS = ["end_turn", "max_tokens", "stopped", "time_limit"]


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
