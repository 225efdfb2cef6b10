"""A Django session engine on DynamoDB (`SESSION_ENGINE = "security.sessions"`).

It keeps the contract of django.contrib.sessions.backends.base.SessionBase the way the db and cache
backends do: creating never overwrites a live session (conditional put → CreateError), saving never
resurrects a deleted one (→ UpdateError), and an expired item reads as an empty session even before
DynamoDB's TTL removes it. Any cookie value is safe to hand it: a key that this engine cannot have issued
is no session, without a DynamoDB call (Django's tests/sessions_tests runs against it, see
tests/security/django_sessions/).
"""

from datetime import UTC, datetime
from typing import Any, TypeGuard

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, SessionBase, UpdateError
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from security.repositories import SessionItem

# Django issues keys of 32 characters from VALID_KEY_CHARS, and SessionBase takes any of 8 or more. The upper
# bound keeps a junk cookie from ever reaching DynamoDB, which refuses a key over 2,048 bytes (ValidationException,
# that moto does not raise), and keeps every key built from the owner (request markers, the by_owner index) short.
SESSION_KEY_MIN_LENGTH = 8
SESSION_KEY_MAX_LENGTH = 64
_SESSION_KEY_CHARS = frozenset(VALID_KEY_CHARS)


def is_session_key(value: object) -> TypeGuard[str]:
    """Return True when `value` could be a key this engine issued: 8 to 64 lowercase ASCII letters and digits."""
    return (
        isinstance(value, str)
        and SESSION_KEY_MIN_LENGTH <= len(value) <= SESSION_KEY_MAX_LENGTH
        and _SESSION_KEY_CHARS.issuperset(value)
    )


class SessionStore(SessionBase):
    """Session store whose items live in the `{prefix}sessions` table."""

    def _validate_session_key(self, key: str | None) -> bool:
        """Accept only keys this engine could have issued; anything else is no session (Django drops it)."""
        return is_session_key(key)

    def _get_live_item(self, session_key: str) -> SessionItem | None:
        try:
            item = SessionItem.get(session_key, consistent_read=True)
        except DoesNotExist:
            return None
        return item if item.expires_at > datetime.now(tz=UTC) else None

    def load(self) -> dict[str, Any]:
        """Return the stored session data, or {} (and forget the key) when missing, expired or corrupt."""
        item = self._get_live_item(self.session_key) if self.session_key else None
        if item is None:
            self._session_key = None
            return {}
        return self.decode(item.data)

    def exists(self, session_key: str | None) -> bool:
        """Return True when a live session is stored under `session_key`; False for None or a malformed key."""
        return is_session_key(session_key) and self._get_live_item(session_key) is not None

    def create(self) -> None:
        """Store a new empty session under a fresh key that no live session has."""
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        """Store the session; with `must_create`, fail with CreateError if a live one has this key."""
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        item = SessionItem(self.session_key, data=self.encode(data), expires_at=self.get_expiry_date())
        if must_create:
            # An expired item may be reused: it is invisible to every reader already.
            condition = SessionItem.session_key.does_not_exist() | (SessionItem.expires_at <= datetime.now(tz=UTC))
        else:
            condition = SessionItem.session_key.exists()
        try:
            item.save(condition=condition)
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise
            raise (CreateError if must_create else UpdateError) from exc

    def delete(self, session_key: str | None = None) -> None:
        """Delete the session under `session_key` (default: this one); a missing or malformed one is fine."""
        session_key = session_key or self.session_key
        if not is_session_key(session_key):
            return
        try:
            SessionItem(session_key).delete()
        except DeleteError as exc:
            if not _is_condition_failure(exc):
                raise

    @classmethod
    def clear_expired(cls) -> None:
        """Do nothing: DynamoDB's TTL removes expired sessions, and reads already ignore them."""


def _is_condition_failure(exc: PutError | DeleteError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"
