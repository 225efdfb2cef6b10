"""A JSON parser that refuses oversized bodies before reading them."""

import io
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from core.exceptions import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """Parse JSON bodies of at most `MAX_REQUEST_BYTES` bytes; larger ones are 413 `payload_too_large`."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        limit = settings.MAX_REQUEST_BYTES
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        body = stream.read(limit + 1)
        if len(body) > limit:  # a chunked body declares no length
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
