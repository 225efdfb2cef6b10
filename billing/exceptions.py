"""Refusals of the spending ceilings."""

import math
from datetime import UTC, datetime

from core.exceptions import ApplicationError

SCOPE_MESSAGES = {
    "owner": "You have used today's allowance for messages.",
    "ip": "Today's allowance for messages from this network is used up.",
    "service": "The service has reached today's spending limit.",
}


class BudgetExhausted(ApplicationError):
    """A message over one of its ceilings (`scope`: owner, ip or service); it can be sent again at `resets_at`."""

    status_code = 429
    code = "budget_exhausted"

    def __init__(self, *, scope: str, resets_at: datetime) -> None:
        message = f"{SCOPE_MESSAGES[scope]} It resets at {resets_at:%H:%M} UTC."
        super().__init__(message, scope=scope, resets_at=resets_at.isoformat())
        self.resets_at = resets_at

    def headers(self) -> dict[str, str]:
        """Retry-After: the seconds until the period ends."""
        seconds = (self.resets_at - datetime.now(tz=UTC)).total_seconds()
        return {"Retry-After": str(max(1, math.ceil(seconds)))}
