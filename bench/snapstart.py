"""Benchmark 6: the production zip under Lambda SnapStart, and its on-demand cold start without a snapshot.

Every child runs dist/production.zip's own handler (Zappa's, with the production stage's settings), unzipped,
with `python -S`: only what the zip holds can be imported. The restored row emulates a snapshot with a fork
after init and the before-snapshot hooks; the forked child runs the after-restore hooks, then answers.
"""

import json
import re
import subprocess
from pathlib import Path

from bench.servers import PYTHON, ROOT, World, run_child
from bench.stats import median, ratio

ROUNDS = 5
WARM_REQUESTS = 10  # per restored process, after its first response
RESTORED_GOAL = 1.3  # restored first response / the same process's warm responses
COLD_GOAL = 1.2  # on-demand cold start / a floor that also imports langchain-aws
TOP_IMPORTS = 12


def stage_settings() -> dict:
    return json.loads((ROOT / "zappa_settings.json").read_text())["production"]


def handler_env(world: World, artifact_dir: Path) -> dict[str, str]:
    """Return a production container's environment: the stage's Lambda variables, the world's endpoints."""
    env = {k: v for k, v in world.env.items() if k != "DJANGO_ALLOWED_HOSTS"}  # the Lambda hosts apply
    env.update(stage_settings().get("aws_environment_variables", {}))
    env.update(
        PYTHONPATH=str(artifact_dir),
        PYTHONDONTWRITEBYTECODE="1",  # /var/task is read-only
        AWS_LAMBDA_FUNCTION_NAME="chatapp-production",
        AWS_REGION="us-east-1",
    )
    return env


def create_tables(world: World) -> None:
    """Create the tables the zip's settings name (its DYNAMODB_TABLE_PREFIX overrides the world's)."""
    prefix = stage_settings()["environment_variables"]["DYNAMODB_TABLE_PREFIX"]
    env = {**world.env, "DYNAMODB_TABLE_PREFIX": prefix}
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "ensure_tables"], env=env, check=True, capture_output=True)  # noqa: S603


def run(world: World, *, artifact_dir: Path | None) -> dict:
    """Measure the restored first response, the on-demand cold start against its floor, and init time."""
    if artifact_dir is None:
        return {"available": False}
    world.script()
    create_tables(world)
    env = handler_env(world, artifact_dir)
    restored = [
        _checked(run_child("child_handler.py", "restored", str(WARM_REQUESTS), env=env, python_flags=("-S",)))
        for _ in range(ROUNDS)
    ]
    cold, floor = [], []
    floor_env = {**world.env, "BENCH_FLOOR_LANGCHAIN": "1"}
    for _ in range(ROUNDS):
        cold.append(_checked(run_child("child_handler.py", "cold", env=env, python_flags=("-S",)))["wall_ms"])
        floor.append(run_child("child_floor.py", "first", env=floor_env)["wall_ms"])
    first = median([run["first_ms"] for run in restored])
    warm = median([median(run["warm_ms"]) for run in restored])
    return {
        "available": True,
        "restored": {
            "first_ms": first,
            "warm_ms": warm,
            "ratio": ratio(first, warm),
            "after_restore_ms": median([run["after_restore_ms"] for run in restored]),
            "before_snapshot_ms": median([run["before_snapshot_ms"] for run in restored]),
            "lazy_on_first_request": restored[0]["lazy"],
            "samples_first_ms": [round(run["first_ms"], 1) for run in restored],
            "first_page_faults": median([run["first_page_faults"] for run in restored]),
            "warm_page_faults": median([median(run["warm_page_faults"]) for run in restored]),
        },
        "init_ms": median([run["init_ms"] for run in restored]),
        "cold": {"median_ms": median(cold), "samples_ms": cold},
        "floor_langchain": {"median_ms": median(floor), "samples_ms": floor},
        "cold_ratio": ratio(median(cold), median(floor)),
        "top_imports": _import_profile(env),
    }


def _checked(result: dict) -> dict:
    statuses = [result["status"], *result.get("warm_statuses", [])]
    if set(statuses) != {200}:
        raise RuntimeError(f"the zip's handler answered {statuses}: {result['stderr'][-3000:]}")
    return result


def _import_profile(env: dict[str, str]) -> list[dict]:
    """Return the cold start's modules with the most cumulative import time (`-X importtime`, one run)."""
    stderr = run_child("child_handler.py", "cold", env=env, python_flags=("-S", "-X", "importtime"))["stderr"]
    rows = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", stderr, flags=re.MULTILINE)
    top = [{"module": name, "cumulative_ms": int(us) / 1000, "depth": len(indent) // 2} for us, indent, name in rows]
    return sorted(top, key=lambda row: -row["cumulative_ms"])[:TOP_IMPORTS]
