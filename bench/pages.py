"""Benchmark 6: serving a page of history costs the same however long the conversation grows."""

from bench.servers import World, run_child
from bench.stats import median, ratio

ROUNDS = 60
GOAL_RATIO = 1.2


def run(world: World) -> dict:
    """Time first pages of a 1,000- and a 10-message conversation in one process; count each page's reads."""
    child = run_child("child_pages.py", str(ROUNDS), env=world.env)
    long_ms, short_ms = median(child["samples_ms"]["long"]), median(child["samples_ms"]["short"])
    # The local DynamoDB (moto) reads a whole partition to answer a Query, where DynamoDB reads the page:
    # the time in those calls is reported apart, and the app's own time is the rest.
    in_query = child["conversations_table_ms"]
    query_ms = {name: median(samples) for name, samples in in_query.items()}
    own_ms = {name: median(_minus(child["samples_ms"][name], in_query[name])) for name in in_query}
    return {
        "query_median_ms": query_ms,
        "outside_query_median_ms": own_ms,
        "ratio_outside_query": ratio(own_ms["long"], own_ms["short"]),
        "rounds": ROUNDS,
        "messages": child["messages"],
        "long_median_ms": long_ms,
        "short_median_ms": short_ms,
        "ratio": ratio(long_ms, short_ms),
        "reads": child["reads"],
    }


def _minus(totals: list[float], parts: list[float]) -> list[float]:
    return [total - part for total, part in zip(totals, parts, strict=True)]
