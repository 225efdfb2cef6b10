"""Helpers for the spending ceilings: the ledger as the chat left it, and model answers that cost real money."""

from datetime import UTC, datetime

import pytest

from billing import repositories
from billing.services import SERVICE_KEY, ip_key, owner_key, period_of
from fakes.aws import serialise_dynamodb_requests


@pytest.fixture(autouse=True)
def atomic_moto_requests() -> None:
    """moto's UpdateItem ADD is a read-modify-write; DynamoDB makes each request atomic, and so must the fake."""
    serialise_dynamodb_requests()


def today() -> str:
    return period_of(datetime.now(tz=UTC))


def spent(key: str) -> int:
    """Return what the ledger holds for `key` today (µUSD), reservations in flight included."""
    item = repositories.ledger_item(today(), key)
    return int(item.spent or 0) if item else 0


def owner_spent(owner: str) -> int:
    return spent(owner_key(owner))


def ip_spent(ip: str) -> int:
    return spent(ip_key(ip))


def service_spent() -> int:
    return spent(SERVICE_KEY)


def holds() -> list[repositories.LedgerItem]:
    return repositories.period_items(today(), prefix=repositories.HOLD_PREFIX)
