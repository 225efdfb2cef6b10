"""Per-owner rate limit on one atomic DynamoDB counter per window.

DRF's own throttles keep a request history in the process cache with a read-modify-write, which on
Lambda is per container and racy; here every container shares one `ADD` per window instead. Windows are
fixed (a burst may straddle two of them, at most twice the rate), which keeps it to one write a request.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from chatapp.authentication import request_owner
from chatapp.repositories import rate_counter_hit
from core import observability


class ChatRateThrottle(BaseThrottle):
    """Allow `rate` (CHAT_RATE_LIMIT, e.g. "20/min") chat requests per owner; empty means no limit."""

    scope = "chat"

    def __init__(self) -> None:
        self.rate: str = settings.CHAT_RATE_LIMIT
        self._wait = 0.0

    def get_ident_for(self, request: Request) -> str:
        """Return the throttled identity: the conversation owner, pseudonymised."""
        return observability.owner_hash(request_owner(request))

    def allow_request(self, request: Request, view: Any) -> bool:
        if not self.rate:
            return True
        num_requests, duration = SimpleRateThrottle.parse_rate(None, self.rate)  # type: ignore[arg-type]
        now = time.time()
        window = int(now // duration)
        window_end = (window + 1) * duration
        key = f"{self.scope}#{self.get_ident_for(request)}#{window}"
        count = rate_counter_hit(key, expires_at=datetime.fromtimestamp(window_end, tz=UTC) + timedelta(minutes=1))
        self._wait = window_end - now
        return count <= num_requests

    def wait(self) -> float:
        """Return the seconds until the current window ends."""
        return self._wait
