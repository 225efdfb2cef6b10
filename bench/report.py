"""The results table: one row per measurement, every goal marked met, NOT MET or n/a."""

from bench import cold, latency, snapstart, warm
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
    ]


def artifact_rows(result: dict) -> list[Row]:
    if not result["available"]:
        return [("5 Lambda artifact size", result["note"], "info", "n/a")]
    measured = (
        f"{result['zipped_mib']} MiB zipped, {result['unzipped_mib']} MiB unzipped, {result['bytecode_files']} .pyc"
    )
    return [("5 Lambda artifact size", measured, "info", "info")]


def snapstart_rows(result: dict) -> list[Row]:
    if not result["available"]:
        return [("6 SnapStart, dist/production.zip", "no zip: run make package STAGE=production", "", "n/a")]
    restored, cold, floor = result["restored"], result["cold"], result["floor_langchain"]
    lazy = restored["lazy_on_first_request"]
    return [
        (
            "6 SnapStart, restored first response",
            f"{restored['first_ms']:.0f} / warm {restored['warm_ms']:.0f} ms = {restored['ratio']}x",
            f"<= {snapstart.RESTORED_GOAL}x",
            status(restored["ratio"] <= snapstart.RESTORED_GOAL),
        ),
        (
            "6 SnapStart, lazy work on first response",
            f"{lazy['modules']} imports, {len(lazy['clients'])} AWS clients, {lazy['connections']} connections",
            "0",
            status(lazy["modules"] == 0 and not lazy["clients"] and lazy["connections"] == 0),
        ),
        (
            "6 SnapStart, restore hooks",
            f"after restore {restored['after_restore_ms']:.1f} ms, before {restored['before_snapshot_ms']:.0f}",
            "info",
            "info",
        ),
        ("6 init (handler import, production)", f"{result['init_ms']:.0f} ms", "info", "info"),
        (
            "6 on-demand cold start vs floor+langchain",
            f"{cold['median_ms']:.0f} / {floor['median_ms']:.0f} ms = {result['cold_ratio']}x",
            f"<= {snapstart.COLD_GOAL}x",
            status(result["cold_ratio"] <= snapstart.COLD_GOAL),
        ),
    ]


def snapstart_breakdown(result: dict) -> str:
    """Return the production zip's slowest imports and what its restored first response still loaded."""
    imports = [
        f"  {row['cumulative_ms']:6.0f} ms  {row['module']} (depth {row['depth']})" for row in result["top_imports"]
    ]
    lazy = result["restored"]["lazy_on_first_request"]
    return "\n".join(
        [
            "Production zip cold start, top imports by cumulative time (-X importtime, one run):",
            *imports,
            f"Restored first response loaded: modules {lazy['module_names']}, clients {lazy['clients']}",
        ]
    )


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
