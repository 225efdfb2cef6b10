"""Middleware: bad input and a failing session store in the contract's error shape; API answers never cached."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

from core.exceptions import STORAGE_ERRORS, InvalidRequest, PayloadTooLarge, StorageUnavailable, error_response

logger = logging.getLogger(__name__)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, answering 503 `storage_unavailable` when saving the session fails."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        # Caught here: Django turns an exception raised inside any middleware into a 500 page before an outer
        # middleware could see it.
        except STORAGE_ERRORS as exc:
            error = StorageUnavailable(cause=exc)
            # The one line naming this failure: Django's own line for a 503 is filtered out, and a chat
            # request's line was written before the session was saved.
            record = {"error": error.code, "cause": error.cause, "path": request.path, "status": error.status_code}
            logger.warning("session store failed", extra={"event": "session_store_error", "record": record})
            return error_response(error)


class ApiNoStoreMiddleware:
    """Mark every answer under /api/ `Cache-Control: no-store`, errors included: they carry tokens and chats."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # First in MIDDLEWARE, so this is also an answer another middleware made (a failing session store's 503).
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        return response


class RequestBodyLimitMiddleware:
    """Answer 413 `payload_too_large` for a body over `MAX_REQUEST_BYTES`, or of no declared length, unread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Before anything can read the body: Django reads a body whole on first access (DRF's JSON parsing does),
        # and above DATA_UPLOAD_MAX_MEMORY_SIZE it raises RequestDataTooBig instead. A chunked body declares no
        # length; WSGI servers then hand Django nothing to read, so it would be taken for an empty one.
        error = body_length_error(request.META)
        if error is None:
            return self.get_response(request)
        # The one line naming this refusal: no view runs, so no request record is written.
        declared = str(request.META.get("CONTENT_LENGTH") or "")[:20] or None
        record = {"error": error.code, "path": request.path, "status": error.status_code, "content_length": declared}
        logger.info("request body refused", extra={"event": "request_body_refused", "record": record})
        return error_response(error)


def body_length_error(meta: dict[str, Any]) -> InvalidRequest | PayloadTooLarge | None:
    """Return why a request's declared body length is refused, or None when it is acceptable."""
    limit = settings.MAX_REQUEST_BYTES
    declared = meta.get("CONTENT_LENGTH") or ""
    if not declared:
        if meta.get("HTTP_TRANSFER_ENCODING"):
            return PayloadTooLarge(f"Send the body with a Content-Length of at most {limit} bytes, not chunked.")
        return None
    if not declared.isascii() or not declared.isdigit():
        return InvalidRequest("The Content-Length header is not a number of bytes.", fields={})
    digits = declared.lstrip("0") or "0"  # int() refuses over 4,300 digits: compare lengths first
    if len(digits) > len(str(limit)) or int(digits) > limit:
        return PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return None
