"""Session authentication that checks CSRF on every unsafe request, anonymous sessions included."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from chatapp.throttling import new_session_admit
from core.exceptions import CsrfFailed
from core.observability import client_ip


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> str:  # type: ignore[override]
        return reason


class CsrfEnforcedSessionAuthentication(SessionAuthentication):
    """Authenticate from the Django session; unsafe methods need a valid X-CSRFToken whoever the caller is."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, None] | None:
        # DRF only checks CSRF for logged-in users, but an anonymous session owns conversations too, so a
        # cross-site form must not be able to post into it.
        self.enforce_csrf(request)
        user = getattr(request._request, "user", None)
        if not user or not user.is_active:
            return None
        return (user, None)

    def enforce_csrf(self, request: Request) -> None:
        """Raise `CsrfFailed` unless the request passes Django's CSRF check (safe methods always pass)."""
        check = _CsrfCheck(lambda req: None)  # type: ignore[arg-type, return-value]
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
        if reason:
            raise CsrfFailed(cause=RuntimeError(str(reason)))


def request_owner(request: HttpRequest) -> str:
    """Return who owns conversations for this request: the user, else the session (created if needed)."""
    owner = existing_owner(request)
    if owner is not None:
        return owner
    # Only the session endpoint and a chat post create sessions (other calls use `existing_owner`), at most
    # NEW_SESSION_IP_RATE_LIMIT per client IP: RateLimited beyond.
    new_session_admit(ip=client_ip(request))
    request.session.save()
    return f"session:{request.session.session_key}"


def existing_owner(request: HttpRequest) -> str | None:
    """Return who owns conversations for this request, or None when it has no user and no stored session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = request.session
    session.keys()  # loads it (once a request): a cookie naming no live session loses its key
    return f"session:{session.session_key}" if session.session_key else None


def request_session_key(request: HttpRequest) -> str:
    """Return the key of the request's session, storing the session first if it has none yet."""
    if request.session.session_key is None:
        request.session.save()
    return str(request.session.session_key)
