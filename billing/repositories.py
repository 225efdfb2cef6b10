"""The ledger table: what each ceiling's scope has spent per UTC day, reservations in flight, people's own ceilings.

Layout of `{prefix}ledger` (period, key):
  <YYYY-MM-DD>, service                 the whole deployment's spend that day (µUSD), messages, tokens
  <YYYY-MM-DD>, ip#<pseudonym>          one client IP's
  <YYYY-MM-DD>, owner#user:<pk>         one person's; owner#session:<pseudonym> for an anonymous session
  <YYYY-MM-DD>, hold#<id>               a reservation in flight: its amount and the keys it was added to; a
                                        settle deletes it, and once past `release_after` a sweep refunds it
  limits, user:<pk>                     a person's own daily ceiling (µUSD), mirrored from the admin
`spent` counts settled costs plus reservations in flight, so a ceiling is checked against both. A day's items
expire (TTL) after LEDGER_KEEP_DAYS; one day is one partition key, read whole by the admin's Usage page.
"""

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from core.dynamodb import TableModel, dynamodb_table, table_meta

LIMITS_PERIOD = "limits"
HOLD_PREFIX = "hold#"


@dynamodb_table
class LedgerItem(TableModel):
    """Any item of the ledger table (see the module's layout)."""

    Meta = table_meta("ledger")

    period = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    spent = NumberAttribute(null=True)
    messages = NumberAttribute(null=True)
    input_tokens = NumberAttribute(null=True)
    output_tokens = NumberAttribute(null=True)
    amount = NumberAttribute(null=True)  # a hold's reservation, on each of its `keys`
    keys = UnicodeSetAttribute(null=True)
    release_after = NumberAttribute(null=True)  # a hold: epoch seconds after which its invocation cannot be alive
    limit = NumberAttribute(null=True)  # a person's own daily ceiling
    expires_at = TTLAttribute(null=True)


def _condition_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def spend_reserve(period: str, key: str, amount: int, *, ceiling: int | None, expires_at: datetime) -> int | None:
    """Add `amount` to `key`'s spend atomically; return the new total, or None (nothing added) past `ceiling`."""
    if ceiling is not None and amount > ceiling:
        return None  # a first ADD of the day would pass `does_not_exist` whatever its amount
    item = LedgerItem(period, key)
    condition = None
    if ceiling is not None:
        condition = LedgerItem.spent.does_not_exist() | (LedgerItem.spent <= ceiling - amount)
    try:
        item.update(actions=[LedgerItem.spent.add(amount), LedgerItem.expires_at.set(expires_at)], condition=condition)
    except UpdateError as error:
        if _condition_failed(error):
            return None
        raise
    return int(item.spent or 0)


def spend_add(period: str, key: str, amount: int, *, messages: int = 0, tokens: tuple[int, int] = (0, 0)) -> None:
    """Add `amount` (negative: a refund) to `key`'s spend, with the message and token counts of a settle."""
    actions = [LedgerItem.spent.add(amount)]
    if messages:
        actions += [LedgerItem.messages.add(messages)]
    if any(tokens):
        actions += [LedgerItem.input_tokens.add(tokens[0]), LedgerItem.output_tokens.add(tokens[1])]
    LedgerItem(period, key).update(actions=actions)


def hold_put(
    period: str, hold_id: str, *, amount: int, keys: set[str], release_after: int, expires_at: datetime
) -> None:
    """Record a reservation in flight, so that a sweep can refund it if its invocation dies."""
    LedgerItem(
        period, HOLD_PREFIX + hold_id, amount=amount, keys=keys, release_after=release_after, expires_at=expires_at
    ).save()


def hold_take(period: str, hold_id: str) -> bool:
    """Delete a hold if it is still there; True when this call took it (only its taker settles or refunds it)."""
    try:
        LedgerItem(period, HOLD_PREFIX + hold_id).delete(condition=LedgerItem.key.exists())
    except DeleteError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def holds_overdue(period: str, *, now: int) -> list[LedgerItem]:
    """Return the period's holds whose invocation can no longer be running (past `release_after`)."""
    query = LedgerItem.query(
        period, LedgerItem.key.startswith(HOLD_PREFIX), filter_condition=LedgerItem.release_after <= now
    )
    return list(query)


def ledger_items(keys: list[tuple[str, str]]) -> dict[tuple[str, str], LedgerItem]:
    """Return the items at `keys` ((period, key) pairs) that exist, in one strongly consistent batch read."""
    return {(item.period, item.key): item for item in LedgerItem.batch_get(keys, consistent_read=True)}


def ledger_item(period: str, key: str) -> LedgerItem | None:
    """Return one item, read strongly consistent, or None."""
    try:
        return LedgerItem.get(period, key, consistent_read=True)
    except DoesNotExist:
        return None


def period_items(period: str, *, prefix: str = "") -> list[LedgerItem]:
    """Return a period's items whose key starts with `prefix` (one Query, paged through)."""
    condition = LedgerItem.key.startswith(prefix) if prefix else None
    return list(LedgerItem.query(period, condition))


def person_limit_put(person: str, limit: int | None) -> None:
    """Mirror a person's own daily ceiling (µUSD; None: the default applies again)."""
    item = LedgerItem(LIMITS_PERIOD, person)
    if limit is None:
        item.delete()
    else:
        item.limit = limit
        item.save()
