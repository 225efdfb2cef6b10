"""Input fields of the conversation-management APIs that the conversation views share."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers

from chatapp.fields import StrictCharField
from security.services.screening import prompt_screened_text

TITLE_MAX_CHARS = 200


def cleaned_text(raw: str) -> str:
    """Return `raw` cleaned as messages are (NFKC, invisible characters removed), on one line, trimmed."""
    return " ".join(prompt_screened_text(raw=raw).split())


class CleanedTextField(StrictCharField):
    """A string cleaned by `cleaned_text`; lengths count the cleaned text, and nothing left of it is blank."""

    def to_internal_value(self, data: Any) -> str:
        text = cleaned_text(super().to_internal_value(data))
        if not text and not self.allow_blank:
            self.fail("blank")
        return text


class RenameSerializer(serializers.Serializer):
    title = CleanedTextField(
        max_length=TITLE_MAX_CHARS,
        help_text=f"1 to {TITLE_MAX_CHARS} characters once cleaned (Unicode NFKC, invisible characters removed, "
        "whitespace runs made one space).",
    )


SEARCH_PARAMETER = OpenApiParameter(
    "q",
    str,
    description="Only conversations whose title contains this text, ignoring case (at most 200 characters). "
    "A page may hold fewer than `limit` and still have a `next`: searching reads a bounded number of "
    "conversations per request.",
)


@extend_schema_serializer(component_name="Feedback")
class FeedbackSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(["up", "down"])
    reason = serializers.ChoiceField(
        ["harmful", "wrong", "unhelpful", "other"],
        required=False,
        allow_null=True,
        help_text="Why a reply is rated down; `harmful` puts the reply in the moderation queue.",
    )
    comment = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("reason") and attrs["rating"] != "down":
            raise serializers.ValidationError({"reason": ["A reason goes with a `down` rating only."]})
        return attrs

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Leave out the reason and comment when none was given."""
        return {name: value for name, value in super().to_representation(instance).items() if value is not None}
