"""The ceilings' settings and keys, the ledger's write pool, refunds of reservations whose invocation died, and
people's own ceilings (README "Spending ceilings")."""

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings

from billing import repositories
from billing.prices import MICRO
from core import concurrency, observability
from core.aws import llm_backend

T = TypeVar("T")

CEILING_SETTINGS = {
    "anonymous": "BUDGET_ANONYMOUS_DAILY_USD",
    "user": "BUDGET_USER_DAILY_USD",
    "ip": "BUDGET_IP_DAILY_USD",
    "service": "BUDGET_SERVICE_DAILY_USD",
}
LEDGER_KEEP_DAYS = 90
SERVICE_KEY = "service"
# The ledger's own writes, started from tasks of the request pool that wait for them; they never wait themselves.
_ledger_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ledger-io")


def ledger_submit(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    return _ledger_pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)


def daily_ceiling(kind: str) -> int | None:
    """Return the daily ceiling of `kind` (anonymous, user, ip, service) in µUSD; None when it is off."""
    raw = str(getattr(settings, CEILING_SETTINGS[kind]) or "").strip()
    value = float(raw) if raw else 0.0
    return round(value * MICRO) if value > 0 else None


def spending_ceilings_on() -> bool:
    """Return True when any ceiling is on; with all off the ledger is not used at all."""
    return any(daily_ceiling(kind) is not None for kind in CEILING_SETTINGS)


def owner_key(owner: str) -> str:
    """Return the ledger key of an owner: a person by id, an anonymous session by pseudonym (its key is secret)."""
    if owner.startswith("user:"):
        return f"owner#{owner}"
    return f"owner#session:{observability.owner_hash(owner)}"


def ip_key(ip: str) -> str:
    return f"ip#{observability.owner_hash(f'ip:{ip}')}"


def period_of(moment: datetime) -> str:
    """Return the UTC day `moment` falls in, as YYYY-MM-DD: the period every ceiling counts."""
    return moment.astimezone(UTC).date().isoformat()


def period_end(period: str) -> datetime:
    return datetime.fromisoformat(period).replace(tzinfo=UTC) + timedelta(days=1)


def model_ids() -> tuple[str, str]:
    """Return the (screening, chat) model ids whose calls are priced."""
    if llm_backend() == "offline":
        return "offline-screen", "offline-chat"
    return settings.BEDROCK_SCREEN_MODEL_ID, settings.BEDROCK_CHAT_MODEL_ID


def refund(period: str, keys: list[str], amount: int) -> None:
    """Take `amount` off each key's spend at once (negative: add it back); raise the first failure."""
    futures = [ledger_submit(repositories.spend_add, period, key, -amount) for key in keys]
    concurrency.settle(futures)
    for future in futures:
        future.result()


def holds_release_overdue(*, period: str, now: float | None = None) -> bool:
    """Refund the period's reservations whose invocation can no longer be running; True when there were any."""
    # Run when a ceiling refuses a message (the only time money held by a dead invocation matters) and by
    # `manage.py spend_release`.
    released = False
    for hold in repositories.holds_overdue(period, now=int(now if now is not None else time.time())):
        # Taking the hold first makes each refund happen once, whoever else tries.
        if repositories.hold_take(period, hold.key.removeprefix(repositories.HOLD_PREFIX)):
            refund(period, sorted(hold.keys or ()), int(hold.amount or 0))
            released = True
    return released


def person_ceiling_mirror(*, user_id: int, daily_usd: Decimal | None) -> None:
    """Write a person's own daily ceiling where the chat reads it (None: back to the default); raise on failure."""
    limit = None if daily_usd is None else int(daily_usd * MICRO)
    repositories.person_limit_put(f"user:{user_id}", limit)
