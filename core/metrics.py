"""CloudWatch metrics from the request's log line, in Embedded Metric Format (EMF).

CloudWatch Logs turns a log line with an `_aws` block into metrics, so the one JSON line per chat request
also carries latency per stage, screening verdicts by source, blocked prompts, errors and model tokens:
no PutMetricData call, no extra permission, no extra latency. Written by hand because it is ~40 lines,
and aws-lambda-powertools' Metrics costs a dependency and import time on every cold start.
"""

import os
import time
from typing import Any

NAMESPACE = "GuardedChat"
# Record timing names → metric names; each is emitted only when the request went through that stage.
STAGE_METRICS = {
    "total": "RequestLatency",
    "first_text": "TimeToFirstText",
    "cache_read": "CacheReadLatency",
    "screening": "ScreeningLatency",
    "chat_model": "ChatModelLatency",
    "history_read": "HistoryReadLatency",
    "history_write": "HistoryWriteLatency",
}
# Failures an alarm watches as a rate: 1 on the request that had it, else 0 (so Average is the rate).
ERROR_METRICS = {"screening_unavailable": "ScreeningUnavailable", "model_unavailable": "ModelUnavailable"}
# The USD a request cost (the spending ceilings' `spend_usd`); its Sum is the service's spend, which
# cloudwatch_ensure's alarm watches against BUDGET_SERVICE_DAILY_USD.
SPEND_METRIC = "SpendUSD"


def add_embedded_metrics(record: dict[str, Any]) -> None:
    """Add EMF metadata and metric values to a finished request record (the log line then yields metrics)."""
    record["stage"] = os.environ.get("STAGE", "local")  # set by Zappa's handler on Lambda
    values: dict[str, tuple[float, str]] = {}
    for timing, metric in STAGE_METRICS.items():
        if timing in record.get("timings_ms", {}):
            values[metric] = (record["timings_ms"][timing], "Milliseconds")
    values["Blocked"] = (1 if record.get("error") == "prompt_blocked" else 0, "Count")
    values["ServerErrors"] = (1 if record.get("status", 500) >= 500 else 0, "Count")
    for code, metric in ERROR_METRICS.items():
        values[metric] = (1 if record.get("error") == code else 0, "Count")
    if record.get("transport") == "websocket":  # a frame the Management API refused, other than 410 Gone
        values["SendFailures"] = (1 if record.get("connection") == "send_failed" else 0, "Count")
    for model, usage in record.get("usage", {}).items():
        values[f"{model.capitalize()}InputTokens"] = (usage.get("input_tokens", 0), "Count")
        values[f"{model.capitalize()}OutputTokens"] = (usage.get("output_tokens", 0), "Count")
    if "spend_usd" in record:  # what the message's model calls cost, for the service's daily spend alarm
        values[SPEND_METRIC] = (record["spend_usd"], "None")
    directives = [_directive([["stage"]], values)]
    if "verdict" in record:
        values["Screened"] = (1, "Count")
        directives.append(_directive([["stage", "verdict", "verdict_source"]], {"Screened": values["Screened"]}))
    record.update({name: value for name, (value, _unit) in values.items()})
    record["_aws"] = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives}


def _directive(dimensions: list[list[str]], values: dict[str, tuple[float, str]]) -> dict[str, Any]:
    metrics = [{"Name": name, "Unit": unit} for name, (_value, unit) in values.items()]
    return {"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics}
