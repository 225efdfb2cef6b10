"""How django-axes (the admin lockout) keys the sign-ins allauth makes, which carry an email and no username."""

from typing import Any

from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """Return the name axes counts failures under: the admin's username, else the email allauth signs in with."""
    credentials = credentials or {}
    # Without the email, every allauth failure from one IP would count under one empty username, and ten of them
    # would lock out everyone behind that address; keyed on (email, IP), they lock out that account from there only.
    name = credentials.get("username") or credentials.get("email")
    if name is None and request is not None:
        name = request.POST.get("username") or request.POST.get("login")
    return name.strip().lower() if isinstance(name, str) else name
