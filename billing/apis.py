"""GET /api/v1/usage: the caller's own spend today against their ceiling."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.prices import usd
from billing.selectors import usage_get
from chatapp.authentication import existing_owner
from chatapp.schema import error_responses


class UsageGetApi(APIView):
    @extend_schema_serializer(component_name="Usage")
    class OutputSerializer(serializers.Serializer):
        period = serializers.CharField(help_text="The UTC day counted, YYYY-MM-DD.")
        spent_usd = serializers.FloatField(help_text="Spent today, replies in progress included at their worst case.")
        limit_usd = serializers.FloatField(allow_null=True, help_text="The caller's daily ceiling; null: none.")
        remaining_usd = serializers.FloatField(allow_null=True)
        resets_at = serializers.DateTimeField(help_text="When the period ends and spending starts again from 0.")

    @extend_schema(operation_id="usage_get", responses={200: OutputSerializer, **error_responses(503)})
    def get(self, request: Request) -> Response:
        """Return what the caller (the person, else the anonymous session) has spent today and may still spend."""
        usage = usage_get(owner=existing_owner(request))  # no session yet: nothing spent, and none is created
        data = {
            "period": usage.period,
            "spent_usd": usd(usage.spent),
            "limit_usd": None if usage.limit is None else usd(usage.limit),
            "remaining_usd": None if usage.remaining is None else usd(usage.remaining),
            "resets_at": usage.resets_at,
        }
        return Response(self.OutputSerializer(data).data)
