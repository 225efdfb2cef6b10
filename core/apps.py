import codecs
from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.http import parse_header_parameters

# The charsets a request may declare for Django to decode its query string and form fields with; any other is
# ignored (Django's default, UTF-8, applies). The API's JSON is UTF-8 whatever is declared (chatapp.parsers).
HONOURED_CHARSETS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252", "utf-16", "utf-32"})


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core import snapstart

        _honour_only_text_charsets()
        snapstart.hooks_register()  # during init, whatever the first request turns out to be


def _honour_only_text_charsets() -> None:
    """Make Django ignore a Content-Type charset that is not one of HONOURED_CHARSETS."""

    def set_content_type_params(request: HttpRequest, meta: dict[str, Any]) -> None:
        """Django's own, with HONOURED_CHARSETS instead of any name codecs knows."""
        request.content_type, request.content_params = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
        charset = request.content_params.get("charset")
        if charset is not None and _is_honoured(charset):
            request.encoding = charset

    # Django takes any name `codecs.lookup` knows, and decodes the query string with it as it builds the request,
    # before any middleware runs: `?a=1` with `charset=rot13` or `zlib_codec` (not text encodings) or `undefined`
    # would raise LookupError or UnicodeError there, a 500 that nothing in the project could catch. Patched on the
    # class, it holds for every server (runserver, gunicorn, Zappa's handler) and for the test client.
    HttpRequest._set_content_type_params = set_content_type_params  # type: ignore[method-assign]


def _is_honoured(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name in HONOURED_CHARSETS
    except LookupError:
        return False
