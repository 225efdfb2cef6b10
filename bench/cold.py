"""Benchmark 1: cold start, from a fresh process to the first chat response, against a floor."""

import re
from pathlib import Path

from bench.servers import World, run_child
from bench.stats import median, ratio

ROUNDS = 7
GOAL_RATIO = 1.3
TOP_IMPORTS = 15


def run(world: World, *, artifact_dir: Path | None = None) -> dict:
    """Alternate app, eager-langchain app and floor processes; return medians, ratios and the import profile."""
    world.script()
    samples: dict[str, list[float]] = {"app": [], "app_eager_langchain": [], "floor": [], "floor_langchain": []}
    eager, first_requests = {**world.env, "BENCH_EAGER_LANGCHAIN": "1"}, []
    floor_langchain = {**world.env, "BENCH_FLOOR_LANGCHAIN": "1"}
    for _ in range(ROUNDS):
        app = _app_run(world.env)
        samples["app"].append(app["wall_ms"])
        first_requests.append(_first_request(app))
        samples["floor"].append(run_child("child_floor.py", "first", env=world.env)["wall_ms"])
        samples["app_eager_langchain"].append(_app_run(eager)["wall_ms"])
        samples["floor_langchain"].append(run_child("child_floor.py", "first", env=floor_langchain)["wall_ms"])
    result = {name: {"median_ms": median(values), "samples_ms": values} for name, values in samples.items()}
    floor = result["floor"]["median_ms"]
    result["ratio"] = ratio(result["app"]["median_ms"], floor)
    result["ratio_eager_langchain"] = ratio(result["app_eager_langchain"]["median_ms"], floor)
    # The floor plus `import langchain_aws` and nothing else: no app can answer through langchain-aws faster.
    result["ratio_floor_langchain"] = ratio(result["floor_langchain"]["median_ms"], floor)
    app_operations = run_child("child_app.py", "first", env={**world.env, "BENCH_COUNT_OPS": "1"})["operations"]
    result["operations"] = {
        "app": app_operations,
        "floor": run_child("child_floor.py", "first", env=world.env)["operations"],
        "app_dynamodb": [operation for operation in app_operations if operation.startswith("dynamodb:")],
    }
    result["first_request_timings_ms"] = first_requests  # the app's own log line: where the request's time went
    result["top_imports"] = import_profile(world.env)
    if artifact_dir is not None:
        result["artifact"] = _artifact(world, artifact_dir, floor)
    return result


def _app_run(env: dict[str, str]) -> dict:
    answer = run_child("child_app.py", "first", env=env)
    if answer["status"] != 200:
        raise RuntimeError(f"cold start answered {answer['status']}: {answer['stderr'][-2000:]}")
    return answer


def _first_request(answer: dict) -> dict:
    """Return the cold run's time to answer in process and its request's stages, with the view's unstaged time."""
    timings = answer["record"]["timings_ms"]
    unstaged = timings["total"] - sum(ms for name, ms in timings.items() if name != "total")
    return {"in_process_ms": round(answer["ms"], 1), **timings, "unstaged_in_view": round(unstaged, 1)}


def import_profile(env: dict[str, str]) -> list[dict]:
    """Return the modules with the most cumulative import time (`-X importtime`) up to the first response."""
    stderr = run_child("child_app.py", "first", env=env, python_flags=("-X", "importtime"))["stderr"]
    # Every depth is listed, so a package's time includes its children's: `depth` shows the chain.
    rows = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", stderr, flags=re.MULTILINE)
    top = [{"module": name, "cumulative_ms": int(us) / 1000, "depth": len(indent) // 2} for us, indent, name in rows]
    return sorted(top, key=lambda row: -row["cumulative_ms"])[:TOP_IMPORTS]


def _artifact(world: World, directory: Path, floor_ms: float) -> dict:
    """Time the app from the unzipped Lambda artifact: its own packages, no bytecode written."""
    env = {**world.env, "PYTHONPATH": str(directory), "PYTHONDONTWRITEBYTECODE": "1"}
    samples = [run_child("child_app.py", "first", env=env, python_flags=("-S",))["wall_ms"] for _ in range(ROUNDS)]
    return {"median_ms": median(samples), "samples_ms": samples, "ratio": ratio(median(samples), floor_ms)}
