"""The chat page's Content-Security-Policy on the account pages (allauth's views under /accounts/)."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

ACCOUNT_PATHS = ("/accounts/", "/_allauth/")


def account_pages_csp() -> str:
    """Return the policy of the account pages: the chat page's, with the identity provider as a form target."""
    # Chromium applies form-action to the redirects that follow a form's POST too: the single sign-on button
    # POSTs here and is redirected to the provider's authorize URL.
    form_targets = ["'self'"]
    if settings.OIDC_SERVER_URL:
        parts = urlsplit(settings.OIDC_SERVER_URL)
        form_targets.append(f"{parts.scheme}://{parts.netloc}")
    form_targets += settings.OIDC_FORM_ACTION_ORIGINS
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {' '.join(form_targets)}",
            "frame-ancestors 'none'",
        ]
    )


class AccountPagesPolicyMiddleware:
    """Set the account pages' CSP on every answer under /accounts/ and /_allauth/ that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(ACCOUNT_PATHS) and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = account_pages_csp()
        return response
