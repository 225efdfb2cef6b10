"""Middleware that keeps storage failures outside DRF views in the contract's error shape."""

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from django.http import HttpRequest, HttpResponse
from pynamodb.exceptions import PynamoDBException

from core.exceptions import StorageUnavailable, error_response


class ServiceErrorMiddleware:
    """Answer 503 `storage_unavailable` when the session store fails while saving a response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (PynamoDBException, BotoCoreError, ClientError) as exc:
            return error_response(StorageUnavailable(cause=exc))
