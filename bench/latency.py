"""Benchmark 3: latency with real-world model delays, sequential and parallel screening."""

from bench.servers import World, run_child
from bench.stats import median

SCREEN_DELAY = 0.3
REPLY_DELAY = 2.5
REPEATS = 9
HIT_SLACK_MS = 30
PARALLEL_SLACK_MS = 50


def run(world: World) -> dict:
    """Time cache misses and hits with SCREENING_MODE sequential, then misses with it parallel."""
    world.script(screen_delay=SCREEN_DELAY, chat_delay=REPLY_DELAY)
    sequential = run_child("child_app.py", "latency", str(REPEATS), env=world.env)
    parallel_env = {**world.env, "SCREENING_MODE": "parallel"}
    parallel = run_child("child_app.py", "latency", str(REPEATS), "misses-only", env=parallel_env)
    runs = {"sequential": sequential, "parallel": parallel}
    return {
        "reply_delay_ms": REPLY_DELAY * 1000,
        "screen_delay_ms": SCREEN_DELAY * 1000,
        "miss_sequential_ms": _median(sequential["miss_ms"]),
        "hit_ms": _median(sequential["hit_ms"]),
        "miss_parallel_ms": _median(parallel["miss_ms"]),
        # None: the app has no SCREENING_MODE setting yet, so the "parallel" run was sequential.
        "parallel_supported": parallel["screening_mode"] == "parallel",
        "samples_ms": {name: {k: run[k] for k in ("miss_ms", "hit_ms")} for name, run in runs.items()},
    }


def _median(samples: list[float | None]) -> float | None:
    answered = [sample for sample in samples if sample is not None]
    return median(answered) if len(answered) == len(samples) else None
