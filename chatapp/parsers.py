"""A JSON parser that refuses oversized bodies before reading them, and hostile JSON with a 400."""

import json
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from core.exceptions import InvalidRequest, PayloadTooLarge

# No request of the API nests deeper than an object of strings; this leaves room, and keeps anything that walks
# the parsed body (validation, error rendering, logging) far from Python's recursion limit.
MAX_JSON_DEPTH = 32


class BoundedJSONParser(JSONParser):
    """Parse a UTF-8 JSON body into Python values: 413 over `MAX_REQUEST_BYTES`, 400 for anything but plain JSON."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        limit = settings.MAX_REQUEST_BYTES
        body = stream.read(limit + 1)
        if len(body) > limit:  # RequestBodyLimitMiddleware refuses declared lengths; this bounds anything else
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        return json_document(body)


def json_document(body: str | bytes) -> Any:
    """Return the JSON value in `body` (UTF-8 bytes, or text); raise InvalidRequest for anything but plain JSON."""
    # One set of rules for HTTP bodies (BoundedJSONParser) and the socket's frames. Not plain JSON: bytes that are
    # not UTF-8, syntax errors, NaN/Infinity, integers over Python's 4,300-digit limit, nesting deeper than
    # MAX_JSON_DEPTH, and an object that repeats a key.
    try:
        # RFC 8259 allows no other encoding, so a declared charset is ignored.
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise _invalid(f"it is not UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text, object_pairs_hook=_object_without_repeated_keys, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _invalid(f"it nests deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError, and the 4,300-digit limit on integers
        raise _invalid(str(exc)) from exc
    if _nests_deeper_than(data, MAX_JSON_DEPTH):
        raise _invalid(f"it nests deeper than {MAX_JSON_DEPTH} levels")
    return data


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which value of a repeated key wins, so none is chosen.
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"the key {key[:100]!r} appears more than once in an object")
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _nests_deeper_than(data: Any, limit: int) -> bool:
    """Return True when `data` nests lists and objects more than `limit` levels deep (one pass per level)."""
    level, layer = 0, [data]
    while layer := [value for value in layer if isinstance(value, dict | list)]:
        level += 1
        if level > limit:
            return True
        layer = [item for value in layer for item in (value.values() if isinstance(value, dict) else value)]
    return False


def _invalid(reason: str) -> InvalidRequest:
    return InvalidRequest(f"The body is not valid JSON: {reason}.", fields={})
