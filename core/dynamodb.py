"""Shared plumbing for the PynamoDB models: table naming, one shared client, and creating missing tables."""

import functools
import time
from typing import Any

from botocore.config import Config
from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

from core.aws import answered_before_send, aws_client

_registry: list[type[Model]] = []
# Every table and the request I/O pool's threads share the client's connections (botocore's default is 10).
MAX_POOL_CONNECTIONS = 32


def table_meta(name: str) -> type:
    """Return a PynamoDB `Meta` for table `{DYNAMODB_TABLE_PREFIX}{name}`."""
    # Read at class creation, the one place settings are read at import time (PynamoDB fixes table names then).
    # No `host`: botocore honours AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL by itself.
    attributes: dict[str, Any] = {
        "table_name": f"{settings.DYNAMODB_TABLE_PREFIX}{name}",
        "region": settings.AWS_REGION,
        "billing_mode": "PAY_PER_REQUEST",
        # The shared client (dynamodb_client) has the same timeouts and retries; these apply to a client PynamoDB
        # builds in its place, which it does when the shared one has no credentials.
        "connect_timeout_seconds": settings.DYNAMODB_CONNECT_TIMEOUT,
        "read_timeout_seconds": settings.DYNAMODB_READ_TIMEOUT,
        "max_retry_attempts": settings.DYNAMODB_MAX_RETRIES,
        "max_pool_connections": MAX_POOL_CONNECTIONS,
    }
    return type("Meta", (), attributes)


@functools.cache
def dynamodb_client() -> Any:
    """Return the one DynamoDB client every table shares, configured as PynamoDB configures its own."""
    # PynamoDB builds a client per model class, each from a new botocore session that parses the service
    # model again: ~50 ms apiece, eight times over in a cold start's first chat. Clients are thread-safe.
    config = Config(
        parameter_validation=False,
        connect_timeout=settings.DYNAMODB_CONNECT_TIMEOUT,
        read_timeout=settings.DYNAMODB_READ_TIMEOUT,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        retries={"mode": "standard", "total_max_attempts": 1 + settings.DYNAMODB_MAX_RETRIES},
    )
    return aws_client("dynamodb", config)  # from the process's one AWS session, which the Bedrock clients share


# One call of each operation the app makes (sessions, rate limits, intent cache, conversations), for dynamodb_warm.
_KEY = {"key": {"S": "warm-up"}}
WARM_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_item", {"TableName": "warm-up", "Key": _KEY}),
    ("put_item", {"TableName": "warm-up", "Item": _KEY}),
    ("update_item", {"TableName": "warm-up", "Key": _KEY}),
    ("delete_item", {"TableName": "warm-up", "Key": _KEY}),
    ("query", {"TableName": "warm-up"}),
    ("batch_get_item", {"RequestItems": {"warm-up": {"Keys": [_KEY]}}}),
    ("transact_write_items", {"TransactItems": [{"Put": {"TableName": "warm-up", "Item": _KEY}}]}),
]


def dynamodb_warm() -> None:
    """Make each operation the app uses once on the shared client, each answered `{}` just before it is sent."""
    # A client's first call of an operation resolves its events, endpoint and serialiser, and the first response
    # loads its parser: tens of ms that would otherwise land on the first request.
    client = dynamodb_client()
    with answered_before_send(client, b"{}", content_type="application/x-amz-json-1.0"):
        for operation, params in WARM_CALLS:
            getattr(client, operation)(**params)


def share_client(connection: Connection) -> Connection:
    """Make `connection` use the shared client (PynamoDB would build one on first use)."""
    connection._client = dynamodb_client()  # noqa: SLF001 - PynamoDB offers no way to pass a client in
    return connection


class TableModel(Model):
    """A PynamoDB model whose connection uses the shared client."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        if table.connection._client is None:  # noqa: SLF001
            share_client(table.connection)
        return table


def dynamodb_table(model: type[Model]) -> type[Model]:
    """Register `model` so that `ensure_tables` creates its table."""
    _registry.append(model)
    return model


def registered_tables() -> list[type[Model]]:
    """Return every registered model, after importing each installed app's `repositories` module."""
    autodiscover_modules("repositories")
    return list(_registry)


def ensure_table(model: type[Model]) -> bool:
    """Create `model`'s table if it is missing (PynamoDB also switches on its TTL); True when created."""
    if model.exists():
        return False
    model.create_table(wait=True)
    return True


def tables_unreachable() -> BaseException | None:
    """Return why a table could not be described, or None; checked at most once per HEALTH_CHECK_SECONDS."""
    # The health URL is public: each call describing every table would let anyone spend DescribeTable's
    # control-plane quota, so a container answers from its last check until the next period.
    return _tables_check(int(time.monotonic() // settings.HEALTH_CHECK_SECONDS))


@functools.lru_cache(maxsize=1)
def _tables_check(period: int) -> BaseException | None:
    try:
        for model in registered_tables():
            model.describe_table()
    except Exception as exc:  # noqa: BLE001 - the caller reports it as the contract's 503
        return exc
    return None
