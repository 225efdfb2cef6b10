"""OpenAPI details drf-spectacular cannot infer: the session scheme and the contract's error responses."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "invalid_request, with `fields`",
    403: "prompt_blocked (with `category`) or csrf_failed",
    404: "not_found, also for another owner's conversation",
    409: "conflict: the conversation kept changing while the message was answered; send it again (Retry-After); "
    "or `replaces` is not (or no longer) the conversation's last user message",
    413: "payload_too_large",
    415: "unsupported_media_type: the body is not JSON",
    429: "rate_limited, or budget_exhausted (with `scope` and `resets_at`), with Retry-After",
    502: "reply_withheld: the reply failed the output check",
    503: "screening_unavailable, model_unavailable or storage_unavailable, with Retry-After",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Per-field messages (invalid_request).")
    category = serializers.CharField(required=False, help_text="Why a prompt was blocked (prompt_blocked).")
    scope = serializers.ChoiceField(
        ["owner", "ip", "service"], required=False, help_text="Whose ceiling was reached (budget_exhausted)."
    )
    resets_at = serializers.DateTimeField(required=False, help_text="When that ceiling resets (budget_exhausted).")


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Return the `responses` entries for the contract errors an operation can answer."""
    return {status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status]) for status in statuses}


class SessionCookieScheme(OpenApiAuthenticationExtension):
    """The Django session cookie; unsafe methods also need the X-CSRFToken header."""

    target_class = "chatapp.authentication.CsrfEnforcedSessionAuthentication"
    name = "sessionCookie"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
