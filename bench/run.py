"""`make bench`: run every benchmark once, print the goals table, and write bench/results.json."""

import json
import os
import platform
import sys
import time
from pathlib import Path

from bench import artifact, cold, cost, latency, pages, report, streaming, warm
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


def measure() -> dict:
    """Run the benchmarks against one local DynamoDB and one fake Bedrock; return every result."""
    results: dict = {"machine": machine()}
    started = time.perf_counter()
    with world() as bench_world, artifact.unzipped() as artifact_dir:
        for name, benchmark in [
            ("cold_start", cold),
            ("warm", warm),
            ("latency", latency),
            ("cost", cost),
            ("streaming", streaming),
            ("pages", pages),
        ]:
            _progress(f"running {name} ...")
            extra = {"artifact_dir": artifact_dir} if benchmark is cold else {}
            phase_started = time.perf_counter()
            results[name] = benchmark.run(bench_world, **extra)
            results[name]["seconds"] = round(time.perf_counter() - phase_started, 1)
    results["artifact"] = artifact.size()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def rows(results: dict) -> list[report.Row]:
    return [
        *report.cold_rows(results["cold_start"]),
        *report.warm_rows(results["warm"]),
        *report.latency_rows(results["latency"]),
        *report.cost_rows(results["cost"]),
        *report.streaming_rows(results["streaming"], results["cost"]),
        *report.artifact_rows(results["artifact"]),
        *report.pages_rows(results["pages"]),
    ]


def _progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def measure_pages() -> list[report.Row]:
    """Run only benchmark 6 (history pages) and return its rows: `python -m bench pages`."""
    with world() as bench_world:
        return report.pages_rows(pages.run(bench_world))


def main() -> None:
    if sys.argv[1:] == ["pages"]:
        sys.stdout.write(report.table(measure_pages()) + "\n")
        return
    results = measure()
    results["table"] = [
        dict(zip(("benchmark", "measured", "goal", "status"), row, strict=True)) for row in rows(results)
    ]
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    sys.stdout.write(f"Machine: {m['nproc']} x {m['cpu']}, Python {m['python']}, load {m['load_average_at_start']}\n")
    sys.stdout.write(report.table(rows(results)) + "\n\n")
    sys.stdout.write(report.cold_breakdown(results["cold_start"]) + "\n")
    sys.stdout.write(f"{results['seconds']} s; details in {RESULTS.relative_to(Path.cwd())}\n")
