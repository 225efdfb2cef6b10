"""The results table: one row per measurement, every goal marked met, NOT MET or n/a."""

from bench import cold, latency, pages, snapstart, streaming, warm
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


def streaming_rows(result: dict, cost: dict | None = None) -> list[Row]:
    screen, first_token, ttft = result["screen_delay_ms"], result["first_token_ms"], result["first_text_ms"]
    goals = {
        "sequential": screen + first_token + streaming.SLACK_MS["sequential"],
        "parallel": max(screen, first_token) + streaming.SLACK_MS["parallel"],
        "hit": first_token + streaming.SLACK_MS["hit"],
    }
    rows = [
        (f"6 first text, {name}", f"{ttft[name]:.0f} ms", f"<= {goal:.0f} ms", status(ttft[name] <= goal))
        for name, goal in goals.items()
    ]
    long = result["long_reply"]
    calls = f"{long['calls']} calls for {long['tokens']} tokens in {long['seconds']} s = {long['calls_per_second']}/s"
    rows.append(
        (
            "6 frames, 1,000-token reply",
            calls,
            f"<= {streaming.MAX_CALLS_PER_SECOND}/s",
            status(
                long["calls_per_second"] is not None and long["calls_per_second"] <= streaming.MAX_CALLS_PER_SECOND
            ),
        )
    )
    sizes = f"median {long['median_delta_chars']} chars, smallest {long['smallest_delta_chars']} (last excluded)"
    rows.append(("6 frames, delta size", sizes, "info", "info"))
    c = result["cost_per_1000"]
    transport = c["websocket_messages_usd"] + c["connection_minutes_usd"] + c["lambda_usd"]
    detail = (
        f"${transport:.4f}: {c['websocket_messages']} WS messages ${c['websocket_messages_usd']}, "
        f"{c['connection_minutes']} conn-min ${c['connection_minutes_usd']}, Lambda ${c['lambda_usd']}"
    )
    rows.append(("6 cost/1,000 msgs, transport", detail, "info", "info"))
    if cost is not None:
        total = transport + cost["total_dollars"] * 1000 / cost["messages"]
        rows.append(("6 cost/1,000 msgs, with models", f"${total:.2f} (models: benchmark 4's trace)", "info", "info"))
    return rows


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
        *window_rows(result),
    ]


def window_rows(result: dict) -> list[Row]:
    """Return what screening with the whole history the chat model sees costs against the WINDOW_BEFORE baseline."""
    before = result.get("window_before")
    if before is None:
        return []
    name = f"4 cost, window {before['context_turns']} (before) against {result['context_turns']}"
    added = before["context_tokens"]
    return [
        (f"{name}, screening tokens", _screen_tokens(before, result, "now"), "info", "info"),
        (f"{name}, tokens context adds", f"{added['mean']} per call (max {added['max']})", "info", "info"),
        (f"{name}, dollars", f"${before['total_dollars']} (now: ${result['total_dollars']})", "info", "info"),
    ]


def _screen_tokens(off: dict, on: dict, label: str = "on") -> str:
    def screen(run: dict) -> str:
        totals = [t for m, t in run["tokens"].items() if _short(m) == "haiku"] or [{"input": 0, "output": 0}]
        return f"{totals[0]['input']}/{totals[0]['output']}"

    return f"in/out {screen(off)} ({label}: {screen(on)})"


def artifact_rows(result: dict) -> list[Row]:
    if not result["available"]:
        return [("5 Lambda artifact size", result["note"], "info", "n/a")]
    measured = (
        f"{result['zipped_mib']} MiB zipped, {result['unzipped_mib']} MiB unzipped, {result['bytecode_files']} .pyc"
    )
    return [("5 Lambda artifact size", measured, "info", "info")]


def pages_rows(result: dict) -> list[Row]:
    long_n, short_n = result["messages"]["long"], result["messages"]["short"]
    measured = f"{result['long_median_ms']} / {result['short_median_ms']} ms = {result['ratio']}x"
    rows = [
        (
            f"7 first page of {short_n}, {long_n:,} vs {short_n} messages (median of {result['rounds']})",
            measured,
            f"<= {pages.GOAL_RATIO}x",
            status(result["ratio"] <= pages.GOAL_RATIO),
        ),
        (
            "7 first page, the same, outside the Query",
            f"{result['outside_query_median_ms']['long']} / {result['outside_query_median_ms']['short']} ms"
            f" = {result['ratio_outside_query']}x (Query in moto: {result['query_median_ms']['long']}"
            f" / {result['query_median_ms']['short']} ms)",
            "info",
            "info",
        ),
    ]
    for name, label in [
        ("long_first", f"first page of {long_n:,} messages"),
        ("long_earlier", "an earlier page"),
        ("short_first", f"first page of {short_n} messages"),
        ("list_first", "a page of conversations"),
    ]:
        read = result["reads"][name]
        units = f"{read['rcu_from_item_sizes']:g} RCU ({read['items_read']} items, {'+'.join(read['operations'])})"
        rows.append((f"7 reads per page, {label}", units, "info", "info"))
    return rows


def snapstart_rows(result: dict) -> list[Row]:
    if not result["available"]:
        return [("8 SnapStart, dist/production.zip", "no zip: run make package STAGE=production", "", "n/a")]
    restored, cold, floor = result["restored"], result["cold"], result["floor_langchain"]
    lazy = restored["lazy_on_first_request"]
    return [
        (
            "8 SnapStart, restored first response",
            f"{restored['first_ms']:.0f} / warm {restored['warm_ms']:.0f} ms = {restored['ratio']}x",
            f"<= {snapstart.RESTORED_GOAL}x",
            status(restored["ratio"] <= snapstart.RESTORED_GOAL),
        ),
        (
            "8 SnapStart, lazy work on first response",
            f"{lazy['modules']} imports, {len(lazy['clients'])} AWS clients, {lazy['connections']} connections",
            "0",
            status(lazy["modules"] == 0 and not lazy["clients"] and lazy["connections"] == 0),
        ),
        (
            "8 SnapStart, page faults per response",
            f"first {restored['first_page_faults']:.0f} / warm {restored['warm_page_faults']:.0f}",
            "info",
            "info",
        ),
        (
            "8 SnapStart, restore hooks",
            f"after restore {restored['after_restore_ms']:.1f} ms, before {restored['before_snapshot_ms']:.0f}",
            "info",
            "info",
        ),
        ("8 init (handler import, production)", f"{result['init_ms']:.0f} ms", "info", "info"),
        (
            "8 on-demand cold start vs floor+langchain",
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
