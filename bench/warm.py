"""Benchmark 2: warm overhead, the time a request spends outside the models, against a floor."""

from bench.servers import World, run_child
from bench.stats import median, percentile, ratio

REQUESTS = 240
GOAL_RATIO = 1.3


def run(world: World) -> dict:
    """Run REQUESTS chat requests in one app process and the same DynamoDB calls in one floor process."""
    world.script()
    app = run_child("child_app.py", "warm", str(REQUESTS), env=world.env)
    floor = run_child("child_floor.py", "warm", str(REQUESTS), env=world.env)["outside_ms"]
    result = {"requests": len(app["outside_ms"]), "app": _summary(app["outside_ms"]), "floor": _summary(floor)}
    result["app_stages_ms"] = app["stages_ms"]
    result["ratio_p50"] = ratio(result["app"]["p50_ms"], result["floor"]["p50_ms"])
    result["ratio_p95"] = ratio(result["app"]["p95_ms"], result["floor"]["p95_ms"])
    return result


def _summary(samples: list[float]) -> dict:
    return {"p50_ms": median(samples), "p95_ms": percentile(samples, 0.95)}
