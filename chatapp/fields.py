"""Serializer fields that refuse values of the wrong JSON type instead of coercing them."""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string field: a number, boolean, list or object is "Not a valid string.", never str()-ed."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string (DRF would also take an integer)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)
