"""The application's one error type and the one place that renders every error as the contract's envelope.

This module is a leaf: both apps raise `ApplicationError` subclasses, and nothing here imports them.
"""

import logging
import math
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from pynamodb.exceptions import PynamoDBException
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from core import observability

logger = logging.getLogger(__name__)

# What a failing DynamoDB call raises (PynamoDB wraps botocore's errors, raw clients raise them directly).
STORAGE_ERRORS = (PynamoDBException, BotoCoreError, ClientError)
# What Django raises reading a form body (multipart or urlencoded), which no API takes: only JSON is accepted.
# BadRequest: an urlencoded body that declares a charset other than UTF-8.
FORM_BODY_ERRORS = (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent, BadRequest)


class ApplicationError(Exception):
    """An error a client sees: HTTP status, stable code, human message, optional extra fields."""

    status_code = 500
    code = "internal_error"
    default_message = "Something went wrong on our side."
    retry_after: bool = False

    def __init__(self, message: str | None = None, *, cause: BaseException | None = None, **extra: Any) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.extra = extra
        # What went wrong underneath, for the request's log line; never shown to the client.
        self.cause = _describe(cause)[:500] if cause is not None else None

    def payload(self) -> dict[str, Any]:
        """Return the body `{"error": {...}}` for this error."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}}

    def headers(self) -> dict[str, str]:
        """Return the response headers this error needs (Retry-After for unavailable dependencies)."""
        return {"Retry-After": str(settings.RETRY_AFTER_SECONDS)} if self.retry_after else {}


def _describe(cause: BaseException) -> str:
    """Return `Type: message`, followed by the wrapped error when there is one (PynamoDB wraps botocore's)."""
    text = f"{type(cause).__name__}: {cause}"
    inner = getattr(cause, "cause", None) or cause.__cause__
    if isinstance(inner, BaseException) and str(inner) not in text:
        text += f" <- {type(inner).__name__}: {inner}"
    return text


class InvalidRequest(ApplicationError):
    status_code = 400
    code = "invalid_request"
    default_message = "The request is not valid."


class CsrfFailed(ApplicationError):
    status_code = 403
    code = "csrf_failed"
    default_message = "CSRF check failed: send the X-CSRFToken header with the token from GET /api/v1/session."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The conversation has changed: reload it and try again."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "Send the body as JSON with Content-Type: application/json."


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many messages: wait a moment and try again."

    def __init__(self, wait_seconds: int, message: str | None = None) -> None:
        super().__init__(message)
        self.wait_seconds = max(1, wait_seconds)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.wait_seconds)}


class StorageUnavailable(ApplicationError):
    status_code = 503
    code = "storage_unavailable"
    default_message = "Storage is unavailable right now; please retry shortly."
    retry_after = True


def error_response(error: ApplicationError) -> JsonResponse:
    """Return a plain Django JSON response for `error` (for code that runs outside DRF)."""
    return JsonResponse(error.payload(), status=error.status_code, headers=error.headers())


def as_application_error(exc: Exception) -> ApplicationError | None:
    """Translate DRF's and Django's exceptions into ours; None for anything unexpected."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, drf_exceptions.ValidationError):
        return InvalidRequest("Some fields are not valid.", fields=exc.detail)
    if isinstance(exc, drf_exceptions.ParseError):
        return InvalidRequest(f"The body is not valid JSON: {exc.detail}", fields={})
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, (drf_exceptions.UnsupportedMediaType, *FORM_BODY_ERRORS)):
        # A malformed form body fails while Django's CSRF check reads request.POST; JSON is all we take.
        return UnsupportedMediaType()
    if isinstance(exc, SuspiciousOperation):
        return InvalidRequest(fields={})
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return NotFound()
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited(math.ceil(exc.wait or 1))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        error = ApplicationError(str(exc.detail))
        error.status_code, error.code = 405, "method_not_allowed"
        return error
    if isinstance(exc, STORAGE_ERRORS):
        # Model clients translate their own failures, so any AWS error left here comes from DynamoDB.
        return StorageUnavailable(cause=exc)
    if isinstance(exc, drf_exceptions.APIException):
        error = ApplicationError(str(exc.detail))
        error.status_code, error.code = exc.status_code, exc.default_code
        return error
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error raised in a DRF view as `{"error": {"code", "message", ...}}`."""
    error = as_application_error(exc)
    if error is None:
        logger.error("unhandled error", exc_info=exc, extra={"event": "unhandled_error"})
        error = ApplicationError(cause=exc)
    observability.record_error(error)
    return Response(error.payload(), status=error.status_code, headers=error.headers())
