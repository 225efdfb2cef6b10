"""DynamoDB over real HTTP for tests: moto's threaded server on an ephemeral loopback port."""

import logging
from collections.abc import Iterator

from moto.server import ThreadedMotoServer
from pynamodb.models import Model


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """Start moto_server on 127.0.0.1 and an ephemeral port; return it and its URL.

    It runs in this process, so it serves the same moto backends that `mock_aws` fills: tables created
    in a test are there over HTTP too.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the captured output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _model_classes(model: type[Model]) -> Iterator[type[Model]]:
    yield model
    for subclass in model.__subclasses__():
        yield from _model_classes(subclass)


def forget_connections() -> None:
    """Drop every PynamoDB model's cached connection, so the next call resolves the endpoint from env again."""
    from chatapp.repositories import _transaction_connection
    from core.dynamodb import registered_tables

    for model in registered_tables():
        for cls in _model_classes(model):
            cls._connection = None
    _transaction_connection.cache_clear()
