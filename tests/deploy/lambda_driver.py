"""Drive a Zappa `lambda_handler` in this process the way the Lambda runtime does, one event per stdin line.

Usage: python lambda_driver.py <app root> <directory holding zappa_settings.py> <handler module>
The handler module is `handler` for an unpacked zip (Zappa's copy at the zip root) or `zappa.handler`.
Each stdin line is `{"event": {...}, "request_id": "..."}`; the answer is printed as one stdout line starting
with RESPONSE_MARKER. Everything else on stdout is what CloudWatch would receive.

A line `{"snapstart": step}` plays Lambda SnapStart's part instead (see SNAPSTART_STEPS): run the app's
runtime hooks, emulate a snapshot with a fork (the child serves the next lines, as a restored environment
would, until `exit`; then the parent serves again), or report what the tests compare across environments.
"""

import gc
import importlib
import json
import os
import random
import sys
import threading
import traceback
import uuid
from typing import Any

RESPONSE_MARKER = "@@lambda-response@@ "


class Context:
    """The attributes of Lambda's context object that Zappa and the app read."""

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "chatapp-dev")
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = 1024
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def open_connections() -> list[list[Any]]:
    """Return [server port, local port] of every connection the process's urllib3 pools keep open."""
    from urllib3.connection import HTTPConnection

    found = [obj for obj in gc.get_objects() if isinstance(obj, HTTPConnection) and obj.sock is not None]
    return sorted([connection.port, connection.sock.getsockname()[1]] for connection in found)


def fork() -> dict[str, Any]:
    """Emulate a restore from a snapshot: the child answers from here on; the parent resumes when it exits.

    The parent's own answer (`resumed`) comes after the child's last, so it answers the child's `exit`.
    """
    sys.stdout.flush()
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return {"forked": child, "resumed": os.getpid()}
    return {"forked": 0, "pid": os.getpid()}


SNAPSTART_STEPS = {
    "before_snapshot": lambda: importlib.import_module("core.snapstart").run_before_snapshot() or {},
    "after_restore": lambda: importlib.import_module("core.snapstart").run_after_restore() or {},
    "fork": fork,
    "exit": lambda: os._exit(0),
    "connections": lambda: {"connections": open_connections()},
    "threads": lambda: {"threads": sorted(thread.ident for thread in threading.enumerate())},
    "sample": lambda: {"random": [random.random() for _ in range(3)], "uuid": str(uuid.uuid4())},
    "random_state": lambda: {"state": hash(random.getstate())},  # without drawing from it
}


def answer(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        if "snapstart" in request:
            return {"response": SNAPSTART_STEPS[request["snapstart"]]()}
        return {"response": handler.lambda_handler(request["event"], Context(request["request_id"]))}
    except Exception:
        return {"exception": traceback.format_exc()}


def main() -> None:
    app_root, settings_dir, handler_module = sys.argv[1:4]
    os.chdir(app_root)
    sys.path[:0] = [settings_dir, app_root]
    handler = importlib.import_module(handler_module)
    print(f"{RESPONSE_MARKER}{json.dumps({'ready': handler.__file__})}", flush=True)
    for line in sys.stdin:
        print(f"{RESPONSE_MARKER}{json.dumps(answer(handler, json.loads(line)), default=str)}", flush=True)


if __name__ == "__main__":
    main()
