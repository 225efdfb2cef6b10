"""moto, the one stand-in for AWS, started one of three ways; which one depends on where its clients run.

- `moto_in_memory()`: botocore in this process answered by moto without HTTP, with the app's tables created.
  For clients in this process (the test client, the live server); every test gets fresh tables.
- `moto_dynamodb_server()`: the same in-memory DynamoDB served over HTTP from a thread of this process. For
  clients in other processes (the WebSocket gateway, gunicorn, benchmark children) or behind a fault proxy,
  which must see the tables a test creates through `moto_in_memory()`.
- `MotoServerProcess`: all of moto's services in a process of its own (`python -m fakes.aws`). For the Lambda
  containers, which outlive one test and so must not share the state that `moto_in_memory()` resets, and for
  the deploy rehearsal, which needs IAM, S3, Lambda and CloudFormation as well as DynamoDB.
"""

import functools
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import waitress
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import create_backend_app
from moto.server import ThreadedMotoServer
from pynamodb.models import Model

PROJECT = Path(__file__).resolve().parent.parent

_dynamodb_lock = threading.RLock()


def serialise_dynamodb_requests() -> None:
    """Handle one DynamoDB request at a time in this process's moto (idempotent)."""
    # moto has no concurrency control: a transaction deep-copies a table while other threads change it
    # ("dictionary changed size during iteration" → 500), and UpdateItem's ADD is a read-modify-write.
    # DynamoDB makes each request atomic; one lock around each request gives moto the same guarantee.
    if getattr(DynamoHandler.call_action, "serialised", False):
        return
    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def serialised(self):  # type: ignore[no-untyped-def]
        with _dynamodb_lock:
            return call_action(self)

    serialised.serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialised  # type: ignore[method-assign]


_query_partition = threading.local()


def partition_local_queries() -> None:
    """Make moto's Query on a table's own key read that key's partition only, as DynamoDB does (idempotent)."""
    # moto 5.2 answers every Query by sorting all the items of the table and keeping the partition's, so a
    # Query's cost grows with the whole table; DynamoDB's grows with what it reads. Benchmarks that count
    # per-partition Queries (delete all) would otherwise measure moto's table size.
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "partition_local", False):
        return
    all_items, query = Table.all_items, Table.query

    def partition_items(self):  # type: ignore[no-untyped-def]
        wanted = getattr(_query_partition, "key", None)
        if wanted is None or wanted[0] is not self:
            return all_items(self)
        partition = self.items.get(wanted[1])
        if partition is None or not self.range_key_attr:
            return [partition] if partition is not None else []
        return sorted(partition.values(), key=lambda item: item.range_key)

    @functools.wraps(query)
    def partition_query(self, hash_key, *args, **kwargs):  # type: ignore[no-untyped-def]
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        # Index Queries stay as moto answers them.
        _query_partition.key = None if index_name or hash_key is None else (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _query_partition.key = None

    partition_query.partition_local = True  # type: ignore[attr-defined]
    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]


@contextmanager
def moto_in_memory() -> Iterator[None]:
    """Answer this process's AWS calls with a fresh, empty moto, holding every registered table."""
    from core.dynamodb import ensure_table, registered_tables

    with mock_aws():
        for model in registered_tables():
            ensure_table(model)
        yield


@contextmanager
def moto_dynamodb_server() -> Iterator[str]:
    """Serve moto's DynamoDB on an ephemeral port, keeping connections alive as the real endpoint does."""
    logging.getLogger("waitress").setLevel(logging.ERROR)
    serialise_dynamodb_requests()
    # moto's own server (werkzeug's) closes the connection after every response, so each call would pay a new TCP
    # connection and a new server thread: an artifact of the local server that DynamoDB, whose connections botocore
    # reuses, does not have. waitress keeps them open and sets TCP_NODELAY. The app serves DynamoDB alone, without
    # moto's dispatcher, which works out the service of every request anew.
    server = waitress.create_server(create_backend_app("dynamodb"), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, name="moto-dynamodb", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)


class MotoServerProcess:
    """All of moto's services in a process of its own, on an ephemeral 127.0.0.1 port (`url`)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "fakes.aws"],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self._process.stdout.readline() if self._process.stdout else ""
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"moto server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def _model_classes(model: type[Model]) -> Iterator[type[Model]]:
    yield model
    for subclass in model.__subclasses__():
        yield from _model_classes(subclass)


def forget_connections() -> None:
    """Drop every PynamoDB model's cached connection, so the next call resolves the endpoint from env again."""
    from chatapp.repositories import transaction_connection
    from core.dynamodb import dynamodb_client, registered_tables

    for model in registered_tables():
        for cls in _model_classes(model):
            cls._connection = None
    transaction_connection.cache_clear()
    dynamodb_client.cache_clear()


def _serve_until_terminated() -> None:
    """Serve moto on an ephemeral port, print `port <n>` once it listens, and stop on SIGTERM."""
    if os.environ.get("MOTO_PARTITION_QUERIES") == "1":  # for benchmarks of per-partition Queries
        partition_local_queries()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"port {server.get_host_and_port()[1]}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    _serve_until_terminated()
