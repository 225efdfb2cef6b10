"""The v1 HTTP API: thin views that validate, call one service or selector, and serialize."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatapp import selectors, services
from chatapp.authentication import existing_owner, request_owner, request_session_key
from chatapp.chat.http import conversation_reply
from chatapp.history import inputs as history_inputs
from chatapp.history import selectors as history_selectors
from chatapp.history import services as history_services
from chatapp.pagination import DEFAULT_LIMIT, MAX_LIMIT
from chatapp.schema import error_responses
from chatapp.serializers import ChatMessageSerializer, ConversationSerializer, MessageSerializer
from chatapp.throttling import chat_rate_limits_check
from chatapp.tickets import socket_ticket_issue
from core import observability
from core.aws import llm_backend
from core.dynamodb import tables_unreachable
from core.exceptions import NotFound, StorageUnavailable, UnsupportedMediaType


class SessionApi(APIView):
    @extend_schema_serializer(component_name="Session")
    class OutputSerializer(serializers.Serializer):
        csrf_token = serializers.CharField()
        offline = serializers.BooleanField()
        websocket = inline_serializer(
            "WebSocket", {"url": serializers.CharField(), "ticket": serializers.CharField()}, allow_null=True
        )
        user = inline_serializer("SessionUser", {"email": serializers.CharField()}, allow_null=True)

    @extend_schema(responses={200: OutputSerializer, **error_responses(503)})
    def get(self, request: Request) -> Response:
        """Start or continue a session; set the session and csrftoken cookies; hand out a streaming ticket."""
        owner = request_owner(request)
        websocket = None
        if settings.WEBSOCKET_URL:
            ticket = socket_ticket_issue(owner=owner, session_key=request_session_key(request))
            websocket = {"url": settings.WEBSOCKET_URL, "ticket": ticket}
        data = {"csrf_token": get_token(request), "offline": llm_backend() == "offline", "websocket": websocket}
        data["user"] = {"email": request.user.email} if request.user.is_authenticated else None
        return Response(self.OutputSerializer(data).data)


class ChatApi(APIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Handle the request inside its log record: one JSON line per chat request, whatever happens."""
        request_id, client_ip = observability.request_id(request), observability.client_ip(request)
        with observability.request_record(request_id=request_id, client_ip=client_ip) as record:
            response = super().dispatch(request, *args, **kwargs)
            record["status"] = response.status_code
            return response

    @extend_schema_serializer(component_name="ChatRequest")
    class InputSerializer(ChatMessageSerializer):
        pass  # the socket's chat frame takes these very fields: one rule for both transports

    @extend_schema_serializer(component_name="ChatReply")
    class OutputSerializer(serializers.Serializer):
        conversation_id = serializers.CharField()
        message = MessageSerializer()
        screening = inline_serializer(
            "Screening",
            {"verdict": serializers.CharField(), "source": serializers.ChoiceField(["model", "cache", "moderator"])},
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 403, 404, 409, 413, 415, 429, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        """Screen a message and, if it is safe, answer it in a new or existing conversation."""
        owner, ip = request_owner(request), observability.client_ip(request)
        try:
            data = self._validated(request)
        except Exception:
            chat_rate_limits_check(owner=owner, ip=ip)  # a refused message spends its allowance; over it: 429
            raise
        conversation_id = data.get("conversation_id")
        reply = conversation_reply(
            owner=owner,
            ip=ip,
            raw=data["message"],
            conversation_id=str(conversation_id) if conversation_id else None,
            request_id=data.get("request_id") or None,
            replaces=str(data["replaces"]) if data.get("replaces") else None,
        )
        body = {
            "conversation_id": reply.conversation_id,
            "message": reply.message,
            "screening": {"verdict": "safe", "source": reply.verdict_source},
        }
        return Response(self.OutputSerializer(body).data)

    def _validated(self, request: Request) -> dict[str, Any]:
        # Form bodies never reach the parsers (Django reads them first), so they are refused here.
        if not _is_json(request.content_type):
            raise UnsupportedMediaType()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def _limit_parameter(minimum: int, unit: str) -> OpenApiParameter:
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": minimum, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        description=f"{unit} per page; above {MAX_LIMIT} is refused with 400 invalid_request.",
    )


def _cursor_parameter(name: str, source: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        str,
        description=f"Continue from the opaque cursor in `{source}` of the previous page; a cursor that was "
        "altered or made for another listing or owner is 400 invalid_request.",
    )


class ConversationListApi(APIView):
    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
        cursor = serializers.CharField(required=False, max_length=1000)
        q = history_inputs.CleanedTextField(required=False, allow_blank=True, max_length=200)

    @extend_schema_serializer(component_name="ConversationList")
    class OutputSerializer(serializers.Serializer):
        conversations = ConversationSerializer(many=True)
        next = serializers.CharField(
            allow_null=True, help_text="Cursor to the next page (pass it as `cursor`); null on the last page."
        )

    @extend_schema(
        operation_id="conversations_list",
        parameters=[
            _limit_parameter(1, "Conversations"),
            _cursor_parameter("cursor", "next"),
            history_inputs.SEARCH_PARAMETER,
        ],
        responses={200: OutputSerializer, **error_responses(400, 503)},
    )
    def get(self, request: Request) -> Response:
        """List a page of the caller's conversations (those whose title contains `q`), most recently active first."""
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        owner = existing_owner(request)  # no session yet: nothing to list, and none is created to say so
        page = history_selectors.conversation_page(owner=owner, **query.validated_data) if owner else None
        return Response(self.OutputSerializer(page or {"conversations": [], "next": None}).data)

    @extend_schema(operation_id="conversations_destroy_all", responses={204: None, **error_responses(403, 503)})
    def delete(self, request: Request) -> Response:
        """Delete all of the caller's conversations, with their messages and request markers."""
        if (owner := existing_owner(request)) is not None:
            history_services.conversations_delete_all(owner=owner)
        return Response(status=204)


class ConversationDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=2, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
        before = serializers.CharField(required=False, max_length=1000)

    @extend_schema_serializer(component_name="ConversationDetail")
    class OutputSerializer(ConversationSerializer):
        messages = MessageSerializer(many=True)
        earlier = serializers.CharField(
            allow_null=True, help_text="Cursor to the earlier messages (pass it as `before`); null at the start."
        )

    @extend_schema(
        parameters=[
            _limit_parameter(2, "Messages (rounded down to whole user/assistant pairs)"),
            _cursor_parameter("before", "earlier"),
        ],
        responses={200: OutputSerializer, **error_responses(400, 404, 503)},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        """Return one of the caller's conversations with its latest messages (or those `before`), oldest first."""
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        detail = selectors.conversation_get(
            owner=_known_owner(request), conversation_id=str(conversation_id), **query.validated_data
        )
        return Response(self.OutputSerializer(detail).data)

    @extend_schema(responses={204: None, **error_responses(403, 404, 503)})
    def delete(self, request: Request, conversation_id: str) -> Response:
        """Delete one of the caller's conversations and its messages."""
        services.conversation_delete(owner=_known_owner(request), conversation_id=str(conversation_id))
        return Response(status=204)

    @extend_schema(
        request=history_inputs.RenameSerializer,
        responses={200: ConversationSerializer, **error_responses(400, 403, 404, 415, 503)},
    )
    def patch(self, request: Request, conversation_id: str) -> Response:
        """Rename one of the caller's conversations (the title is cleaned as messages are: 1 to 200 characters)."""
        body = history_inputs.RenameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = history_services.conversation_rename(
            owner=_known_owner(request), conversation_id=str(conversation_id), title=body.validated_data["title"]
        )
        return Response(ConversationSerializer(conversation).data)


class HealthApi(APIView):
    @extend_schema(
        responses={200: inline_serializer("Health", {"status": serializers.CharField()}), **error_responses(503)}
    )
    def get(self, request: Request) -> Response:
        """Answer 200 when every DynamoDB table was reachable at the last check (HEALTH_CHECK_SECONDS at most)."""
        if (failure := tables_unreachable()) is not None:
            raise StorageUnavailable(cause=failure)
        return Response({"status": "ok"})


def _known_owner(request: Request) -> str:
    """Return the caller's owner; NotFound when it has none yet (no session is created just to say so)."""
    owner = existing_owner(request)
    if owner is None:
        raise NotFound("No such conversation.")
    return owner


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")
