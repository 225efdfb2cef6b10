"""The `<project>-<stage>` dashboard: the request line's EMF metrics (core.metrics), one widget per question."""

from typing import Any

from core.metrics import NAMESPACE, SPEND_METRIC

VERDICTS = ("safe", "malicious")
VERDICT_SOURCES = ("model", "cache", "moderator")  # cache and moderator answered without a screening call


def stage_dashboard(*, stage: str, region: str, service_ceiling_usd: float) -> dict[str, Any]:
    """Return the dashboard body (put_dashboard's DashboardBody, as an object) for one stage."""
    widgets = [
        _widget("Time to first text (ms)", region, [_metric(stage, "TimeToFirstText", stat=p) for p in STATS_P]),
        _widget(
            "Requests and server errors",
            region,
            [_metric(stage, "RequestLatency", stat="SampleCount", label="requests"), _metric(stage, "ServerErrors")],
        ),
        _widget(
            "Blocked and failed closed",
            region,
            [_metric(stage, name) for name in ("Blocked", "ScreeningUnavailable", "ModelUnavailable", "SendFailures")],
        ),
        _widget("Screening cache hit rate (%)", region, _cache_hit_rate(stage), y_max=100),
        _widget(
            "Tokens",
            region,
            [_metric(stage, f"{model}{kind}Tokens") for model in ("Screen", "Chat") for kind in ("Input", "Output")],
        ),
        _widget("Stage latency p50 (ms)", region, [_metric(stage, name, stat="p50") for name in STAGE_LATENCIES]),
        _spend_widget(stage, region, service_ceiling_usd),
    ]
    for index, widget in enumerate(widgets):  # two columns, 12 units wide and 6 high each
        widget.update(x=12 * (index % 2), y=6 * (index // 2), width=12, height=6)
    return {"widgets": widgets}


STATS_P = ("p50", "p90", "p99")
STAGE_LATENCIES = (
    "CacheReadLatency",
    "ScreeningLatency",
    "ChatModelLatency",
    "HistoryReadLatency",
    "HistoryWriteLatency",
)


def _metric(stage: str, name: str, *, stat: str = "Sum", label: str | None = None) -> list[Any]:
    return [NAMESPACE, name, "stage", stage, {"stat": stat, "label": label or f"{name} {stat}"}]


def _widget(title: str, region: str, metrics: list[list[Any]], *, period: int = 300, y_max: int | None = None) -> dict:
    properties: dict[str, Any] = {"title": title, "region": region, "view": "timeSeries", "period": period}
    properties["metrics"] = metrics
    if y_max is not None:
        properties["yAxis"] = {"left": {"min": 0, "max": y_max}}
    return {"type": "metric", "properties": properties}


def _cache_hit_rate(stage: str) -> list[list[Any]]:
    """Return the verdicts answered without a screening call, as a share of all verdicts (metric math)."""
    metrics: list[list[Any]] = []
    hits, everything = [], []
    for verdict in VERDICTS:
        for source in VERDICT_SOURCES:
            metric_id = f"{verdict[0]}{source}"
            dimensions = ["stage", stage, "verdict", verdict, "verdict_source", source]
            metrics.append([NAMESPACE, "Screened", *dimensions, {"stat": "Sum", "id": metric_id, "visible": False}])
            everything.append(metric_id)
            if source != "model":
                hits.append(metric_id)
    rate = f"100 * ({' + '.join(hits)}) / ({' + '.join(everything)})"
    return [[{"expression": rate, "label": "answered from cache or moderator", "id": "hitrate"}], *metrics]


def _spend_widget(stage: str, region: str, service_ceiling_usd: float) -> dict[str, Any]:
    widget = _widget("Spend (USD per day)", region, [_metric(stage, SPEND_METRIC, label="spend")], period=86400)
    if service_ceiling_usd > 0:
        widget["properties"]["annotations"] = {
            "horizontal": [{"label": "daily ceiling", "value": service_ceiling_usd}]
        }
    return widget
