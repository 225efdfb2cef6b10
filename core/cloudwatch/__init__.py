"""`manage.py cloudwatch_ensure`: make a stage's log retention, alarms and dashboard match this package's.

Idempotent: each resource is read first and written only when it differs, so a second run reports every one
`unchanged`. Runs with deployer credentials (the function's role may not write CloudWatch).
"""

import json
import os
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.aws import aws_client
from core.cloudwatch.alarms import ALARM_SLUGS, stage_alarms
from core.cloudwatch.dashboard import stage_dashboard

# The values CloudWatch Logs accepts for retentionInDays.
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_CONFIG = Config(retries={"mode": "standard"})


@dataclass(frozen=True)
class Outcome:
    kind: str  # "log group", "alarm" or "dashboard"
    name: str
    state: str  # "created", "updated", "unchanged" or "deleted"


def cloudwatch_ensure(*, stage: str | None = None) -> list[Outcome]:
    """Bring the stage's log retention, alarms and dashboard to what they should be; say what changed."""
    stage, function_name = stage_function(stage=stage)
    ceiling = service_ceiling_usd()
    logs, cloudwatch = aws_client("logs", _CONFIG), aws_client("cloudwatch", _CONFIG)
    alarms = stage_alarms(
        function_name=function_name, stage=stage, topic_arn=settings.ALARM_TOPIC_ARN, service_ceiling_usd=ceiling
    )
    dashboard = stage_dashboard(stage=stage, region=settings.AWS_REGION, service_ceiling_usd=ceiling)
    return [
        log_retention_ensure(client=logs, name=f"/aws/lambda/{function_name}", days=settings.LOG_RETENTION_DAYS),
        *alarms_ensure(client=cloudwatch, alarms=alarms, known=[f"{function_name}-{slug}" for slug in ALARM_SLUGS]),
        dashboard_ensure(client=cloudwatch, name=function_name, body=dashboard),
    ]


def stage_function(*, stage: str | None) -> tuple[str, str]:
    """Return the stage and its Lambda function's name (`<project_name>-<stage>`, as Zappa names it)."""
    stage = stage or os.environ.get("STAGE", "")  # STAGE: set by Zappa's handler on Lambda
    if not stage:
        raise ImproperlyConfigured("Name the stage: --stage dev (or STAGE in the environment).")
    project = _zappa_project_name(stage) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "").removesuffix(f"-{stage}")
    if not project:
        raise ImproperlyConfigured(f"No stage {stage!r} in zappa_settings.json, and not running on Lambda.")
    return stage, f"{project}-{stage}"


def _zappa_project_name(stage: str) -> str:
    path = settings.BASE_DIR / "zappa_settings.json"
    stages = json.loads(path.read_text()) if path.exists() else {}
    while stage in stages:  # a stage inherits what it does not set from the stage it `extends`
        if "project_name" in stages[stage]:
            return str(stages[stage]["project_name"])
        stage = stages[stage].get("extends", "")
    return ""


def service_ceiling_usd() -> float:
    """Return the service's daily spending ceiling in USD (0: off), read as the ceilings read it."""
    raw = str(settings.BUDGET_SERVICE_DAILY_USD or "").strip()
    return max(float(raw), 0.0) if raw else 0.0


def log_retention_ensure(*, client: Any, name: str, days: int) -> Outcome:
    """Give the log group `name` a retention of `days` (creating the group if Lambda has not yet)."""
    if days not in RETENTION_DAYS:
        raise ImproperlyConfigured(f"LOG_RETENTION_DAYS must be one of {RETENTION_DAYS}, not {days}.")
    groups = client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    group = next((group for group in groups if group["logGroupName"] == name), None)
    if group is not None and group.get("retentionInDays") == days:
        return Outcome("log group", name, "unchanged")
    if group is None:
        client.create_log_group(logGroupName=name)
    client.put_retention_policy(logGroupName=name, retentionInDays=days)
    return Outcome("log group", name, "created" if group is None else "updated")


def alarms_ensure(*, client: Any, alarms: list[dict[str, Any]], known: list[str]) -> list[Outcome]:
    """Put each alarm that is missing or differs; delete those of `known` that are no longer wanted."""
    described = client.describe_alarms(AlarmNames=known, AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    existing = {alarm["AlarmName"]: alarm for alarm in described}
    outcomes = []
    for alarm in alarms:
        current = existing.pop(alarm["AlarmName"], None)
        if current is not None and not _alarm_differs(alarm, current):
            outcomes.append(Outcome("alarm", alarm["AlarmName"], "unchanged"))
            continue
        client.put_metric_alarm(**alarm)
        outcomes.append(Outcome("alarm", alarm["AlarmName"], "created" if current is None else "updated"))
    if existing:
        client.delete_alarms(AlarmNames=sorted(existing))
    return outcomes + [Outcome("alarm", name, "deleted") for name in sorted(existing)]


def _alarm_differs(wanted: dict[str, Any], current: dict[str, Any]) -> bool:
    """Tell whether an alarm as described differs from put_metric_alarm's arguments in anything they set."""
    for key, value in wanted.items():
        have = current.get(key, [] if isinstance(value, list) else None)
        if key == "Dimensions":
            value, have = sorted(map(json.dumps, value)), sorted(map(json.dumps, have))
        if key == "Threshold":
            have = float(have) if have is not None else None
        if value != have:
            return True
    return False


def dashboard_ensure(*, client: Any, name: str, body: dict[str, Any]) -> Outcome:
    """Put the dashboard when it is missing or its body differs."""
    try:
        current = json.loads(client.get_dashboard(DashboardName=name)["DashboardBody"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        current = None
    if current == body:
        return Outcome("dashboard", name, "unchanged")
    client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    return Outcome("dashboard", name, "created" if current is None else "updated")
