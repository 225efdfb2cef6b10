"""Reads of the ledger: a caller's own usage today, and the service's spend per day for the admin."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from billing import repositories
from billing.prices import MICRO
from billing.services import SERVICE_KEY, daily_ceiling, owner_key, period_end, period_of


@dataclass(frozen=True)
class Usage:
    period: str
    spent: int  # µUSD, settled plus reservations in flight
    limit: int | None  # µUSD; None: no ceiling
    resets_at: datetime

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.spent)


@dataclass(frozen=True)
class DaySpend:
    key: str  # the ledger key: service, owner#user:<pk>, owner#session:<pseudonym>
    spent: int
    messages: int
    input_tokens: int
    output_tokens: int

    @property
    def dollars(self) -> str:
        return f"{self.spent / MICRO:,.4f}"

    @classmethod
    def from_item(cls, item: repositories.LedgerItem) -> "DaySpend":
        counts = (item.spent, item.messages, item.input_tokens, item.output_tokens)
        return cls(item.key, *(max(0, int(count or 0)) for count in counts))


def usage_get(*, owner: str | None) -> Usage:
    """Return the caller's own spend today and ceiling (a person's own one if staff set it); one batch read."""
    period = period_of(datetime.now(tz=UTC))
    person = owner if owner and owner.startswith("user:") else None
    keys = ([(period, owner_key(owner))] if owner else []) + ([(repositories.LIMITS_PERIOD, person)] if person else [])
    items = repositories.ledger_items(keys) if keys else {}
    spent = items.get((period, owner_key(owner))) if owner else None
    limit = daily_ceiling("user" if person else "anonymous")
    own = items.get((repositories.LIMITS_PERIOD, person)) if person else None
    if own is not None and own.limit is not None:
        limit = int(own.limit)
    return Usage(period, max(0, int(spent.spent or 0)) if spent else 0, limit, period_end(period))


def service_daily_spend(*, days: int, today: date) -> dict[date, DaySpend | None]:
    """Return the service's spend on each of the last `days` days up to `today`, oldest first."""
    periods = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    items = repositories.ledger_items([(day.isoformat(), SERVICE_KEY) for day in periods])
    found = {day: items.get((day.isoformat(), SERVICE_KEY)) for day in periods}
    return {day: DaySpend.from_item(item) if item else None for day, item in found.items()}


def top_spenders(*, day: date, limit: int) -> list[DaySpend]:
    """Return the owners (people and anonymous sessions) who spent most on `day`, most first."""
    spenders = [DaySpend.from_item(item) for item in repositories.period_items(day.isoformat(), prefix="owner#")]
    return sorted(spenders, key=lambda spender: spender.spent, reverse=True)[:limit]
