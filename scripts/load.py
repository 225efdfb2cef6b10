"""A bounded load test on loopback: gunicorn with production settings, moto_server and the fake Bedrock.

    .venv/bin/python scripts/load.py --clients 50 --messages 10

Two scenarios, each with `--clients` concurrent clients sending `--messages` messages: all clients in one
session posting to one conversation, then one session and conversation per client. Afterwards every
conversation is read back: each accepted message must be there exactly once, followed by its own reply.
Prints p50/p95 latency and requests per second; exits non-zero on a lost or duplicated message or on a
5xx other than the contract's 503s. Everything binds 127.0.0.1 on ephemeral ports and stops by itself
(`--time-limit` bounds each scenario). Not a benchmark of Lambda: a check that nothing is lost under load.
"""

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fakes.aws import moto_dynamodb_server  # noqa: E402
from fakes.bedrock import FakeBedrock  # noqa: E402

CONTRACT_503 = {"screening_unavailable", "model_unavailable", "storage_unavailable"}


@contextmanager
def stack(
    *, workers: int = 4, threads: int = 16, log: Path | None = None, dynamodb_read_timeout: float = 10
) -> Iterator[str]:
    """Run moto_server and the fake Bedrock (one process), gunicorn (production settings); yield the base URL."""
    # The stand-ins get a process of their own so that neither the clients nor gunicorn share their GIL.
    standins = subprocess.Popen(
        [sys.executable, __file__, "--serve-standins"], cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    moto_url, bedrock_url = (standins.stdout.readline() if standins.stdout else "").split()
    try:
        with tempfile.TemporaryDirectory(prefix="chat-load-") as tmp:
            env = production_env(moto_url=moto_url, bedrock_url=bedrock_url, database=Path(tmp) / "db.sqlite3")
            # Production allows DynamoDB 1 s; moto deep-copies a whole table for every transaction item and
            # serves one request at a time, so under load it queues for seconds where DynamoDB would not.
            env["DYNAMODB_READ_TIMEOUT"] = str(dynamodb_read_timeout)
            for command in (["migrate", "--noinput"], ["ensure_tables"]):
                subprocess.run(
                    [sys.executable, "manage.py", *command], env=env, cwd=PROJECT, check=True, capture_output=True
                )
            with open(log or os.devnull, "w") as log_file:
                server = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "chatapp.wsgi:application", "--bind", "127.0.0.1:0",
                     "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                     "--timeout", "60"],
                    env=env, cwd=PROJECT, stdout=log_file, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                try:
                    yield wait_for_gunicorn(server)
                finally:
                    stop(server)
    finally:
        stop(standins)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_standins() -> None:
    """Run moto_server and the fake Bedrock on loopback, print their URLs, and serve until SIGTERM."""
    with moto_dynamodb_server() as moto_url:
        bedrock = FakeBedrock().start()
        print(moto_url, bedrock.url, flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        stopped.wait()
        bedrock.stop()


def production_env(*, moto_url: str, bedrock_url: str, database: Path) -> dict[str, str]:
    """Return the environment of a production-like server, aimed at the local stand-ins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "CHAT_", "DYNAMODB_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings.base",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_COOKIES="false",  # plain http on loopback; API Gateway serves https in production
        DATABASE_URL=f"sqlite:///{database}",
        DYNAMODB_TABLE_PREFIX=f"load-{uuid.uuid4().hex[:8]}-",
        AWS_ENDPOINT_URL_DYNAMODB=moto_url,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock_url,
        AWS_ACCESS_KEY_ID="load",
        AWS_SECRET_ACCESS_KEY="load",  # noqa: S106 - the local stand-ins accept anything
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        LLM_BACKEND="bedrock",
        CHAT_RATE_LIMIT="",  # every client comes from 127.0.0.1: the limits would be all we measured
        CHAT_IP_RATE_LIMIT="",
        NEW_SESSION_IP_RATE_LIMIT="",
    )
    return env


def wait_for_gunicorn(server: subprocess.Popen, timeout: float = 60) -> str:
    """Return gunicorn's URL once it listens (it prints the ephemeral port it was given)."""
    if server.stderr is None:
        raise ValueError("gunicorn's stderr must be a pipe")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = server.stderr.readline()
        if not line and server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        if match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line):
            threading.Thread(target=server.stderr.read, daemon=True).start()  # keep draining its log
            url = match.group(1)
            while time.monotonic() < deadline:  # workers boot after the master listens
                try:
                    if requests.get(f"{url}/api/v1/health", timeout=30).status_code == 200:
                        return url
                except requests.ConnectionError:
                    pass
                time.sleep(0.2)
    raise RuntimeError("gunicorn did not start in time")


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    unexpected_5xx: list[str] = field(default_factory=list)
    accepted: dict[str, list[str]] = field(default_factory=dict)  # conversation id -> texts answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, response: requests.Response, conversation_id: str, text: str) -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                self.accepted.setdefault(conversation_id, []).append(text)
            elif response.status_code >= 500:
                code = response.json().get("error", {}).get("code") if response.content else None
                if not (response.status_code == 503 and code in CONTRACT_503):
                    self.unexpected_5xx.append(f"{response.status_code} {response.text[:200]}")


class ChatClient:
    """A cookie client like the page: a session, its CSRF token, JSON posts."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        token = self.http.get(f"{base_url}/api/v1/session", timeout=30).json()["csrf_token"]
        self.http.headers.update({"X-CSRFToken": token, "Referer": base_url})

    def chat(self, text: str, conversation_id: str | None) -> requests.Response:
        body = {"message": text, "conversation_id": conversation_id}
        return self.http.post(f"{self.base_url}/api/v1/ai/chat", json=body, timeout=60)

    def messages(self, conversation_id: str) -> list[dict]:
        response = self.http.get(f"{self.base_url}/api/v1/conversations/{conversation_id}", timeout=60)
        response.raise_for_status()
        return response.json()["messages"]


def start_conversation(client: ChatClient) -> str:
    """Return a new conversation's id (retrying the contract's 503s a few times)."""
    for _ in range(10):
        response = client.chat(f"start {uuid.uuid4().hex}", None)
        if response.status_code == 200:
            return response.json()["conversation_id"]
        time.sleep(1)
    raise RuntimeError(f"could not start a conversation: {response.status_code} {response.text[:200]}")


def run_scenario(base_url: str, *, shared: bool, clients: int, messages: int, time_limit: float) -> dict:
    """Run one scenario and return its figures and correctness counts."""
    owners = [ChatClient(base_url)] * clients if shared else [ChatClient(base_url) for _ in range(clients)]
    starters = owners[:1] if shared else owners
    conversations = [start_conversation(owner) for owner in starters] * (clients if shared else 1)
    results = Results()
    deadline = time.monotonic() + time_limit

    def client_loop(index: int) -> None:
        for n in range(messages):
            if time.monotonic() > deadline:
                return
            text = f"client {index} message {n} {uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            results.record(started, owners[index].chat(text, conversations[index]), conversations[index], text)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client_loop, range(clients)))
    elapsed = time.perf_counter() - started
    lost, duplicated, broken_pairs = verify(owners[0] if shared else owners, conversations, results)
    latencies = sorted(results.latencies)
    return {
        "scenario": "one conversation" if shared else "many conversations",
        "requests": len(latencies),
        "statuses": dict(results.statuses),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
        "rps": round(len(latencies) / elapsed, 1),
        "lost": lost,
        "duplicated": duplicated,
        "broken_pairs": broken_pairs,
        "unexpected_5xx": len(results.unexpected_5xx),
        "unexpected_5xx_examples": results.unexpected_5xx[:3],
    }


def verify(owners: ChatClient | list[ChatClient], conversations: list[str], results: Results) -> tuple[int, int, int]:
    """Read every conversation back; count accepted messages missing, stored twice, or not followed by their reply."""
    lost = duplicated = broken = 0
    readers = {conv: owners if isinstance(owners, ChatClient) else owners[i] for i, conv in enumerate(conversations)}
    for conversation_id, reader in readers.items():
        stored = reader.messages(conversation_id)
        users = Counter(m["content"] for m in stored if m["role"] == "user")
        for text in results.accepted.get(conversation_id, []):
            lost += users[text] == 0
            duplicated += users[text] > 1
        for user, reply in zip(stored[::2], stored[1::2], strict=False):
            broken += user["role"] != "user" or reply["content"] != f"Echo: {user['content']}"
        broken += len(stored) % 2
    return lost, duplicated, broken


def warm_up(base_url: str, *, requests_count: int) -> None:
    """Send unmeasured chats so every worker has imported its model clients (a cold start is not load)."""
    client = ChatClient(base_url)
    with ThreadPoolExecutor(max_workers=requests_count) as pool:
        list(pool.map(lambda n: client.chat(f"warm up {n}", None), range(requests_count)))


def error_causes(log: Path) -> Counter:
    """Count the server's chat_request log lines by error code and cause, and empty the log."""
    causes: Counter = Counter()
    for line in log.read_text().splitlines():
        if '"chat_request"' in line and '"error"' in line:
            record = json.loads(line)
            causes[f"{record['error']}: {(record.get('cause') or '')[:90]}"] += 1
    log.write_text("")
    return causes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="messages per client and scenario")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per scenario at most")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--dynamodb-read-timeout", type=float, default=10, help="seconds (production: 1; moto queues under load)"
    )
    parser.add_argument("--serve-standins", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_standins:
        serve_standins()
        return 0
    failed = False
    log = Path(tempfile.mkdtemp(prefix="chat-load-log-")) / "gunicorn.log"
    with stack(workers=args.workers, log=log, dynamodb_read_timeout=args.dynamodb_read_timeout) as base_url:
        print(f"gunicorn at {base_url}: {args.clients} clients x {args.messages} messages per scenario", flush=True)
        warm_up(base_url, requests_count=4 * args.workers)
        for shared in (True, False):
            report = run_scenario(
                base_url, shared=shared, clients=args.clients, messages=args.messages, time_limit=args.time_limit
            )
            print(" ".join(f"{key}={value}" for key, value in report.items()), flush=True)
            print(f"  errors by cause (server log): {dict(error_causes(log))}", flush=True)
            failed |= any(report[name] for name in ("lost", "duplicated", "broken_pairs", "unexpected_5xx"))
    print("FAILED" if failed else "OK: 0 lost, 0 duplicated, 0 unexpected 5xx")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
