"""`make bench`: run every benchmark once, print the goals table, and write bench/results.json."""

import json
import os
import platform
import sys
import time
from pathlib import Path

from bench import artifact, cold, cost, latency, pages, report, snapstart, streaming, warm
from bench.servers import world

RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> dict:
    """Return what the numbers depend on: cores, CPU, Python, and how busy the machine was at the start."""
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "unknown")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _cpuinfo() -> list[str]:
    path = Path("/proc/cpuinfo")
    return path.read_text().splitlines() if path.exists() else []


BENCHMARKS = {
    "cold_start": cold,
    "warm": warm,
    "latency": latency,
    "cost": cost,
    "streaming": streaming,
    "pages": pages,
    "snapstart": snapstart,
}


def measure(names: list[str]) -> dict:
    """Run the named benchmarks against one local DynamoDB and one fake Bedrock; return every result."""
    results: dict = {"machine": machine()}
    started = time.perf_counter()
    with (
        world() as bench_world,
        artifact.unzipped() as artifact_dir,
        artifact.unzipped(artifact.PRODUCTION_ZIP) as production_dir,
    ):
        for name in names:
            benchmark = BENCHMARKS[name]
            _progress(f"running {name} ...")
            extra = {"artifact_dir": artifact_dir} if benchmark is cold else {}
            if benchmark is snapstart:
                extra = {"artifact_dir": production_dir}
            phase_started = time.perf_counter()
            results[name] = benchmark.run(bench_world, **extra)
            results[name]["seconds"] = round(time.perf_counter() - phase_started, 1)
    results["artifact"] = artifact.size()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def rows(results: dict) -> list[report.Row]:
    makers = {
        "cold_start": report.cold_rows,
        "warm": report.warm_rows,
        "latency": report.latency_rows,
        "cost": report.cost_rows,
        "streaming": lambda result: report.streaming_rows(result, results.get("cost")),
        "pages": report.pages_rows,
        "snapstart": report.snapstart_rows,
        "artifact": report.artifact_rows,
    }
    return [row for name, make in makers.items() if name in results for row in make(results[name])]


def _progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def main() -> None:
    """Run every benchmark, or only those named: `python -m bench snapstart` (names: BENCHMARKS)."""
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmarks {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    results = measure(names)
    results["table"] = [
        dict(zip(("benchmark", "measured", "goal", "status"), row, strict=True)) for row in rows(results)
    ]
    # A partial run writes its own file: results.json keeps the last full run.
    target = RESULTS if names == list(BENCHMARKS) else RESULTS.with_name("results-partial.json")
    target.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    sys.stdout.write(f"Machine: {m['nproc']} x {m['cpu']}, Python {m['python']}, load {m['load_average_at_start']}\n")
    sys.stdout.write(report.table(rows(results)) + "\n\n")
    if "cold_start" in results:
        sys.stdout.write(report.cold_breakdown(results["cold_start"]) + "\n")
    if results.get("snapstart", {}).get("available"):
        sys.stdout.write(report.snapstart_breakdown(results["snapstart"]) + "\n")
    sys.stdout.write(f"{results['seconds']} s; details in {target.relative_to(Path.cwd())}\n")
