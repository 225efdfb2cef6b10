"""The rate_limits table: one atomic counter per `{scope}#{ident}#{window}` key."""

from datetime import datetime

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from core.dynamodb import TableModel, dynamodb_table, table_meta


@dynamodb_table
class RateCounter(TableModel):
    """Requests counted in one window for one `{scope}#{ident}#{window}` key."""

    Meta = table_meta("rate_limits")

    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def rate_counter_hit(key: str, *, expires_at: datetime) -> int:
    """Count one request under `key` with one atomic ADD and return the count so far."""
    counter = RateCounter(key)
    counter.update(actions=[RateCounter.count.add(1), RateCounter.expires_at.set(expires_at)])
    return int(counter.count)
