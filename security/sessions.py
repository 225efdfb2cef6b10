"""A Django session engine on DynamoDB (`SESSION_ENGINE = "security.sessions"`).

It keeps the contract of django.contrib.sessions.backends.base.SessionBase the way the db and cache
backends do: creating never overwrites a live session (conditional put → CreateError), saving never
resurrects a deleted one (→ UpdateError), and an expired item reads as an empty session even before
DynamoDB's TTL removes it.
"""

from datetime import UTC, datetime
from typing import Any

from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from security.repositories import SessionItem


class SessionStore(SessionBase):
    """Session store whose items live in the `{prefix}sessions` table."""

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

    def exists(self, session_key: str) -> bool:
        """Return True when a live session is stored under `session_key`."""
        return self._get_live_item(session_key) is not None

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
        """Delete the session under `session_key` (default: this one); a missing one is fine."""
        session_key = session_key or self.session_key
        if session_key is None:
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
