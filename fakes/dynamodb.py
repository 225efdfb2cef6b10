"""DynamoDB over real HTTP for tests and benchmarks: moto served on an ephemeral loopback port."""

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import waitress
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import create_backend_app
from moto.server import ThreadedMotoServer
from pynamodb.models import Model

_dynamodb_lock = threading.RLock()


def serialise_dynamodb_requests() -> None:
    """Handle one DynamoDB request at a time in this process's moto (idempotent).

    moto has no concurrency control: a transaction deep-copies a table while other threads change it
    ("dictionary changed size during iteration" → 500), and UpdateItem's ADD is a read-modify-write.
    DynamoDB makes each request atomic; one lock around each request gives moto the same guarantee.
    """
    if getattr(DynamoHandler.call_action, "serialised", False):
        return
    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def serialised(self):  # type: ignore[no-untyped-def]
        with _dynamodb_lock:
            return call_action(self)

    serialised.serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialised  # type: ignore[method-assign]


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """Start moto_server on 127.0.0.1 and an ephemeral port; return it and its URL.

    It runs in this process, so it serves the same moto backends that `mock_aws` fills: tables created
    in a test are there over HTTP too.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the captured output
    serialise_dynamodb_requests()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@contextmanager
def dynamodb_server() -> Iterator[str]:
    """Serve moto's DynamoDB on an ephemeral port, keeping connections alive as the real endpoint does.

    moto's own server (werkzeug's) closes the connection after every response, so each call would pay
    a new TCP connection and a new server thread: an artifact of the local server that DynamoDB, whose
    connections botocore reuses, does not have. waitress keeps them open and sets TCP_NODELAY. The app
    serves DynamoDB alone, without moto's dispatcher, which works out the service of every request anew.
    """
    logging.getLogger("waitress").setLevel(logging.ERROR)
    serialise_dynamodb_requests()
    server = waitress.create_server(create_backend_app("dynamodb"), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, name="moto-dynamodb", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)


def _model_classes(model: type[Model]) -> Iterator[type[Model]]:
    yield model
    for subclass in model.__subclasses__():
        yield from _model_classes(subclass)


def forget_connections() -> None:
    """Drop every PynamoDB model's cached connection, so the next call resolves the endpoint from env again."""
    from chatapp.repositories import _transaction_connection
    from core.dynamodb import dynamodb_client, registered_tables

    for model in registered_tables():
        for cls in _model_classes(model):
            cls._connection = None
    _transaction_connection.cache_clear()
    dynamodb_client.cache_clear()
