"""Signing in, by any route (password, single sign-on, headless, admin): the anonymous session's history follows."""

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from chatapp.services import conversations_transfer
from security.sessions import is_session_key


@receiver(user_logged_in, dispatch_uid="accounts.conversations_follow_person")
def conversations_follow_person(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Move the conversations of the session the request came with to the person who just signed in."""
    if request is None:
        return
    # login() has already given the session a new key; the key the request arrived with is still its cookie,
    # and only the holder of that cookie can have made the conversations it owns.
    anonymous_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not is_session_key(anonymous_key) or anonymous_key == request.session.session_key:
        return
    conversations_transfer(owner=f"session:{anonymous_key}", successor=f"user:{user.pk}")
