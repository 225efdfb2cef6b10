"""Page cursors: a position in a DynamoDB Query, signed, compressed, and bound to its owner and listing.

A cursor holds only what the next Query needs beyond what the request already knows: never the owner (the
by_owner index's key is the session key), which is rebuilt from the request instead. The owner and the
listing (the conversation list, or one conversation's messages) are mixed into the signature's salt, so a
cursor made for anyone or anything else fails its signature like a tampered one. The signing key is
SECRET_KEY (with SECRET_KEY_FALLBACKS), so rotating it only makes old cursors invalid.
"""

from django.core import signing

from core.exceptions import InvalidRequest

SALT = "chatapp.pagination.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def cursor_dump(position: tuple[str, str], *, owner: str, listing: str) -> str:
    """Return the opaque cursor for `position` in the owner's `listing`."""
    return signing.dumps(list(position), salt=_salt(owner, listing), compress=True)


def cursor_load(cursor: str, *, owner: str, listing: str, field: str) -> tuple[str, str]:
    """Return the position a cursor holds; InvalidRequest naming `field` when it was not made for this listing."""
    try:
        position = signing.loads(cursor, salt=_salt(owner, listing))
    except signing.BadSignature:
        position = None
    if not (isinstance(position, list) and len(position) == 2 and all(isinstance(part, str) for part in position)):
        message = "Not a valid cursor: pass back the value from the previous page unchanged."
        raise InvalidRequest("Some fields are not valid.", fields={field: [message]})
    return position[0], position[1]


def _salt(owner: str, listing: str) -> str:
    return f"{SALT}:{listing}:{owner}"
