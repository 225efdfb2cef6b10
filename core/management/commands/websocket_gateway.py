"""`manage.py websocket_gateway --port P`: the local stand-in for API Gateway's WebSocket API.

It accepts ws:// connections (several at once, frames up to 32 KB as API Gateway allows), turns each into the
events API Gateway sends ($connect, $default, $disconnect) and runs them through Zappa's own LambdaHandler,
each message in its own thread as concurrent Lambda invocations would be. The handler answers through the
Management API, which this also serves on http (`POST/GET/DELETE /@connections/{id}`, 410 Gone for a closed
connection); AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI points the handler's client at it.
"""

import asyncio
import base64
import json
import os
import secrets
import sys
import threading
import time
import types
import uuid
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand

from core import apigateway

MAX_FRAME_BYTES = 32 * 1024  # API Gateway's WebSocket frame limit
STAGE = "local"
SETTINGS_MODULE = "chatapp_local_gateway_zappa_settings"
INVOCATION_SECONDS = 900  # the handler sizes a reply's deadline by what is left of it, as on Lambda


class Command(BaseCommand):
    help = "Serve ws://HOST:PORT/ as API Gateway's WebSocket API would, running the Lambda handler locally."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8002, help="WebSocket port (0: any free port)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--management-port", type=int, default=0, help="@connections port (0: any free port)")

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = LocalGateway(options["host"], options["port"], options["management_port"])
        try:
            asyncio.run(gateway.serve(self.stdout))
        except KeyboardInterrupt:
            pass


class LocalContext:
    """The parts of Lambda's context object the handler reads."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "chatapp-local"
        self._ends = time.monotonic() + INVOCATION_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return int((self._ends - time.monotonic()) * 1000)


def lambda_handler() -> Any:
    """Return Zappa's LambdaHandler, set up once with settings naming this project's WebSocket module."""
    from zappa.handler import LambdaHandler

    if SETTINGS_MODULE not in sys.modules:
        module = types.ModuleType(SETTINGS_MODULE)
        module.__dict__.update(
            API_STAGE=STAGE,
            PROJECT_NAME="chatapp",
            DJANGO_SETTINGS=os.environ.get("DJANGO_SETTINGS_MODULE", "chatapp.settings.base"),
            WEBSOCKET_HANDLER_MODULE="chatapp.websocket",
            LOG_LEVEL="INFO",
            DEBUG=False,
            ENVIRONMENT_VARIABLES={},
            EXCEPTION_HANDLER=None,
            BINARY_SUPPORT=False,
            CONTEXT_HEADER_MAPPINGS={},
            DOMAIN=None,
        )
        sys.modules[SETTINGS_MODULE] = module
    return LambdaHandler(SETTINGS_MODULE)


class Client:
    """One open connection, as API Gateway tracks it."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.connection_id = base64.b64encode(secrets.token_bytes(9)).decode()
        self.connected_at = time.time()
        self.last_active_at = self.connected_at
        self.source_ip = socket.remote_address[0] if socket.remote_address else "127.0.0.1"
        self.user_agent = socket.request.headers.get("User-Agent", "") if socket.request else ""


class LocalGateway:
    def __init__(self, host: str, port: int, management_port: int) -> None:
        self.host, self.port, self.management_port = host, port, management_port
        self.clients: dict[str, Client] = {}
        self.connecting: dict[Any, Client] = {}  # accepted by $connect, handshake not yet complete
        self.loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, out: Any) -> None:
        from websockets.asyncio.server import serve

        self.loop = asyncio.get_running_loop()
        management = ThreadingHTTPServer((self.host, self.management_port), apigateway.management_api_handler(self))
        management.daemon_threads = True
        threading.Thread(target=management.serve_forever, name="management-api", daemon=True).start()
        management_url = f"http://{self.host}:{management.server_address[1]}"
        os.environ["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] = management_url
        lambda_handler()
        async with serve(
            self._connection,
            self.host,
            self.port,
            max_size=MAX_FRAME_BYTES,
            compression=None,
            process_request=self._connect,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            out.write(f"WebSocket gateway: ws://{self.host}:{self.port}/  (Management API: {management_url})")
            out.flush()
            try:
                await server.serve_forever()
            finally:
                management.shutdown()

    async def _connect(self, socket: Any, request: Any) -> Any:
        """Run $connect during the handshake: a refusal is an HTTP 403 and no socket, as API Gateway answers."""
        client = Client(socket)
        answer = await asyncio.to_thread(self._invoke, self._event(client, "CONNECT"))
        if (answer or {}).get("statusCode", 200) != 200:
            return socket.respond(403, "Forbidden\n")
        self.connecting[socket] = client
        return None

    async def _connection(self, socket: Any) -> None:
        client = self.connecting.pop(socket)
        self.clients[client.connection_id] = client
        try:
            async for message in socket:
                client.last_active_at = time.time()
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                event = self._event(client, "MESSAGE", body=body)
                threading.Thread(target=self._invoke, args=(event,), name="lambda-invocation", daemon=True).start()
        except Exception:  # noqa: BLE001, S110 - a broken or oversized frame closes the connection, as on AWS
            pass
        finally:
            self.clients.pop(client.connection_id, None)
            await asyncio.to_thread(self._invoke, self._event(client, "DISCONNECT"))

    def _invoke(self, event: dict[str, Any]) -> Any:
        from zappa.handler import LambdaHandler

        try:
            return LambdaHandler.lambda_handler(event, LocalContext())
        except Exception as exc:  # noqa: BLE001 - API Gateway answers a failed invocation, it does not crash
            print(json.dumps({"event": "gateway_invocation_failed", "error": repr(exc)}), flush=True)  # noqa: T201
            return {"statusCode": 500}

    def _event(self, client: Client, event_type: str, body: str | None = None) -> dict[str, Any]:
        request = client.socket.request
        return apigateway.websocket_event(
            event_type,
            connection_id=client.connection_id,
            source_ip=client.source_ip,
            domain_name=f"{self.host}:{self.port}",
            stage=STAGE,
            api_id="local",
            body=body,
            # As sent (API Gateway keeps the client's spelling: "Origin"), not websockets' lower-cased keys.
            headers=dict(request.headers.raw_items()) if request else {},
            user_agent=client.user_agent,
            connected_at=client.connected_at,
        )

    def post(self, connection_id: str, data: bytes) -> int:
        """Send `data` to a connection as a text frame; 410 when it is gone."""
        client = self.clients.get(connection_id)
        if client is None or self.loop is None:
            return 410
        future = asyncio.run_coroutine_threadsafe(client.socket.send(data.decode()), self.loop)
        try:
            future.result(timeout=5)
        except Exception:  # noqa: BLE001 - closed mid-send: gone
            return 410
        return 200

    def info(self, connection_id: str) -> dict[str, Any] | None:
        client = self.clients.get(connection_id)
        if client is None:
            return None
        return {
            "connectedAt": datetime.fromtimestamp(client.connected_at, tz=UTC).isoformat(),
            "lastActiveAt": datetime.fromtimestamp(client.last_active_at, tz=UTC).isoformat(),
            "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
        }

    def disconnect(self, connection_id: str) -> bool:
        client = self.clients.get(connection_id)
        if client is None or self.loop is None:
            return False
        asyncio.run_coroutine_threadsafe(client.socket.close(), self.loop).result(timeout=5)
        return True
