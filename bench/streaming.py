"""Benchmark 6: streaming over the WebSocket, through the local gateway (manage.py websocket_gateway).

Fake models as the issue sets them: screening 300 ms; the chat model's first token after 600 ms, then 40
tokens a second. Time to first text is measured by a `websockets` client, from sending the chat frame to
receiving the first `delta`: sequential and parallel screening on cache misses, and a cache hit. Then one
1,000-token reply counts the Management API calls (frames) it took, and the cost per 1,000 messages adds
the WebSocket API's messages and connection-minutes and Lambda's duration to the models' tokens.
"""

import json
import math
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.models import CHARS_PER_TOKEN, REPLY
from bench.servers import PYTHON, ROOT, World
from bench.stats import median

SCREEN_DELAY, FIRST_TOKEN, TOKENS_PER_SECOND = 0.3, 0.6, 40.0
REPEATS = 7
SLACK_MS = {"sequential": 50, "parallel": 50, "hit": 30}
LONG_REPLY_TOKENS = 1000
MAX_CALLS_PER_SECOND = 10
# List prices, us-east-1, 2026-11: API Gateway WebSocket messages (per million, metered in 32 KB units) and
# connection-minutes (per million); Lambda x86 duration per GB-second at the stage's memory (1,024 MB).
WS_MESSAGE_PRICE, WS_CONNECTION_MINUTE_PRICE = 1.00 / 1e6, 0.25 / 1e6
LAMBDA_GB_SECOND_PRICE, LAMBDA_GB, LAMBDA_REQUEST_PRICE = 0.0000166667, 1.0, 0.20 / 1e6


@contextmanager
def gateway(world: World, **env: str) -> Iterator[str]:
    """Run the local gateway with the world's settings; yield its ws:// URL."""
    process = subprocess.Popen(  # noqa: S603
        [PYTHON, str(ROOT / "manage.py"), "websocket_gateway", "--port", "0"],
        env={**world.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None  # noqa: S101
        for line in process.stdout:
            if "ws://" in line:
                yield line.split()[2]
                break
        else:
            raise RuntimeError("the gateway did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


def ticket(world: World) -> str:
    """Issue a ticket in a child with the world's settings (tickets live in its DynamoDB)."""
    code = (
        "import django; django.setup(); from chatapp.tickets import socket_ticket_issue; "
        "from security.sessions import SessionStore; session = SessionStore(); session.create(); "
        "print(socket_ticket_issue(owner='session:bench-streaming', session_key=session.session_key))"
    )
    run = subprocess.run([PYTHON, "-c", code], env=world.env, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return run.stdout.strip().splitlines()[-1]


def timed_reply(url: str, ticket_: str, message: str) -> dict[str, Any]:
    """Send one chat frame; return the time to first text and the frames of the reply."""
    from websockets.sync.client import connect

    with connect(url, max_size=None, compression=None) as socket:
        frame = {"action": "chat", "ticket": ticket_, "message": message, "request_id": str(uuid.uuid4())}
        started = time.perf_counter()
        socket.send(json.dumps(frame))
        frames, first_text_ms = [], None
        while True:
            received = json.loads(socket.recv(timeout=120))
            frames.append(received)
            if received["type"] == "delta" and first_text_ms is None:
                first_text_ms = (time.perf_counter() - started) * 1000
            if received["type"] in ("done", "error"):
                break
        return {"first_text_ms": first_text_ms, "frames": frames, "seconds": time.perf_counter() - started}


def run(world: World) -> dict:
    """Measure time to first text (sequential, parallel, cache hit), frames of a long reply, and the cost."""
    world.script(screen_delay=SCREEN_DELAY, chat_first_token=FIRST_TOKEN, chat_tokens_per_second=TOKENS_PER_SECOND)
    ticket_ = ticket(world)
    samples: dict[str, list[float]] = {"sequential": [], "hit": [], "parallel": []}
    with gateway(world, SCREENING_MODE="sequential") as url:
        timed_reply(url, ticket_, "a warm-up message")  # the gateway's first invocation builds the clients
        for n in range(REPEATS):
            message = f"Streaming benchmark question {n} {uuid.uuid4()}"
            samples["sequential"].append(timed_reply(url, ticket_, message)["first_text_ms"])
            samples["hit"].append(timed_reply(url, ticket_, message)["first_text_ms"])
        world.script(
            screen_delay=SCREEN_DELAY,
            chat_first_token=FIRST_TOKEN,
            chat_tokens_per_second=TOKENS_PER_SECOND,
            reply=_reply_of(LONG_REPLY_TOKENS),
        )
        long_reply = _frames(timed_reply(url, ticket_, f"Write a thousand tokens {uuid.uuid4()}"))
    with gateway(world, SCREENING_MODE="parallel") as url:
        world.script(screen_delay=SCREEN_DELAY, chat_first_token=FIRST_TOKEN, chat_tokens_per_second=TOKENS_PER_SECOND)
        timed_reply(url, ticket_, "a warm-up message")
        for n in range(REPEATS):
            message = f"Parallel streaming question {n} {uuid.uuid4()}"
            samples["parallel"].append(timed_reply(url, ticket_, message)["first_text_ms"])
    return {
        "screen_delay_ms": SCREEN_DELAY * 1000,
        "first_token_ms": FIRST_TOKEN * 1000,
        "tokens_per_second": TOKENS_PER_SECOND,
        "first_text_ms": {name: median(values) for name, values in samples.items()},
        "samples_ms": samples,
        "long_reply": long_reply,
        "cost_per_1000": cost_per_1000(long_reply),
    }


def _reply_of(tokens: int) -> str:
    text = (REPLY + " ") * (tokens * CHARS_PER_TOKEN // len(REPLY) + 1)
    return text[: tokens * CHARS_PER_TOKEN]


def _frames(reply: dict[str, Any]) -> dict[str, Any]:
    """Return the Management API calls a reply took (every frame sent is one), per second and by size."""
    deltas = [frame["text"] for frame in reply["frames"] if frame["type"] == "delta"]
    streaming_seconds = reply["seconds"] - reply["first_text_ms"] / 1000
    return {
        "tokens": round(sum(len(delta) for delta in deltas) / CHARS_PER_TOKEN),
        "calls": len(reply["frames"]),
        "deltas": len(deltas),
        "seconds": round(reply["seconds"], 2),
        "calls_per_second": round(len(deltas) / streaming_seconds, 2) if streaming_seconds > 0 else None,
        "median_delta_chars": median([len(delta) for delta in deltas]),
        "smallest_delta_chars": min(len(delta) for delta in deltas[:-1]) if len(deltas) > 1 else None,
        "stop_reason": reply["frames"][-1].get("message", {}).get("stop_reason"),
    }


def cost_per_1000(long_reply: dict[str, Any]) -> dict[str, float]:
    """Return the transport's cost (USD) per 1,000 messages, each answered with the benchmark's 1,000-token reply."""
    # Model tokens are left out: benchmark 4 counts them.
    messages = 1000
    ws_messages = messages * (1 + long_reply["calls"])  # one in, one per frame out
    minutes = messages * math.ceil(long_reply["seconds"] / 60)  # a socket open for the reply, billed by started minute
    lambda_gb_seconds = messages * long_reply["seconds"] * LAMBDA_GB
    return {
        "websocket_messages": ws_messages,
        "websocket_messages_usd": round(ws_messages * WS_MESSAGE_PRICE, 4),
        "connection_minutes": minutes,
        "connection_minutes_usd": round(minutes * WS_CONNECTION_MINUTE_PRICE, 6),
        "lambda_usd": round(lambda_gb_seconds * LAMBDA_GB_SECOND_PRICE + messages * LAMBDA_REQUEST_PRICE, 4),
    }
