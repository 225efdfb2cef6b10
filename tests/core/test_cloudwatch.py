"""manage.py cloudwatch_ensure against moto: the stage's log retention, alarms and dashboard, and a second run
that changes nothing. The alarms and the dashboard watch metrics the request line really emits."""

import json

import boto3
import pytest
from django.core.management import call_command

from core.cloudwatch import RETENTION_DAYS
from core.metrics import NAMESPACE, SPEND_METRIC
from fakes.bedrock import throttled
from tests.support import SCREEN, ApiClient, request_log_records

LOG_GROUP = "/aws/lambda/chatapp-dev"
ALARMS = {
    "chatapp-dev-server-errors": ("ServerErrors", "Sum", 5.0),
    "chatapp-dev-function-errors": ("Errors", "Sum", 1.0),
    "chatapp-dev-first-text-p99": ("TimeToFirstText", "p99", 10_000.0),
    "chatapp-dev-screening-unavailable": ("ScreeningUnavailable", "Average", 0.05),
    "chatapp-dev-model-unavailable": ("ModelUnavailable", "Average", 0.05),
    "chatapp-dev-socket-send-failures": ("SendFailures", "Sum", 3.0),
    "chatapp-dev-spend": (SPEND_METRIC, "Sum", 40.0),
}


@pytest.fixture
def topic_arn(settings) -> str:
    arn = boto3.client("sns", region_name="us-east-1").create_topic(Name="chatapp-dev-alarms")["TopicArn"]
    settings.ALARM_TOPIC_ARN = arn
    settings.BUDGET_SERVICE_DAILY_USD = "50"
    return arn


def ensure(capsys, *args: str) -> dict[str, str]:
    """Run the command; return each resource's reported state."""
    capsys.readouterr()
    call_command("cloudwatch_ensure", "--stage", "dev", *args)
    lines = capsys.readouterr().out.splitlines()
    return dict(line.rsplit(": ", 1) for line in lines)


def cloudwatch_state() -> dict:
    """What an operator would see: the log group, the stage's alarms and its dashboard, as AWS describes them."""
    logs = boto3.client("logs", region_name="us-east-1")
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    return {
        "log_groups": logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"],
        "alarms": cloudwatch.describe_alarms(AlarmNamePrefix="chatapp-dev-")["MetricAlarms"],
        "dashboard": cloudwatch.get_dashboard(DashboardName="chatapp-dev")["DashboardBody"],
    }


def metric_rows(widget: dict) -> list[list]:
    """Return a dashboard widget's metric rows (not its math expressions)."""
    return [row for row in widget["properties"]["metrics"] if row and row[0] == NAMESPACE]


def test_first_run_creates_retention_alarms_and_dashboard(capsys, topic_arn):
    states = ensure(capsys)
    assert set(states.values()) == {"created"}
    state = cloudwatch_state()
    (group,) = state["log_groups"]
    assert group["retentionInDays"] == 90
    alarms = {alarm["AlarmName"]: alarm for alarm in state["alarms"]}
    assert set(alarms) == set(ALARMS)
    for name, (metric, statistic, threshold) in ALARMS.items():
        alarm = alarms[name]
        assert alarm["MetricName"] == metric
        assert alarm.get("ExtendedStatistic", alarm.get("Statistic")) == statistic
        assert alarm["Threshold"] == threshold
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic_arn]
        assert alarm["TreatMissingData"] == "notBreaching"
    assert alarms["chatapp-dev-function-errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": "chatapp-dev"}]
    assert alarms["chatapp-dev-spend"]["Period"] == 86400
    assert alarms["chatapp-dev-server-errors"]["Dimensions"] == [{"Name": "stage", "Value": "dev"}]


def test_second_run_changes_nothing(capsys, topic_arn):
    ensure(capsys)
    before = cloudwatch_state()
    states = ensure(capsys)
    assert set(states.values()) == {"unchanged"} and len(states) == 1 + len(ALARMS) + 1
    assert cloudwatch_state() == before  # timestamps included: nothing was rewritten


def test_a_changed_setting_updates_only_what_it_touches(capsys, topic_arn, settings):
    ensure(capsys)
    settings.LOG_RETENTION_DAYS = 30
    states = ensure(capsys)
    assert states.pop(f"log group {LOG_GROUP}") == "updated"
    assert set(states.values()) == {"unchanged"}
    assert cloudwatch_state()["log_groups"][0]["retentionInDays"] == 30


def test_spend_alarm_follows_the_service_ceiling(capsys, topic_arn, settings):
    ensure(capsys)
    settings.BUDGET_SERVICE_DAILY_USD = "10"
    states = ensure(capsys)
    assert states["alarm chatapp-dev-spend"] == "updated" and states["dashboard chatapp-dev"] == "updated"
    settings.BUDGET_SERVICE_DAILY_USD = "0"
    assert ensure(capsys)["alarm chatapp-dev-spend"] == "deleted"
    names = {alarm["AlarmName"] for alarm in cloudwatch_state()["alarms"]}
    assert names == set(ALARMS) - {"chatapp-dev-spend"}


def test_without_a_topic_alarms_exist_but_notify_nobody(capsys, settings):
    settings.ALARM_TOPIC_ARN = ""
    ensure(capsys)
    assert all(alarm["AlarmActions"] == [] for alarm in cloudwatch_state()["alarms"])


def test_a_retention_cloudwatch_does_not_offer_is_refused_before_any_change(capsys, settings):
    settings.LOG_RETENTION_DAYS = 100
    assert 100 not in RETENTION_DAYS
    with pytest.raises(Exception, match="LOG_RETENTION_DAYS"):
        call_command("cloudwatch_ensure", "--stage", "dev")
    assert boto3.client("logs", region_name="us-east-1").describe_log_groups()["logGroups"] == []


def test_stage_comes_from_zappa_settings_or_fails_clearly(capsys):
    assert "log group /aws/lambda/chatapp-production" in ensure(capsys, "--stage", "production")
    with pytest.raises(Exception, match="No stage 'nowhere'"):
        call_command("cloudwatch_ensure", "--stage", "nowhere")


def test_on_lambda_the_stage_comes_from_zappas_stage_variable(capsys, monkeypatch):
    monkeypatch.setenv("STAGE", "production")
    capsys.readouterr()
    call_command("cloudwatch_ensure")
    assert "dashboard chatapp-production: created" in capsys.readouterr().out
    monkeypatch.delenv("STAGE")
    with pytest.raises(Exception, match="Name the stage"):
        call_command("cloudwatch_ensure")


def test_alarms_and_dashboard_watch_metrics_the_request_line_emits(capsys, topic_arn, bedrock, settings, db):
    settings.EMBEDDED_METRICS = True
    api = ApiClient()
    capsys.readouterr()
    first = api.chat("hello there")
    assert api.chat("and again", conversation_id=first.json()["conversation_id"]).status_code == 200
    bedrock.then(SCREEN, throttled(), throttled(), throttled())
    assert api.chat("screening is down").status_code == 503
    lines = request_log_records(capsys.readouterr().out)
    emitted = {metric["Name"] for line in lines for d in line["_aws"]["CloudWatchMetrics"] for metric in d["Metrics"]}
    assert lines[2]["ScreeningUnavailable"] == 1 and lines[0]["ScreeningUnavailable"] == 0
    ensure(capsys)
    state = cloudwatch_state()
    watched = {alarm["MetricName"] for alarm in state["alarms"] if alarm["Namespace"] == NAMESPACE}
    charted = {metric[1] for widget in json.loads(state["dashboard"])["widgets"] for metric in metric_rows(widget)}
    # SendFailures: socket lines only (tests/chatapp/test_socket_handler.py).
    assert SPEND_METRIC in emitted
    assert watched - emitted == {"SendFailures"}
    assert charted - emitted == {"SendFailures"}
