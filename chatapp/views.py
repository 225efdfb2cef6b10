from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.csrf import ensure_csrf_cookie

from core.exceptions import NotFound, error_response


@ensure_csrf_cookie
def chat_page(request: HttpRequest) -> HttpResponse:
    """Serve the chat page; it talks to the v1 API only."""
    return render(request, "chatapp/chat.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer unknown API paths in the error envelope, and anything else with the usual page."""
    if request.path_info.startswith("/api/"):
        return error_response(NotFound())
    return defaults.page_not_found(request, exception)
