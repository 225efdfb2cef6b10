"""Middleware: a failing session store in the contract's error shape, and API answers never cached."""

import logging
from collections.abc import Callable

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

from core.exceptions import STORAGE_ERRORS, StorageUnavailable, error_response

logger = logging.getLogger(__name__)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, answering 503 `storage_unavailable` when saving the session fails.

    The catch must be here: Django turns an exception raised inside any middleware into a 500 page before
    an outer middleware could see it.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except STORAGE_ERRORS as exc:
            error = StorageUnavailable(cause=exc)
            # The one line naming this failure: Django's own line for a 503 is filtered out, and a chat
            # request's line was written before the session was saved.
            record = {"error": error.code, "cause": error.cause, "path": request.path, "status": error.status_code}
            logger.warning("session store failed", extra={"event": "session_store_error", "record": record})
            return error_response(error)


class ApiNoStoreMiddleware:
    """Mark every answer under /api/ `Cache-Control: no-store`, errors included: they carry tokens and chats.

    First in MIDDLEWARE, so it also sees the answers other middleware make (a failing session store's 503).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        return response
