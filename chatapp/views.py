from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.csrf import ensure_csrf_cookie

from core.aws import llm_backend
from core.exceptions import InvalidRequest, NotFound, as_application_error, error_response


# The page renders untrusted model text; should an escaping bug ever slip through, this policy still stops
# injected script, inline handlers, styles, plugins, <base> tricks and framing. Django 5.2 has no CSP support.
def chat_page_csp() -> str:
    """Return the page's policy: its own origin only, plus the streaming socket's origin when there is one."""
    connect = ["'self'"]
    if settings.WEBSOCKET_URL:
        parts = urlsplit(settings.WEBSOCKET_URL)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def content_security_policy(
    policy: Callable[[], str],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Set the Content-Security-Policy header (`policy()`, per response) on every response of the decorated view."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response.headers["Content-Security-Policy"] = policy()
            return response

        return wrapped

    return decorator


@content_security_policy(chat_page_csp)
@ensure_csrf_cookie
def chat_page(request: HttpRequest) -> HttpResponse:
    """Serve the chat page; it talks to the v1 API only."""
    # The offline banner is in the first paint (the script would show it later, moving the page under it).
    context = {"max_message_chars": settings.MAX_MESSAGE_CHARS, "offline": llm_backend() == "offline"}
    return render(request, "chatapp/chat.html", context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer unknown API paths in the error envelope, and anything else with the usual page."""
    if request.path_info.startswith("/api/"):
        return error_response(NotFound())
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer what Django refuses before any view runs (a bad Host, say) in the error envelope on API paths."""
    if request.path_info.startswith("/api/"):
        return error_response(as_application_error(exception) or InvalidRequest(fields={}))
    return defaults.bad_request(request, exception)
