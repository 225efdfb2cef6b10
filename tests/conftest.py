"""Shared fixtures: DynamoDB through moto, the models through a fake Bedrock server over real HTTP."""

import os
from collections.abc import Iterator

import pytest

# Credentials and endpoints must be in place before any botocore client is built.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105
    AWS_SESSION_TOKEN="testing",  # noqa: S105
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(variable, None)

from hypothesis import HealthCheck, settings  # noqa: E402

from fakes.aws import moto_in_memory  # noqa: E402
from fakes.bedrock import FakeBedrock  # noqa: E402
from fakes.connections import FakeConnections  # noqa: E402
from fakes.dynamodb_limits import enforce_key_limits  # noqa: E402

# Property tests stay quick and never time out on a slow machine; API-level ones ask for fewer examples.
settings.register_profile("project", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project")

_fake_bedrock = FakeBedrock().start()
os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = _fake_bedrock.url


@pytest.fixture
def socket_connections(monkeypatch) -> Iterator[FakeConnections]:
    """A fake Management API where this process's socket handler posts its frames (its client is rebuilt)."""
    from core.aws import connections_client

    server = FakeConnections().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", server.url)
    connections_client.cache_clear()
    yield server
    connections_client.cache_clear()
    server.stop()


@pytest.fixture
def bedrock() -> Iterator[FakeBedrock]:
    """The fake Bedrock server, with its script and recorded calls reset for the test."""
    _fake_bedrock.reset()
    yield _fake_bedrock
    _fake_bedrock.reset()


@pytest.fixture(autouse=True)
def dynamodb() -> Iterator[None]:
    """Fresh DynamoDB tables (moto, in process) for every test."""
    with moto_in_memory():
        yield


@pytest.fixture
def dynamodb_one_request_at_a_time(dynamodb: None) -> None:
    """moto answering one DynamoDB request at a time, as a test of concurrent transactions needs (DESIGN.md:
    moto loses writes made while a cancelled transaction runs; DynamoDB does not)."""
    from fakes.aws import serialise_dynamodb_requests

    serialise_dynamodb_requests()


@pytest.fixture(autouse=True)
def dynamodb_key_limits(dynamodb: None) -> Iterator[None]:
    """DynamoDB's refusal of empty and oversized key values (ValidationException), which moto does not make."""
    from core.dynamodb import dynamodb_client

    with enforce_key_limits(dynamodb_client()):
        yield


@pytest.fixture(autouse=True)
def _fresh_model_clients() -> Iterator[None]:
    from chatapp.clients import chat_model
    from core.aws import llm_backend
    from core.dynamodb import _tables_check
    from security.clients import screening_model

    for cached in (chat_model, screening_model, llm_backend, _tables_check):
        cached.cache_clear()
    yield
