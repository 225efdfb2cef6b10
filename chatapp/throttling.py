"""Rate limits, per owner and per client IP, each on one atomic DynamoDB counter per window.

DRF's own throttles keep a request history in the process cache with a read-modify-write, which on
Lambda is per container and racy; here every container shares one `ADD` per window instead. Windows are
fixed (a burst may straddle two of them, at most twice the rate), which keeps it to one write a request.
A chat message is counted by `ChatRateLimits`, the same code for POST and the WebSocket.
"""

import functools
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

# A module import: authentication caps new sessions with a throttle from here, and either may load first.
from chatapp import authentication
from chatapp.repositories import rate_counter_hit
from core import concurrency, observability
from core.exceptions import RateLimited
from core.observability import client_ip

__all__ = [
    "ChatRateLimits",
    "ChatRateLimitsMixin",
    "CounterRateThrottle",
    "new_session_admit",
]


class CounterRateThrottle:
    """Allow `rate` (the setting named by `rate_setting`, e.g. "20/min") requests per identity; empty: no limit.

    DRF's names (`scope`, `rate`, `wait()`), on a shared counter instead of DRF's per-process history.
    """

    scope = ""
    rate_setting = ""
    timer = time.time

    def __init__(self) -> None:
        self.rate: str = getattr(settings, self.rate_setting)
        self._wait = 0.0

    def allow_ident(self, ident: Callable[[], str]) -> bool:
        """Count one request of the identity `ident()` in its current window; False once it holds more than allowed.

        `ident` is only called when there is a limit (finding an owner may create a session); it returns the
        identity pseudonymised, as it becomes part of a stored key.
        """
        if not self.rate:
            return True
        num_requests, duration = SimpleRateThrottle.parse_rate(None, self.rate)  # type: ignore[arg-type]
        now = self.timer()
        window = int(now // duration)
        window_end = (window + 1) * duration
        key = f"{self.scope}#{ident()}#{window}"
        count = rate_counter_hit(key, expires_at=datetime.fromtimestamp(window_end, tz=UTC) + timedelta(minutes=1))
        self._wait = window_end - now
        return count <= num_requests

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self._wait


class ChatRateThrottle(CounterRateThrottle):
    """CHAT_RATE_LIMIT chat messages per conversation owner (user or session)."""

    scope = "chat"
    rate_setting = "CHAT_RATE_LIMIT"


class ChatIpRateThrottle(CounterRateThrottle):
    """CHAT_IP_RATE_LIMIT chat messages per client IP, whatever sessions it opens."""

    scope = "chat_ip"
    rate_setting = "CHAT_IP_RATE_LIMIT"


class NewSessionIpRateThrottle(CounterRateThrottle):
    """NEW_SESSION_IP_RATE_LIMIT new sessions per client IP: cookie-less calls cannot fill the sessions table."""

    scope = "session_ip"
    rate_setting = "NEW_SESSION_IP_RATE_LIMIT"


def ip_ident(ip: str) -> str:
    """Return the throttled identity of a client IP, pseudonymised: it becomes part of a stored key."""
    return observability.owner_hash(f"ip:{ip}")


def new_session_admit(request: HttpRequest | Request) -> None:
    """Count a session about to be created for the caller's IP; raise RateLimited once over the limit."""
    throttle = NewSessionIpRateThrottle()
    if not throttle.allow_ident(lambda: ip_ident(client_ip(request))):
        raise RateLimited(math.ceil(throttle.wait()), "Too many new sessions from this address: wait and retry.")


class ChatRateLimits:
    """One chat message, counted against its owner's limit (CHAT_RATE_LIMIT) and its client IP's (CHAT_IP_RATE_LIMIT).

    `owner` finds the message's owner (called only when there is an owner limit); `due` is False for a request
    that is no message at all. The pipeline counts a message while it makes its first reads, whatever the
    transport; `ChatRateLimitsMixin` counts a POST refused before then.
    """

    def __init__(self, *, owner: Callable[[], str], ip: str, due: bool = True) -> None:
        self._owner = owner
        self._ip = ip
        self.due = due

    def check(self) -> None:
        """Count the message, once however often this is called; raise RateLimited, with the longer wait, when over.

        Both counters (one DynamoDB write each) are written at once, the owner's in this thread: finding the owner
        may touch the session, which stays on the request's own thread.
        """
        if not self.due:
            return
        self.due = False
        counters = [
            (ChatRateThrottle(), lambda: observability.owner_hash(self._owner())),
            (ChatIpRateThrottle(), lambda: ip_ident(self._ip)),
        ]
        allowed = concurrency.gather(*(functools.partial(throttle.allow_ident, ident) for throttle, ident in counters))
        waits = [throttle.wait() for (throttle, _), ok in zip(counters, allowed, strict=True) if not ok]
        if waits:
            raise RateLimited(math.ceil(max(waits)))


class ChatRateLimitsMixin:
    """For an APIView whose POST is a chat message: its `rate_limits`, to hand to the pipeline, which counts them.

    A POST refused before the pipeline ran (a bad body, 415) is still counted, and answered 429 when over a limit,
    as if the limits had come first. Only a POST is a message: other methods (405, or OPTIONS) spend no
    allowance, so a cross-site <img> cannot.
    """

    rate_limits: ChatRateLimits  # set when DRF checks throttles, after authentication

    def check_throttles(self, request: Request) -> None:
        """Make the request's `rate_limits`, due for a POST; nothing is counted yet."""
        owner = functools.partial(authentication.request_owner, request)
        self.rate_limits = ChatRateLimits(owner=owner, ip=client_ip(request), due=request.method == "POST")

    def handle_exception(self, exc: Exception) -> Response:
        """Answer a refusal, after counting the message if nothing has: over a limit, the 429 answers instead."""
        rate_limits = getattr(self, "rate_limits", None)  # none when authentication refused the request
        if rate_limits is not None:
            try:
                rate_limits.check()
            except Exception as refusal:  # noqa: BLE001 - it answers instead, as it would have come first
                exc = refusal
        return super().handle_exception(exc)  # type: ignore[misc]
