"""Benchmark child: a Lambda container running the unpacked zip's own handler (Zappa's), fed API Gateway events.

Run by path, from the unzipped artifact (cwd = the artifact, `python -S`, PYTHONPATH = the artifact), so that it
imports only what the zip holds. It prints one `BENCH_RESULT {json}` line. Modes:
  cold        import the handler, then a session and one chat message: an on-demand cold start
  restored N  import the handler (init), run the SnapStart before-snapshot hooks, fork (the snapshot), run the
              after-restore hooks in the child, then a session and one chat message (the restored first
              response), then N more chat messages in the same process (warm responses)
The restored child also reports what its first requests still did lazily: modules imported, AWS clients and
PynamoDB connections built. INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT (the production stage's setting) decides
whether the handler sets Django up during init.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from typing import Any  # noqa: E402

HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"


class Context:
    """The attributes of Lambda's context object that Zappa and the app read."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "1"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}:snapstart"
        self.memory_limit_in_mb = 1769

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


class EventClient:
    """A browser-like client (cookies, CSRF token, Origin) speaking HTTP API (v2) events to the handler."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict]:
        headers = {"host": HOST, "x-forwarded-proto": "https", "origin": f"https://{HOST}"}
        if body is not None:
            headers["content-type"] = "application/json"
        if "csrftoken" in self.cookies:
            headers["x-csrftoken"] = self.cookies["csrftoken"]
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": f"/production{path}",
            "rawQueryString": "",
            "cookies": [f"{name}={value}" for name, value in self.cookies.items()],
            "headers": headers,
            "requestContext": {
                "domainName": HOST,
                "http": {"method": method, "path": f"/production{path}", "sourceIp": "203.0.113.7"},
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "production",
            },
            "body": json.dumps(body) if body is not None else None,
            "isBase64Encoded": False,
        }
        answer = self.handler.lambda_handler(event, Context())
        for header in answer.get("cookies") or []:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        return answer["statusCode"], json.loads(answer.get("body") or "{}")

    def session_and_chat(self, text: str) -> int:
        """Start a session as the page does, then send one message; return the chat's status."""
        status, _ = self.request("GET", "/api/v1/session")
        if status != 200:
            return status
        return self.request("POST", "/api/v1/ai/chat", {"message": text})[0]


class LazyWork:
    """Count what the process loads from now on: modules, AWS clients, PynamoDB connections."""

    def __init__(self) -> None:
        import botocore.client
        from pynamodb.connection.base import Connection

        self.modules = set(sys.modules)
        self.clients: list[str] = []
        self.connections = 0
        create = botocore.client.ClientCreator.create_client
        connect = Connection.__init__

        def counted_create(creator: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            self.clients.append(service_name)
            return create(creator, service_name, *args, **kwargs)

        def counted_connect(connection: Any, *args: Any, **kwargs: Any) -> None:
            self.connections += 1
            connect(connection, *args, **kwargs)

        botocore.client.ClientCreator.create_client = counted_create  # type: ignore[method-assign]
        Connection.__init__ = counted_connect  # type: ignore[method-assign]

    def report(self) -> dict:
        new = sorted(set(sys.modules) - self.modules)
        return {
            "modules": len(new),
            "module_names": new[:40],
            "clients": self.clients,
            "connections": self.connections,
        }


def load_handler() -> Any:
    import handler  # the zip's copy of Zappa's handler (PYTHONPATH is the unzipped zip)

    return handler


def cold() -> dict:
    handler = load_handler()
    status = EventClient(handler).session_and_chat(f"Hello! What is a good name for a cat? ({os.getpid()})")
    return {"ms": (time.perf_counter() - STARTED) * 1000, "status": status}


def restored(count: int) -> dict:
    handler = load_handler()
    from core import snapstart

    init_ms = (time.perf_counter() - STARTED) * 1000
    started = time.perf_counter()
    snapstart.run_before_snapshot()
    before_ms = (time.perf_counter() - started) * 1000
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the restored environment
        os.close(reader)
        result = {"init_ms": init_ms, "before_snapshot_ms": before_ms, **_restored_child(handler, snapstart, count)}
        with os.fdopen(writer, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    return json.loads(answer)


def _restored_child(handler: Any, snapstart: Any, count: int) -> dict:
    lazy = LazyWork()
    started = time.perf_counter()
    snapstart.run_after_restore()
    after_ms = (time.perf_counter() - started) * 1000
    client = EventClient(handler)
    faults, started = _page_faults(), time.perf_counter()
    status = client.session_and_chat(f"Hello after a restore ({os.getpid()})")
    first_ms = (time.perf_counter() - started) * 1000
    first_faults = _page_faults() - faults
    lazy_work = lazy.report()
    warm, warm_faults, statuses = [], [], []
    for i in range(count):  # the same work again, warm: a new session and a new question each time
        client = EventClient(handler)
        faults, started = _page_faults(), time.perf_counter()
        statuses.append(client.session_and_chat(f"Warm question {i} ({os.getpid()})"))
        warm.append((time.perf_counter() - started) * 1000)
        warm_faults.append(_page_faults() - faults)
    return {
        "after_restore_ms": after_ms,
        "first_ms": first_ms,
        "first_page_faults": first_faults,
        "warm_page_faults": warm_faults,
        "status": status,
        "warm_ms": warm,
        "warm_statuses": sorted(set(statuses)),
        "lazy": lazy_work,
    }


def _page_faults() -> int:
    """Return the process's page faults so far: pages of the snapshot first touched (copied, after the fork)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


if __name__ == "__main__":
    result = cold() if sys.argv[1] == "cold" else restored(int(sys.argv[2]))
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
