"""Rate limits on chat posts, per owner and per client IP, each on one atomic DynamoDB counter per window.

DRF's own throttles keep a request history in the process cache with a read-modify-write, which on
Lambda is per container and racy; here every container shares one `ADD` per window instead. Windows are
fixed (a burst may straddle two of them, at most twice the rate), which keeps it to one write a request.
"""

import functools
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

# A module import: authentication caps new sessions with a throttle from here, and either may load first.
from chatapp import authentication
from chatapp.repositories import rate_counter_hit
from core import concurrency, observability
from core.exceptions import RateLimited
from core.observability import client_ip

__all__ = [
    "ChatIpRateThrottle",
    "ChatRateThrottle",
    "CounterRateThrottle",
    "chat_rate_limits_check",
    "client_ip",
    "new_session_admit",
]


class CounterRateThrottle(BaseThrottle):
    """Allow `rate` (the setting named by `rate_setting`, e.g. "20/min") requests per identity; empty: no limit."""

    scope = ""
    rate_setting = ""
    timer = time.time

    def __init__(self) -> None:
        self.rate: str = getattr(settings, self.rate_setting)
        self._wait = 0.0

    def get_ident_for(self, request: HttpRequest | Request) -> str:
        """Return the throttled identity (pseudonymised: it becomes part of a stored key)."""
        raise NotImplementedError

    def allow_request(self, request: HttpRequest | Request, view: Any) -> bool:
        """Count this request in the identity's current window; False once the window holds more than allowed."""
        return self.allow_ident(self.get_ident_for(request)) if self.rate else True

    def allow_ident(self, ident: str) -> bool:
        """Count one request of `ident` (already pseudonymised) in its current window; False when over the rate."""
        if not self.rate:
            return True
        num_requests, duration = SimpleRateThrottle.parse_rate(None, self.rate)  # type: ignore[arg-type]
        now = self.timer()
        window = int(now // duration)
        window_end = (window + 1) * duration
        key = f"{self.scope}#{ident}#{window}"
        count = rate_counter_hit(key, expires_at=datetime.fromtimestamp(window_end, tz=UTC) + timedelta(minutes=1))
        self._wait = window_end - now
        return count <= num_requests

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self._wait


class ChatRateThrottle(CounterRateThrottle):
    """CHAT_RATE_LIMIT chat posts per conversation owner (user or session)."""

    scope = "chat"
    rate_setting = "CHAT_RATE_LIMIT"

    def get_ident_for(self, request: Request) -> str:
        return observability.owner_hash(authentication.request_owner(request))


class ChatIpRateThrottle(CounterRateThrottle):
    """CHAT_IP_RATE_LIMIT chat posts per client IP, whatever sessions it opens."""

    scope = "chat_ip"
    rate_setting = "CHAT_IP_RATE_LIMIT"

    def get_ident_for(self, request: Request) -> str:
        return ip_ident(client_ip(request))


class NewSessionIpRateThrottle(CounterRateThrottle):
    """NEW_SESSION_IP_RATE_LIMIT new sessions per client IP: cookie-less calls cannot fill the sessions table."""

    scope = "session_ip"
    rate_setting = "NEW_SESSION_IP_RATE_LIMIT"

    def get_ident_for(self, request: HttpRequest | Request) -> str:
        return ip_ident(client_ip(request))


def ip_ident(ip: str) -> str:
    """Return the throttled identity of a client IP, pseudonymised: it becomes part of a stored key."""
    return observability.owner_hash(f"ip:{ip}")


def new_session_admit(request: HttpRequest | Request) -> None:
    """Count a session about to be created for the caller's IP; raise RateLimited once over the limit."""
    throttle = NewSessionIpRateThrottle()
    if not throttle.allow_request(request, None):
        raise RateLimited(math.ceil(throttle.wait()), "Too many new sessions from this address: wait and retry.")


def chat_rate_limits_check(*, owner: str, ip: str) -> None:
    """Count one chat message against the owner's and the IP's limits, both at once, as POST does (the socket's
    check); raise RateLimited, with the longer wait, when either is over."""
    counted = [
        (ChatRateThrottle(), observability.owner_hash(owner)),
        (ChatIpRateThrottle(), ip_ident(ip)),
    ]
    allowed = concurrency.gather(*(functools.partial(throttle.allow_ident, ident) for throttle, ident in counted))
    waits = [throttle.wait() for (throttle, _), ok in zip(counted, allowed, strict=True) if not ok]
    if waits:
        raise RateLimited(math.ceil(max(waits)))
