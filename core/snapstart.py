"""Lambda SnapStart: the runtime hooks that keep a restored environment connected and unique.

With SnapStart (the production stage) Lambda runs the init phase once per published version, snapshots the
microVM's memory, and resumes every new execution environment from that one snapshot, minutes or weeks later,
on other hosts. So (AWS's SnapStart uniqueness and networking guidance):
- a TCP connection opened during init is dead after the restore: before the snapshot every HTTP connection
  pool (urllib3's, under botocore and anything else) and every database connection is closed, and after the
  restore they are closed again, so the first request opens fresh ones instead of failing on a stale one;
- every restored environment starts with the init's memory, so anything random made during init would repeat
  in all of them: `random` is re-seeded after the restore (botocore's retry jitter uses it). Django's session
  keys and CSRF tokens (`get_random_string`: `secrets`) and `uuid.uuid4` (conversation and message ids) read
  `os.urandom` on every call, which the restored kernel keeps unique: nothing to re-seed there;
- the request I/O pool's threads were started by init: it is replaced by a fresh pool (threads start on first
  use) so that nothing of the init's thread state is carried over (and an emulated snapshot, a fork, works);
- credentials resolved during init may have expired by the restore: they are refreshed then, not on the
  first request.

The hooks register with `snapshot_restore_py`, which Lambda's Python runtime provides and runs. Elsewhere
(tests, benchmarks, `make run`) a local registry with the same functions stands in, and
`run_before_snapshot` / `run_after_restore` run the hooks as the runtime does: before-snapshot hooks in
reverse order of registration, after-restore hooks in order.
"""

import gc
import logging
import random
from collections.abc import Callable
from typing import Any

from django.db import connections

from core import concurrency

logger = logging.getLogger(__name__)
Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

try:  # Lambda's managed Python runtimes (3.12+) ship it
    from snapshot_restore_py import (  # type: ignore[import-not-found]
        get_after_restore,
        get_before_snapshot,
        register_after_restore,
        register_before_snapshot,
    )
except ImportError:
    _before_snapshot: list[Hook] = []
    _after_restore: list[Hook] = []

    def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """Register `func(*args, **kwargs)` to run before the snapshot (a decorator too)."""
        _before_snapshot.append((func, args, kwargs))
        return func

    def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """Register `func(*args, **kwargs)` to run after a restore (a decorator too)."""
        _after_restore.append((func, args, kwargs))
        return func

    def get_before_snapshot() -> list[Hook]:
        return _before_snapshot

    def get_after_restore() -> list[Hook]:
        return _after_restore


def run_before_snapshot() -> None:
    """Run the before-snapshot hooks as Lambda's runtime does: last registered first."""
    for func, args, kwargs in reversed(get_before_snapshot()):
        func(*args, **kwargs)


def run_after_restore() -> None:
    """Run the after-restore hooks as Lambda's runtime does: in order of registration."""
    for func, args, kwargs in get_after_restore():
        func(*args, **kwargs)


# What the before-snapshot hook found on the heap, so that the restore path clears it without searching again.
_pool_managers: list[Any] = []
_aws_clients: list[Any] = []


def http_pools_find() -> None:
    """Find every urllib3 pool manager and botocore client in the process (once, before the snapshot).

    botocore keeps one PoolManager per client (the shared DynamoDB client, the Bedrock runtime and control
    clients), and a library may hold its own (requests' adapters): searching the heap catches the ones this
    app did not build. Heap-wide, so it runs before the snapshot, never on the restore path.
    """
    from botocore.client import BaseClient
    from urllib3 import PoolManager

    objects = gc.get_objects()
    _pool_managers[:] = [obj for obj in objects if isinstance(obj, PoolManager)]
    _aws_clients[:] = [obj for obj in objects if isinstance(obj, BaseClient)]


def http_pools_clear() -> int:
    """Close every connection of the pools found before the snapshot; return how many managers were cleared.

    A cleared manager opens new connections on its next request.
    """
    for manager in _pool_managers:
        manager.clear()
    return len(_pool_managers)


def credentials_refresh() -> None:
    """Refresh the AWS clients' credentials now if they expired while the snapshot waited."""
    for client in _aws_clients:
        credentials = getattr(client._request_signer, "_credentials", None)  # noqa: SLF001
        if credentials is not None and hasattr(credentials, "get_frozen_credentials"):
            credentials.get_frozen_credentials()  # refreshable credentials refresh here when they need to


def before_snapshot() -> None:
    """Drop everything tied to the init environment: database and HTTP connections, the I/O pool's threads."""
    connections.close_all()
    http_pools_find()
    cleared = http_pools_clear()
    concurrency.pool_reset()
    record = {"pool_managers": cleared, "aws_clients": len(_aws_clients)}
    logger.info("before snapshot", extra={"event": "snapstart_before_snapshot", "record": record})


def after_restore() -> None:
    """Make this environment unique and reconnect: re-seed `random`, drop any connection, refresh credentials."""
    random.seed()  # from os.urandom
    connections.close_all()
    http_pools_clear()
    credentials_refresh()


register_before_snapshot(before_snapshot)
register_after_restore(after_restore)
