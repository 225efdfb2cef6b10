"""The conversation-management views that have URLs of their own: export, and feedback on a reply."""

from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatapp.apis import _known_owner
from chatapp.history import exports, selectors, services
from chatapp.history.inputs import FeedbackSerializer
from chatapp.schema import error_responses
from chatapp.serializers import MessageSerializer


class DownloadNegotiation(BaseContentNegotiation):
    """Answer errors in JSON whatever `?format=` and Accept say: the view writes the download itself."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        # DRF's own negotiation reads `?format=` as URL_FORMAT_OVERRIDE and answers 404 before the view runs when no
        # renderer has that format (`md`); here `format` is the view's own parameter.
        return renderers[0], renderers[0].media_type


class ConversationExportApi(APIView):
    content_negotiation_class = DownloadNegotiation

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(list(exports.MEDIA_TYPES))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(exports.MEDIA_TYPES), required=True, description="md: Markdown; json: JSON."
            )
        ],
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The whole conversation."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The conversation's fields and all its `messages`, oldest first."
            ),
            **error_responses(400, 404, 503),
        },
    )
    def get(self, request: Request, conversation_id: str) -> HttpResponse:
        """Download one of the caller's conversations whole, every message oldest first (Content-Disposition)."""
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        file_format = query.validated_data["format"]
        export = selectors.conversation_export(owner=_known_owner(request), conversation_id=str(conversation_id))
        if file_format == "md":
            body = exports.export_markdown(export)
        else:
            body = exports.export_json(export, MessageSerializer(export.messages, many=True).data)
        filename = exports.export_filename(export, file_format=file_format)
        headers = {"Content-Disposition": content_disposition_header(True, filename)}
        return HttpResponse(body, content_type=exports.MEDIA_TYPES[file_format], headers=headers)


class ReplyFeedbackApi(APIView):
    @extend_schema(
        request=FeedbackSerializer,
        responses={200: FeedbackSerializer, **error_responses(400, 403, 404, 415, 503)},
    )
    def put(self, request: Request, conversation_id: str, message_id: str) -> Response:
        """Rate one of the assistant's replies in the caller's conversation, replacing any earlier rating."""
        body = FeedbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        feedback = services.reply_feedback_give(
            owner=_known_owner(request),
            conversation_id=str(conversation_id),
            message_id=str(message_id),
            rating=body.validated_data["rating"],
            reason=body.validated_data.get("reason"),
            comment=body.validated_data.get("comment") or None,
        )
        return Response(FeedbackSerializer(feedback).data)

    @extend_schema(responses={204: None, **error_responses(400, 403, 404, 503)})
    def delete(self, request: Request, conversation_id: str, message_id: str) -> Response:
        """Withdraw the caller's rating of a reply (none there: still 204)."""
        services.reply_feedback_withdraw(
            owner=_known_owner(request), conversation_id=str(conversation_id), message_id=str(message_id)
        )
        return Response(status=204)
