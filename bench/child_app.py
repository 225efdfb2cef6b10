"""Benchmark child: a fresh process that imports the WSGI app and drives it in-process.

Run by path (`python bench/child_app.py MODE ...`) so that it imports nothing of the harness: what it
imports is what the app costs. It prints one `BENCH_RESULT {json}` line. Modes:
  first            session + one chat message; the cold-start path
  warm N           N chat requests (half cache hits, half continuing a conversation); time outside the models
  latency R [M]    R cache misses, each followed by a cache hit of the same text (with M: misses only)
  replay PATH      post every message of a JSON trace of conversations; report each answer's status and source
Environment: BENCH_EAGER_LANGCHAIN=1 imports langchain-aws before the app; BENCH_COUNT_OPS=1 reports the
AWS operations the run made.
"""

import time

STARTED = time.perf_counter()

import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from typing import Any  # noqa: E402

OPERATIONS: list[str] = []
CLEAR_EVERY = 40


class WsgiClient:
    """A cookie client that calls a WSGI app directly, sending the CSRF cookie back as X-CSRFToken."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path.partition("?")[0],
            "QUERY_STRING": path.partition("?")[2],
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "HTTP_X_CSRFTOKEN": self.cookies.get("csrftoken", ""),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        response = self.app(environ, lambda line, headers, exc_info=None: status.append(line) or self._keep(headers))
        payload = b"".join(response)
        getattr(response, "close", lambda: None)()
        return int(status[0][:3]), json.loads(payload) if payload else {}

    def _keep(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                self.cookies.update({k: morsel.value for k, morsel in SimpleCookie(value).items()})

    def chat(self, message: str, conversation_id: str | None = None) -> tuple[int, dict]:
        return self.request("POST", "/api/v1/ai/chat", {"message": message, "conversation_id": conversation_id})


class RecordCollector(logging.Handler):
    """Keep the JSON log record of each chat request (timings_ms, usage, verdict source)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(getattr(record, "record", {}))


def count_operations() -> None:
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def counted(client: Any, operation: str, params: Any) -> Any:
        OPERATIONS.append(f"{client.meta.service_model.service_name}:{operation}")
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]


def clear_conversations() -> None:
    """Empty the conversations table (untimed): moto deep-copies a whole table for every transaction item."""
    from chatapp.repositories import ConversationItem

    with ConversationItem.batch_write() as batch:
        for item in ConversationItem.scan():
            batch.delete(item)


def load_app() -> tuple[WsgiClient, RecordCollector]:
    if os.environ.get("BENCH_COUNT_OPS"):
        count_operations()
    if os.environ.get("BENCH_EAGER_LANGCHAIN"):
        import langchain_aws  # noqa: F401 - what an eager import at module level would cost
    from chatapp.wsgi import application

    collector = RecordCollector()
    logging.getLogger("chatapp.request").addHandler(collector)
    client = WsgiClient(application)
    client.request("GET", "/api/v1/session")
    return client, collector


def first() -> dict:
    client, collector = load_app()
    status, _ = client.chat(f"Hello! What is a good name for a cat? ({os.getpid()})")  # new text: a cache miss
    return {"ms": (time.perf_counter() - STARTED) * 1000, "status": status, "record": collector.records[-1]}


def warm(count: int) -> dict:
    client, collector = load_app()
    conversation, outside, kinds, stages = None, [], [], []
    for i in range(count + 4):
        hit, follow = i % 2 == 1, i % 4 >= 2  # misses ask a new question; hits repeat the one before
        text = f"Question {i - 1 if hit else i}: how do tides work?"
        if i % CLEAR_EVERY == 0:  # a multiple of 4: this request starts a new conversation
            clear_conversations()
        started = time.perf_counter()
        status, body = client.chat(text, conversation if follow else None)
        elapsed = (time.perf_counter() - started) * 1000
        timings = collector.records[-1]["timings_ms"]
        conversation = body.get("conversation_id")
        if i >= 4 and status == 200:  # the first requests warm connections and import langchain
            outside.append(elapsed - timings.get("screening", 0) - timings.get("chat_model", 0))
            stages.append({**timings, "outside_view": elapsed - timings["total"]})
            kinds.append([hit, follow])
    return {"outside_ms": outside, "kinds": kinds, "stages_ms": stage_medians(stages)}


def stage_medians(stages: list[dict[str, float]]) -> dict[str, float]:
    """Return the median of each stage over the requests that had it (outside_view: middleware, session, DRF)."""
    names = {name for timings in stages for name in timings}
    return {name: round(statistics.median(t[name] for t in stages if name in t), 1) for name in sorted(names)}


def latency(repeats: int, misses_only: bool = False) -> dict:
    from django.conf import settings

    client, _ = load_app()
    client.chat("warm up the connections and imports")
    misses, hits = [], []
    for i in range(repeats):
        clear_conversations()
        for samples in (misses, hits)[: 1 if misses_only else 2]:
            started = time.perf_counter()
            # The process id keeps each run's texts new to the shared intent cache.
            status, _ = client.chat(f"Latency probe {os.getpid()}-{i}: what is the capital of France?")
            samples.append((time.perf_counter() - started) * 1000 if status == 200 else None)
    return {"miss_ms": misses, "hit_ms": hits, "screening_mode": getattr(settings, "SCREENING_MODE", None)}


def replay(path: str) -> dict:
    """Post a trace of (conversation number, message); return each one's status and verdict source, and the prices."""
    from django.conf import settings

    client, _ = load_app()
    conversations: dict[int, str] = {}
    outcomes, since_clear = [], 0
    with open(path) as trace:
        turns = json.load(trace)
    for number, message in turns:
        if number not in conversations and since_clear >= CLEAR_EVERY * 5:  # only between conversations
            clear_conversations()
            since_clear = 0
        status, body = client.chat(message, conversations.get(number))
        if status == 200:  # a conversation whose first message was blocked starts with its next one
            conversations.setdefault(number, body["conversation_id"])
        outcomes.append([status, body.get("screening", {}).get("source")])
        since_clear += 1
    return {"outcomes": outcomes, "prices": getattr(settings, "BEDROCK_PRICES", {})}


MODES = {
    "first": first,
    "warm": lambda n: warm(int(n)),
    "latency": lambda n, *misses_only: latency(int(n), bool(misses_only)),
    "replay": replay,
}

if __name__ == "__main__":
    result = MODES[sys.argv[1]](*sys.argv[2:])
    result["operations"] = OPERATIONS
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
