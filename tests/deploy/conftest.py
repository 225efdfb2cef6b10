"""Fixtures for the Lambda tests: a moto server process, Zappa's generated settings, warm handler processes."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.aws import MotoServerProcess
from fakes.connections import FakeConnections
from tests.deploy.support import LambdaProcess, lambda_environment, save_python_settings
from tests.support import PROJECT

WEBSOCKET_URL = "wss://wsapi123.execute-api.us-east-1.amazonaws.com/dev"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServerProcess]:
    server = MotoServerProcess()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def management_api() -> Iterator[FakeConnections]:
    """The WebSocket API's @connections, where the handler posts its frames."""
    server = FakeConnections().start()
    yield server
    server.stop()


def websocket_environment(management_api: FakeConnections) -> dict[str, str]:
    """What a stage with streaming on adds to the container's environment (see DEPLOY.md)."""
    return {"WEBSOCKET_URL": WEBSOCKET_URL, "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": management_api.url}


@pytest.fixture(scope="session")
def bedrock_url() -> str:
    return os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]  # the fake Bedrock started by tests/conftest.py


def collect_static() -> None:
    """Gather static files into STATIC_ROOT, as `make package` does before zipping (WhiteNoise serves them)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatapp.settings.base", "DJANGO_SECRET_KEY": "collectstatic"}
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=PROJECT, env=env, check=True)


def start_lambda(*, app_root: Path, settings_dir: Path, handler_module: str, env: dict[str, str]) -> LambdaProcess:
    """Start a container and run the first-deploy commands through the handler's `manage` event."""
    process = LambdaProcess(app_root=app_root, settings_dir=settings_dir, handler_module=handler_module, env=env)
    for command in ("migrate --noinput", "ensure_tables"):
        answer, logs = process.invoke({"manage": command})
        assert answer == {}, answer
        process.manage_logs.extend(logs)
    return process


@pytest.fixture(scope="module")
def source_lambda(moto_server, bedrock_url, management_api, tmp_path_factory) -> Iterator[LambdaProcess]:
    """A warm container running the source tree with the zappa_settings.py Zappa generates for `dev`."""
    workdir = tmp_path_factory.mktemp("lambda-source")
    settings_dir = save_python_settings("dev", workdir / "settings")
    collect_static()
    env = lambda_environment(
        dynamodb_url=moto_server.url,
        bedrock_url=bedrock_url,
        workdir=workdir,
        CUSTOM_DOMAIN="chat.example.com",
        **websocket_environment(management_api),
    )
    process = start_lambda(app_root=PROJECT, settings_dir=settings_dir, handler_module="zappa.handler", env=env)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def dev_zip() -> Path:
    """Build dist/dev.zip once per session, exactly as a person would (`make package STAGE=dev`)."""
    result = subprocess.run(["make", "package", "STAGE=dev"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return PROJECT / "dist" / "dev.zip"
