"""The alarms `cloudwatch_ensure` keeps for a stage: what each watches, and when it fires.

Every alarm reads the request line's EMF metrics (core.metrics) but one: Lambda's own `Errors`, which counts
what the app could not log (a crash, a timeout, memory exhausted). Missing data is not breaching: a stage
with no traffic stays quiet.
"""

from typing import Any

from core.metrics import NAMESPACE, SPEND_METRIC

FIVE_MINUTES = 300
ONE_DAY = 86400
# Rates are the Average of a 0/1 metric per request (core.metrics); above this share of requests, alarm.
UNAVAILABLE_RATE = 0.05
SERVER_ERRORS_PER_5_MINUTES = 5
SEND_FAILURES_PER_5_MINUTES = 3
# The POST budget gives the chat model 15 s after the slowest screening; a p99 past 10 s is felt by everyone.
FIRST_TEXT_P99_MS = 10_000
SPEND_ALARM_SHARE = 0.8
# Every alarm this module may create, so that one no longer wanted (spend, once its ceiling is off) is removed.
ALARM_SLUGS = (
    "server-errors",
    "function-errors",
    "first-text-p99",
    "screening-unavailable",
    "model-unavailable",
    "socket-send-failures",
    "spend",
)


def stage_alarms(
    *, function_name: str, stage: str, topic_arn: str, service_ceiling_usd: float
) -> list[dict[str, Any]]:
    """Return put_metric_alarm's arguments for every alarm the stage should have, in ALARM_SLUGS order."""
    app = {"Namespace": NAMESPACE, "Dimensions": [{"Name": "stage", "Value": stage}]}
    function = {"Namespace": "AWS/Lambda", "Dimensions": [{"Name": "FunctionName", "Value": function_name}]}
    specs = [
        _spec(
            "server-errors",
            "Chat requests answered 5xx (ServerErrors), 5 or more in 5 minutes.",
            app,
            "ServerErrors",
            "Sum",
            SERVER_ERRORS_PER_5_MINUTES,
        ),
        _spec(
            "function-errors",
            "Lambda invocations that failed (crash, timeout, out of memory) in 5 minutes.",
            function,
            "Errors",
            "Sum",
            1,
        ),
        _spec(
            "first-text-p99",
            "p99 time to first text above 10 s for 15 minutes.",
            app,
            "TimeToFirstText",
            "p99",
            FIRST_TEXT_P99_MS,
            periods=3,
            datapoints=3,
        ),
        _spec(
            "screening-unavailable",
            "Over 5% of chat requests failed closed: screening model unavailable.",
            app,
            "ScreeningUnavailable",
            "Average",
            UNAVAILABLE_RATE,
            periods=3,
            datapoints=2,
        ),
        _spec(
            "model-unavailable",
            "Over 5% of chat requests failed: chat model unavailable.",
            app,
            "ModelUnavailable",
            "Average",
            UNAVAILABLE_RATE,
            periods=3,
            datapoints=2,
        ),
        _spec(
            "socket-send-failures",
            "WebSocket frames the Management API refused (not 410 Gone), 3+ in 5 minutes.",
            app,
            "SendFailures",
            "Sum",
            SEND_FAILURES_PER_5_MINUTES,
        ),
    ]
    if service_ceiling_usd > 0:
        threshold = round(service_ceiling_usd * SPEND_ALARM_SHARE, 2)
        specs.append(
            _spec(
                "spend",
                f"Service spend over the last 24 hours reached 80% of its daily ceiling (${threshold}).",
                app,
                SPEND_METRIC,
                "Sum",
                threshold,
                period=ONE_DAY,
            )
        )
    for spec in specs:
        spec["AlarmName"] = f"{function_name}-{spec['AlarmName']}"
        spec["AlarmActions"] = spec["OKActions"] = [topic_arn] if topic_arn else []
    return specs


def _spec(
    slug: str,
    description: str,
    metric: dict[str, Any],
    name: str,
    statistic: str,
    threshold: float,
    *,
    period: int = FIVE_MINUTES,
    periods: int = 1,
    datapoints: int = 1,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "AlarmName": slug,
        "AlarmDescription": description,
        **metric,
        "MetricName": name,
        "Period": period,
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": datapoints,
        "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
    }
    spec["ExtendedStatistic" if statistic.startswith("p") else "Statistic"] = statistic
    return spec
