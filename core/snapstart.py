"""Lambda SnapStart: the runtime hooks that keep a restored environment connected and unique.

With SnapStart (the production stage) Lambda runs the init phase once per published version, snapshots the
microVM's memory, and resumes every new execution environment from that one snapshot, minutes or weeks later,
on other hosts. So (AWS's SnapStart uniqueness and networking guidance):
- a TCP connection opened during init is dead after the restore: before the snapshot every HTTP connection
  pool (urllib3's, under botocore and anything else) and every database connection is closed, and after the
  restore they are closed again, so that nothing stale is reused;
- the last after-restore hook (`connections_open`) then opens new connections (TCP and TLS, no request) to
  the endpoints a request calls: DynamoDB, as many as a request uses at once, and Bedrock's runtime, one per
  model client. Lambda bills the hook's time as Restore Duration, before the first event: the first request
  finds them ready instead of waiting on handshakes, as a warm one does;
- every restored environment starts with the init's memory, so anything random made during init would repeat
  in all of them: `random` is re-seeded after the restore (botocore's retry jitter uses it). Django's session
  keys and CSRF tokens (`get_random_string`: `secrets`) and `uuid.uuid4` (conversation and message ids) read
  `os.urandom` on every call, which the restored kernel keeps unique: nothing to re-seed there;
- the request I/O pool's threads were started by init: it is replaced by a fresh pool before the snapshot so
  that nothing of the init's thread state is carried over (and an emulated snapshot, a fork, works), and the
  after-restore hook starts the new pool's threads;
- credentials resolved during init may have expired by the restore: they are refreshed then, not on the
  first request;
- a restored environment's memory is the snapshot's, paged in when first touched (a fork, emulating it, copies
  a page on its first write): the init's objects are frozen out of the garbage collector before the snapshot,
  so no collection walks them all after it, and the init's warm-ups (DynamoDB's operations, both models,
  answered before anything is sent) and a primed request (core.startup) run after the restore, so the hook
  touches what a request uses, not the request.

The hooks register with `snapshot_restore_py`, which Lambda's Python runtime provides and runs. Elsewhere
(tests, benchmarks, `make run`) a local registry with the same functions stands in, and
`run_before_snapshot` / `run_after_restore` run the hooks as the runtime does: before-snapshot hooks in
reverse order of registration, after-restore hooks in order.
"""

import functools
import gc
import logging
import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

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


# The connections the after-restore hook opens per client of each service; other clients (the Bedrock control
# plane, which this app never calls) open theirs on first use. One model client makes one call at a time.
WARM_CONNECTIONS = {"dynamodb": concurrency.REQUEST_TASKS, "bedrock-runtime": 1}

# What the before-snapshot hook found on the heap, so that the restore path clears it without searching again.
_pool_managers: list[Any] = []
_aws_clients: list[Any] = []


def http_pools_find() -> None:
    """Find every urllib3 pool manager and botocore client in the process (once, before the snapshot)."""
    from botocore.client import BaseClient
    from urllib3 import PoolManager

    # botocore keeps one PoolManager per client (the shared DynamoDB client, the Bedrock runtime and control
    # clients), and a library may hold its own (requests' adapters): searching the heap catches the ones this
    # app did not build. Heap-wide, so it runs before the snapshot, never on the restore path.
    objects = gc.get_objects()
    _pool_managers[:] = [obj for obj in objects if isinstance(obj, PoolManager)]
    _aws_clients[:] = [obj for obj in objects if isinstance(obj, BaseClient)]


def http_pools_clear() -> int:
    """Close every connection of the pools found before the snapshot; return how many managers were cleared."""
    for manager in _pool_managers:
        manager.clear()  # it opens new connections on its next request
    return len(_pool_managers)


def http_connections_open(client: Any, count: int) -> int:
    """Open `count` new connections from `client`'s pool to its endpoint at once, left idle; return how many opened."""
    # The pool botocore's URLLib3Session sends the client's requests through (the same manager, TLS settings and
    # timeouts), so its next requests reuse them. Only the connection is made: nothing is sent.
    session = client._endpoint.http_session  # noqa: SLF001 - botocore exposes no pool of its own
    url = client._endpoint.host  # noqa: SLF001
    manager = session._get_connection_manager(url, session._proxy_config.proxy_url_for(url))  # noqa: SLF001
    pool = manager.connection_from_url(url)
    session._setup_ssl_cert(pool, url, session._verify)  # noqa: SLF001 - as send() does, before connecting
    opened = [pool._get_conn() for _ in range(count)]  # noqa: SLF001 - urllib3's own checkout of a connection
    try:
        connected = concurrency.gather(*(functools.partial(_connect, connection) for connection in opened))
    finally:
        for connection in opened:
            pool._put_conn(connection)  # noqa: SLF001
    return sum(connected)


def _connect(connection: Any) -> bool:
    if connection.sock is not None:
        return False  # an idle connection already open (opened since the restore): nothing new
    try:
        connection.connect()
    except Exception as exc:  # noqa: BLE001 - a warm-up: left unopened, the request connects, and reports, by itself
        logger.warning("connection warm-up failed", extra={"event": "snapstart_connect_failed", "error": repr(exc)})
        connection.close()
        return False
    return True


def http_connections_warm() -> dict[str, int]:
    """Open new connections to the endpoints a request calls (after the restore); return how many per service."""
    opened: dict[str, int] = {}
    for client in _aws_clients:
        service = client.meta.service_model.service_name
        if count := WARM_CONNECTIONS.get(service):
            opened[service] = opened.get(service, 0) + http_connections_open(client, count)
    return opened


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
    gc.collect()
    gc.freeze()  # init's objects go to the permanent generation: no collection after the restore walks them
    record = {"pool_managers": cleared, "aws_clients": len(_aws_clients)}
    logger.info("before snapshot", extra={"event": "snapstart_before_snapshot", "record": record})


def after_restore() -> None:
    """Make this environment unique and ready to call out (the first AFTER_RESTORE hook; warm-ups come after)."""
    random.seed()  # from os.urandom
    connections.close_all()
    http_pools_clear()
    credentials_refresh()
    concurrency.pool_start()


def connections_open() -> None:
    """Open the connections the first request will use (the last AFTER_RESTORE hook)."""
    # Last: a warm-up that calls out may end with its connection closed, and the request would then connect itself.
    opened = http_connections_warm()
    logger.info("after restore", extra={"event": "snapstart_after_restore", "record": {"connections": opened}})


# Every after-restore hook, in the order the runtime runs them, with the setting that turns it on (None: always).
# Dotted paths: core imports no app, and a hook's module is imported only when it runs.
AFTER_RESTORE = (
    ("core.snapstart.after_restore", None),  # first: unique, no stale connection, the I/O pool's threads
    ("security.services.screening.screening_model_warm", "WARM_MODELS_AT_STARTUP"),
    ("chatapp.clients.chat_model_warm", "WARM_MODELS_AT_STARTUP"),
    ("core.dynamodb.dynamodb_warm", "PREPARE_AT_STARTUP"),
    ("core.startup.requests_prime", "PREPARE_AT_STARTUP"),
    ("core.snapstart.connections_open", "PREPARE_AT_STARTUP"),  # last: after everything that calls out
)


@functools.cache
def hooks_register() -> None:
    """Register `before_snapshot` and the AFTER_RESTORE hooks whose setting is on, in order (once, at start-up)."""
    register_before_snapshot(before_snapshot)
    for path, setting in AFTER_RESTORE:
        if setting is None or getattr(settings, setting):
            register_after_restore(_hook_run, path)


def _hook_run(path: str) -> None:
    import_string(path)()
