"""The results table: one row per measurement, every goal marked met, NOT MET or n/a."""

from bench import cold, latency, warm
from bench.stats import median

Row = tuple[str, str, str, str]  # benchmark, measured, goal, status


def status(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def cold_rows(result: dict) -> list[Row]:
    app, floor, eager = (result[name]["median_ms"] for name in ("app", "floor", "app_eager_langchain"))
    rows = [
        ("1 cold start, app vs floor", f"{app:.0f} / {floor:.0f} ms = {result['ratio']}x", "<= 1.3x", ""),
        ("1 cold start, langchain eager", f"{eager:.0f} ms = {result['ratio_eager_langchain']}x", "info", "info"),
    ]
    bound = f"{result['floor_langchain']['median_ms']:.0f} ms = {result['ratio_floor_langchain']}x"
    rows.append(("1 cold start, floor + langchain-aws import", bound, "bound", "info"))
    rows[0] = (*rows[0][:3], status(result["ratio"] <= cold.GOAL_RATIO))
    operations = result["operations"]
    # The same calls; not always in the same order, as the app makes some of them at once.
    same = sorted(operations["app_dynamodb"]) == sorted(operations["floor"])
    calls = f"{len(operations['app_dynamodb'])} app / {len(operations['floor'])} floor, same calls: {same}"
    rows.insert(1, ("1 cold start, DynamoDB calls", calls, "floor = app", status(same)))
    artifact = result.get("artifact")
    if artifact is None:
        rows.append(("1 cold start, from dist/dev.zip", "no zip: run make package", "<= 1.3x", "n/a"))
    else:
        measured = f"{artifact['median_ms']:.0f} ms = {artifact['ratio']}x"
        rows.append(
            ("1 cold start, from dist/dev.zip", measured, "<= 1.3x", status(artifact["ratio"] <= cold.GOAL_RATIO))
        )
    return rows


def warm_rows(result: dict) -> list[Row]:
    app, floor = result["app"], result["floor"]
    measured = f"p50 {app['p50_ms']} / {floor['p50_ms']} ms = {result['ratio_p50']}x"
    tail = f"p95 {app['p95_ms']} / {floor['p95_ms']} ms = {result['ratio_p95']}x"
    return [
        (
            f"2 warm overhead ({result['requests']} req)",
            measured,
            "p50 <= 1.3x",
            status(result["ratio_p50"] <= warm.GOAL_RATIO),
        ),
        ("2 warm overhead, tail", tail, "info", "info"),
    ]


def latency_rows(result: dict) -> list[Row]:
    reply = result["reply_delay_ms"]
    hit, miss, parallel = result["hit_ms"], result["miss_sequential_ms"], result["miss_parallel_ms"]
    hit_goal, parallel_goal = reply + latency.HIT_SLACK_MS, reply + latency.PARALLEL_SLACK_MS
    parallel_row = ("3 latency, miss, parallel", f"{parallel} ms", f"<= {parallel_goal:.0f} ms", "")
    if result["parallel_supported"]:
        parallel_row = (*parallel_row[:3], status(parallel is not None and parallel <= parallel_goal))
    else:
        parallel_row = (
            "3 latency, miss, parallel",
            f"not implemented (ran sequential: {parallel} ms)",
            parallel_row[2],
            "n/a",
        )
    return [
        ("3 latency, miss, sequential", f"{miss} ms", "info", "info"),
        ("3 latency, hit", f"{hit} ms", f"<= {hit_goal:.0f} ms", status(hit is not None and hit <= hit_goal)),
        parallel_row,
    ]


def cost_rows(result: dict) -> list[Row]:
    calls, expected = result["screening_calls"], result["expected_screening_calls"]
    tokens = ", ".join(f"{_short(m)} {t['input']}/{t['output']}" for m, t in result["tokens"].items())
    return [
        (
            f"4 cost, {result['messages']} messages",
            f"{calls} screening calls",
            f"= {expected} distinct",
            status(calls == expected),
        ),
        ("4 cost, cache hit rate", f"{result['cache_hit_rate']:.1%} (answers {result['statuses']})", "info", "info"),
        ("4 cost, tokens in/out", tokens, "info", "info"),
        ("4 cost, dollars", f"${result['total_dollars']} ({_dollars(result['dollars'])})", "info", "info"),
        ("4 cost, prompt caching", f"{result['prompt_caching_requests']} requests with cachePoint", "info", "info"),
        *context_rows(result),
    ]


def context_rows(result: dict) -> list[Row]:
    """Return what screening follow-ups in context costs against screening every message alone."""
    off = result.get("context_off")
    if off is None:
        return []
    added = result["context_tokens"]
    calls_off, expected_off = off["screening_calls"], off["expected_screening_calls"]
    return [
        (
            f"4 cost, context off ({result['follow_ups']} follow-ups)",
            f"{calls_off} screening calls (on: {result['screening_calls']})",
            f"= {expected_off} distinct",
            status(calls_off == expected_off),
        ),
        ("4 cost, context off, answers", f"{off['statuses']} (on: {result['statuses']})", "info", "info"),
        ("4 cost, context off, screening tokens", _screen_tokens(off, result), "info", "info"),
        (
            "4 cost, tokens context adds",
            f"{added['mean']} per follow-up screened in context (max {added['max']}, {added['calls']} calls)",
            "info",
            "info",
        ),
        ("4 cost, context off, dollars", f"${off['total_dollars']} (on: ${result['total_dollars']})", "info", "info"),
    ]


def _screen_tokens(off: dict, on: dict) -> str:
    def screen(run: dict) -> str:
        totals = [t for m, t in run["tokens"].items() if _short(m) == "haiku"] or [{"input": 0, "output": 0}]
        return f"{totals[0]['input']}/{totals[0]['output']}"

    return f"in/out {screen(off)} (on: {screen(on)})"


def artifact_rows(result: dict) -> list[Row]:
    if not result["available"]:
        return [("5 Lambda artifact size", result["note"], "info", "n/a")]
    measured = (
        f"{result['zipped_mib']} MiB zipped, {result['unzipped_mib']} MiB unzipped, {result['bytecode_files']} .pyc"
    )
    return [("5 Lambda artifact size", measured, "info", "info")]


def _short(model_id: str) -> str:
    return "haiku" if "haiku" in model_id else "sonnet" if "sonnet" in model_id else model_id


def _dollars(cost: dict[str, float]) -> str:
    return ", ".join(f"{_short(model)} ${amount}" for model, amount in cost.items())


def table(rows: list[Row]) -> str:
    """Return the rows as a fixed-width text table."""
    header: Row = ("benchmark", "measured", "goal", "status")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def cold_breakdown(result: dict) -> str:
    """Return where the app's cold start goes: its slowest imports and the first request's stages (medians)."""
    imports = [
        f"  {row['cumulative_ms']:6.0f} ms  {row['module']} (depth {row['depth']})" for row in result["top_imports"]
    ]
    runs = result["first_request_timings_ms"]
    names = sorted({name for run in runs for name in run}, key=lambda name: -median([r.get(name, 0) for r in runs]))
    stages = ", ".join(f"{name} {median([r.get(name, 0) for r in runs]):.0f}" for name in names)
    return "\n".join(
        [
            "Cold start, top imports by cumulative time (-X importtime, one run; includes deeper imports):",
            *imports,
            f"Cold start, first chat request (medians, ms; total = inside the view): {stages}",
        ]
    )
