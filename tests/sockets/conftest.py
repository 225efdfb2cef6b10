"""The local WebSocket gateway as a process (manage.py websocket_gateway), DynamoDB through moto_server, the
models through the slow-streaming fake Bedrock, and a `websockets` client speaking the contract's frames."""

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from fakes.aws import moto_dynamodb_server
from tests.support import PROJECT, ApiClient, request_log_records

SECRET_KEY = "test-secret-key-not-for-production"  # chatapp.settings.test's: tickets signed here verify there
RATE_LIMIT = 5  # chat messages a minute per owner in the gateway


class Gateway:
    """`manage.py websocket_gateway --port 0` in its own process, with the settings a deployment has."""

    def __init__(self, *, dynamodb_url: str, bedrock_url: str, workdir: Path, **env: str) -> None:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatapp.settings.base",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DYNAMODB_TABLE_PREFIX": "test-",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
            "LLM_BACKEND": "bedrock",
            "CHAT_RATE_LIMIT": f"{RATE_LIMIT}/min",
            "CHAT_IP_RATE_LIMIT": "1000/min",
            "SCREEN_MODEL_READ_TIMEOUT": "10",  # a screening call a test holds is not a slow one to retry
            **env,
        }
        environment.pop("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", None)
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput"], cwd=PROJECT, env=environment, check=True, capture_output=True
        )
        self.log = (workdir / "gateway.log").open("w+")
        self._process = subprocess.Popen(
            [*manage, "websocket_gateway", "--port", "0"],
            cwd=PROJECT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        while line and "ws://" not in line:  # Zappa's handler prints "Instancing.." first
            line = self._process.stdout.readline()
        if "ws://" not in line:
            self.stop()
            self.log.seek(0)
            raise RuntimeError(f"the gateway did not start: {line!r} {self.log.read()[-3000:]}")
        self.url = line.split()[2]
        self.management_url = line.split("Management API: ")[1].rstrip(")\n ")
        self.lines: list[str] = []  # what the handler logs (CloudWatch's view), read so the pipe never fills
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def request_records(self) -> list[dict[str, Any]]:
        """Return the handler's chat_request log lines so far."""
        return request_log_records(self.lines)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's DynamoDB over HTTP from this process: it serves the tables that each test's `moto_in_memory` creates."""
    with moto_dynamodb_server() as url:
        yield url


@pytest.fixture(scope="session")
def gateway(moto_url, tmp_path_factory, live_server) -> Iterator[Gateway]:
    server = Gateway(
        dynamodb_url=moto_url,
        bedrock_url=os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
        workdir=tmp_path_factory.mktemp("gateway"),
        DJANGO_CSRF_TRUSTED_ORIGINS=live_server.url,  # the site's own origin: its pages may open the socket
    )
    yield server
    server.stop()


class Socket:
    """A client socket that speaks the contract's JSON frames."""

    def __init__(self, url: str, *, origin: str | None = None) -> None:
        self._stack = ExitStack()
        opened = connect(url, max_size=None, compression=None, origin=origin)
        self.connection: ClientConnection = self._stack.enter_context(opened)

    def send(self, frame: Any) -> None:
        self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    def chat(self, ticket: str, message: str, **fields: Any) -> str:
        request_id = fields.pop("request_id", None) or str(uuid.uuid4())
        self.send({"action": "chat", "ticket": ticket, "message": message, "request_id": request_id, **fields})
        return request_id

    def frame(self, timeout: float = 15) -> dict[str, Any]:
        return json.loads(self.connection.recv(timeout=timeout))

    def reply(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Return the frames of one reply, up to and including `done` or `error`."""
        frames = [self.frame(timeout)]
        while frames[-1]["type"] not in ("done", "error"):
            frames.append(self.frame(timeout))
        return frames

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def socket(gateway) -> Iterator[Socket]:
    client = Socket(gateway.url)
    yield client
    client.close()


@pytest.fixture
def session_api(db, settings, gateway):
    """A page-like HTTP client whose GET /api/v1/session hands out the gateway's URL and a ticket."""
    settings.WEBSOCKET_URL = gateway.url
    return ApiClient()


def ticket_of(api) -> str:
    return api.get("/api/v1/session").json()["websocket"]["ticket"]
