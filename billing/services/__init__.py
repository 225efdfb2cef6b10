"""Spending ceilings: a message's reservation and settle (reservation), the ceilings and their upkeep (ceilings)."""

from billing.services.ceilings import (
    CEILING_SETTINGS,
    SERVICE_KEY,
    daily_ceiling,
    holds_release_overdue,
    ip_key,
    owner_key,
    period_end,
    period_of,
    person_ceiling_mirror,
    spending_ceilings_on,
)
from billing.services.reservation import MessageSpend

__all__ = [
    "CEILING_SETTINGS",
    "SERVICE_KEY",
    "MessageSpend",
    "daily_ceiling",
    "holds_release_overdue",
    "ip_key",
    "owner_key",
    "period_end",
    "period_of",
    "person_ceiling_mirror",
    "spending_ceilings_on",
]
