"""Shared plumbing for the PynamoDB models: table naming, client settings, and creating missing tables."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from pynamodb.models import Model

_registry: list[type[Model]] = []


def table_meta(name: str) -> type:
    """Return a PynamoDB `Meta` for table `{DYNAMODB_TABLE_PREFIX}{name}`.

    Read at class creation, the one place settings are read at import time (PynamoDB fixes table names
    then). No `host`: botocore honours AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL by itself.
    """
    attributes: dict[str, Any] = {
        "table_name": f"{settings.DYNAMODB_TABLE_PREFIX}{name}",
        "region": settings.AWS_REGION,
        "billing_mode": "PAY_PER_REQUEST",
        "connect_timeout_seconds": settings.DYNAMODB_CONNECT_TIMEOUT,
        "read_timeout_seconds": settings.DYNAMODB_READ_TIMEOUT,
        "max_retry_attempts": settings.DYNAMODB_MAX_RETRIES,
    }
    return type("Meta", (), attributes)


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
