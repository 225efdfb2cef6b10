"""DynamoDB tables owned by `security`: the intent cache and the Django sessions."""

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute

from core.dynamodb import TableModel, dynamodb_table, table_meta


@dynamodb_table
class IntentVerdict(TableModel):
    """A screening verdict for one screened text: a model's (with a TTL) or a moderator's pin (none)."""

    Meta = table_meta("intent_cache")

    key = UnicodeAttribute(hash_key=True)
    verdict = UnicodeAttribute()
    category = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    source = UnicodeAttribute()  # "model" or "moderator"
    model_id = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)

    def is_live(self, now: datetime) -> bool:
        """Return False once the TTL has passed (DynamoDB deletes expired items only lazily)."""
        return self.expires_at is None or self.expires_at > now


def intent_verdicts_get(keys: list[str]) -> dict[str, IntentVerdict]:
    """Return the live verdicts stored under `keys`, in one BatchGetItem."""
    now = datetime.now(tz=UTC)
    return {item.key: item for item in IntentVerdict.batch_get(keys) if item.is_live(now)}


def intent_verdict_put(
    *, key: str, verdict: str, category: str, reason: str, source: str, model_id: str, ttl: timedelta | None
) -> IntentVerdict:
    """Store a verdict under `key` (replacing any), expiring after `ttl` unless `ttl` is None."""
    now = datetime.now(tz=UTC)
    item = IntentVerdict(
        key,
        verdict=verdict,
        category=category,
        reason=reason,
        source=source,
        model_id=model_id,
        created_at=now,
        expires_at=now + ttl if ttl is not None else None,
    )
    item.save()
    return item


def intent_verdict_delete(key: str) -> None:
    """Remove the verdict stored under `key`, if any."""
    IntentVerdict(key).delete()


@dynamodb_table
class SessionItem(TableModel):
    """One Django session: its encoded data and expiry (also the table's TTL attribute)."""

    Meta = table_meta("sessions")

    session_key = UnicodeAttribute(hash_key=True)
    data = UnicodeAttribute()
    expires_at = TTLAttribute()
