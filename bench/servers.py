"""The benchmark's world: moto's DynamoDB server, the fake Bedrock, and child processes that use them."""

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.models import ModelScript
from fakes.aws import moto_dynamodb_server
from fakes.bedrock import FakeBedrock

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
RESULT_MARK = "BENCH_RESULT "
CHILD_TIMEOUT = 240


@dataclass
class World:
    env: dict[str, str]
    bedrock: FakeBedrock

    def script(self, **delays: float) -> ModelScript:
        """Give the fake models a fresh script (delays in seconds) and return it."""
        self.bedrock.reset()
        self.bedrock.default = script = ModelScript(**delays)
        return script


def child_env(dynamodb_url: str, bedrock_url: str, workdir: Path) -> dict[str, str]:
    """Return the environment of every child: local endpoints, fake credentials, production settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "BENCH_"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts anything
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock_url,
        DJANGO_SETTINGS_MODULE="chatapp.settings.base",
        DJANGO_SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        DYNAMODB_TABLE_PREFIX=f"bench{os.getpid()}-",
        LLM_BACKEND="bedrock",
        # The throttles' counter writes stay in the flow without limiting.
        CHAT_RATE_LIMIT="100000/min",
        CHAT_IP_RATE_LIMIT="100000/min",
        NEW_SESSION_IP_RATE_LIMIT="100000/hour",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("SCREENING_MODE", "sequential")
    # The spending ceilings' ledger writes stay in the flow too, without refusing (set one to 0 to leave it out).
    for ceiling in ("ANONYMOUS", "USER", "IP", "SERVICE"):
        env.setdefault(f"BUDGET_{ceiling}_DAILY_USD", "100000")
    return env


@contextmanager
def world() -> Iterator[World]:
    """Start moto and the fake Bedrock on ephemeral ports, migrate and create the tables; stop them after."""
    bedrock = FakeBedrock()
    # The fake writes a response's header and body separately: without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs can add ~40 ms to a call, an artifact of a local server that real endpoints do not have.
    bedrock._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    bedrock.start()
    # moto keeps every table in this process and deep-copies a table per transaction item: the garbage
    # collector's full passes over that growing heap stalled a DynamoDB call for up to a second here, past
    # the app's read timeout, which a real endpoint never does. Its garbage has no cycles worth collecting.
    gc.disable()
    try:
        with moto_dynamodb_server() as dynamodb_url, tempfile.TemporaryDirectory(prefix="bench-") as workdir:
            env = child_env(dynamodb_url, bedrock.url, Path(workdir))
            for command in (["migrate", "--verbosity", "0"], ["ensure_tables"]):
                subprocess.run([PYTHON, str(ROOT / "manage.py"), *command], env=env, check=True, capture_output=True)  # noqa: S603
            yield World(env, bedrock)
    finally:
        bedrock.stop()
        gc.enable()


def run_child(script: str, *args: str, env: dict[str, str], python_flags: tuple[str, ...] = ()) -> dict:
    """Run a child script until it reports; return its result with `wall_ms` from spawn to report."""
    command = [PYTHON, *python_flags, str(BENCH_DIR / script), *args]
    with tempfile.TemporaryFile(mode="w+") as errors:  # a file, not a pipe: -X importtime writes a lot
        started = time.perf_counter()
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True) as child:  # noqa: S603
            result, wall_ms = _first_result(child.stdout, started)
            child.communicate(timeout=CHILD_TIMEOUT)
        errors.seek(0)
        stderr = errors.read()
    if result is None:
        raise RuntimeError(f"{script} {args} reported nothing: {stderr[-3000:]}")
    return {**result, "wall_ms": wall_ms, "stderr": stderr}


def _first_result(stdout: IO[str] | None, started: float) -> tuple[dict | None, float]:
    for line in stdout or []:
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :]), (time.perf_counter() - started) * 1000
    return None, 0.0
