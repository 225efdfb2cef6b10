"""Zappa's WebSocket routes (zappa_settings.json `websocket_handler_module`), on the same function as the site.

Zappa's LambdaHandler imports this module at start-up and calls these for the WebSocket API's events
(`requestContext.eventType` CONNECT, MESSAGE, DISCONNECT); the local gateway (manage.py websocket_gateway)
calls the same LambdaHandler with the same events.
"""

from typing import Any

from zappa.websocket import on_connect, on_disconnect, on_message

from chatapp.chat import socket as sockets


@on_connect
def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sockets.socket_connect(event)


@on_message
def message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sockets.socket_message(event, context)


@on_disconnect
def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sockets.socket_disconnect(event)
