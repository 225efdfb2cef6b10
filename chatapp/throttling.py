"""Rate limits, per owner and per client IP, each on one atomic DynamoDB counter per window.

DRF's own throttles keep a request history in the process cache with a read-modify-write, which on
Lambda is per container and racy; here every container shares one `ADD` per window instead. Windows are
fixed (a burst may straddle two of them, at most twice the rate), which keeps it to one write a request.
A chat message is counted by `chat_rate_limits_check`, a step of the chat pipeline for both transports.
"""

import functools
import math
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

from chatapp.repositories import rate_counter_hit
from core import concurrency, observability
from core.exceptions import RateLimited

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

__all__ = ["CounterRateThrottle", "chat_rate_limits_check", "new_session_admit"]


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, seconds) of a rate such as "20/min", as DRF's SimpleRateThrottle reads it."""
    count, period = rate.split("/")
    return int(count), DURATIONS[period[0]]


class CounterRateThrottle:
    """Allow `rate` (the setting named by `rate_setting`, e.g. "20/min") requests per identity; empty: no limit."""

    # DRF's names (`scope`, `rate`, `wait()`), on a shared counter instead of DRF's per-process history.
    scope = ""
    rate_setting = ""
    timer = time.time

    def __init__(self) -> None:
        self.rate: str = getattr(settings, self.rate_setting)
        self._wait = 0.0

    def allow_ident(self, ident: str) -> bool:
        """Count one request of `ident` (pseudonymised: it is part of a stored key); return False once over `rate`."""
        if not self.rate:
            return True
        num_requests, duration = parse_rate(self.rate)
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


def new_session_admit(*, ip: str) -> None:
    """Count a session about to be created for the client `ip`; raise RateLimited once over the limit."""
    throttle = NewSessionIpRateThrottle()
    if not throttle.allow_ident(ip_ident(ip)):
        raise RateLimited(math.ceil(throttle.wait()), "Too many new sessions from this address: wait and retry.")


def chat_rate_limits_check(*, owner: str, ip: str) -> None:
    """Count one chat message against its owner's limit (CHAT_RATE_LIMIT) and its client IP's (CHAT_IP_RATE_LIMIT)."""
    # POST and the WebSocket alike. Both counters (one DynamoDB write each) are written at once; over either limit
    # is RateLimited, with the longer wait.
    counters = [(ChatRateThrottle(), observability.owner_hash(owner)), (ChatIpRateThrottle(), ip_ident(ip))]
    allowed = concurrency.gather(*(functools.partial(throttle.allow_ident, ident) for throttle, ident in counters))
    waits = [throttle.wait() for (throttle, _), ok in zip(counters, allowed, strict=True) if not ok]
    if waits:
        raise RateLimited(math.ceil(max(waits)))
