"""The Lambda role's policy (deploy/iam/<stage>.json) allows what the code calls, on its own resources only.

The chat flow runs against moto while every botocore call is recorded; each call is turned into the IAM
action(s) and resource ARN that AWS would authorise, and the stage's policy must allow each one. The flow
includes a reply streamed over the WebSocket, whose frames go through the Management API (@connections).
"""

import fnmatch
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from django.core.management import call_command

from fakes.bedrock import MALICIOUS_MARKER
from fakes.connections import websocket_event
from tests.support import PROJECT, ApiClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLES = ("sessions", "intent_cache", "conversations", "rate_limits", "ledger")
# Table administration: only `ensure_tables` needs some of these, and it runs with the deployer's credentials.
TABLE_ADMIN_ACTIONS = {
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:CreateGlobalTable",
    "dynamodb:UpdateContinuousBackups",
}
ZAPPA_SETTINGS = json.loads((PROJECT / "zappa_settings.json").read_text())
STAGES = sorted(ZAPPA_SETTINGS)


def stage_setting(stage: str, name: str) -> Any:
    config = ZAPPA_SETTINGS[stage]
    while name not in config and "extends" in config:
        config = ZAPPA_SETTINGS[config["extends"]]
    return config[name]


def stage_policy(stage: str) -> dict[str, Any]:
    return json.loads((PROJECT / stage_setting(stage, "attach_policy")).read_text())


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**s, "Action": _list(s["Action"]), "Resource": _list(s["Resource"])} for s in policy["Statement"]]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    """Return True when an Allow statement without conditions names `action` on `resource`."""
    for statement in statements(policy):
        if statement["Effect"] != "Allow" or "Condition" in statement:
            continue
        patterns = [pattern.replace("${aws:PrincipalAccount}", ACCOUNT) for pattern in statement["Resource"]]
        if any(fnmatch.fnmatchcase(action, a) for a in statement["Action"]) and any(
            fnmatch.fnmatchcase(resource, p) for p in patterns
        ):
            return True
    return False


WS_API_ID = "wsapi123"  # the WebSocket API's id (fakes/connections.websocket_event)


def authorisations(
    service: str, operation: str, params: dict[str, Any], prefix: str, stage: str = "dev"
) -> set[tuple[str, str]]:
    """Return the (IAM action, resource ARN) pairs AWS checks for one API call, with tables renamed to `prefix`
    and the WebSocket API's stage `stage`."""

    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{prefix}{name.removeprefix('test-')}"
        return f"{arn}/index/{index}" if index else arn

    if service == "apigatewaymanagementapi":
        assert operation == "PostToConnection", operation
        connection = f"{WS_API_ID}/{stage}/POST/@connections/{params['ConnectionId']}"
        return {("execute-api:ManageConnections", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{connection}")}
    if service == "bedrock-runtime":
        action = {"Converse": "InvokeModel", "ConverseStream": "InvokeModelWithResponseStream"}[operation]
        return {(f"bedrock:{action}", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{params['modelId']}")}
    assert service == "dynamodb", f"an unexpected AWS service is called: {service}.{operation}"
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]}
    if operation == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
        kinds["ConditionCheck"] = "ConditionCheckItem"
        return {
            (f"dynamodb:{kinds[kind]}", table(body["TableName"]))
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    return {(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))}


@pytest.fixture
def recorded_calls(monkeypatch) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_name, operation_name, api_params))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    yield calls


def socket_chat(api: ApiClient, connection_id: str) -> None:
    """Chat over the socket handler as API Gateway would invoke it."""
    from chatapp.chat.socket import socket_message

    ticket = api.get("/api/v1/session").json()["websocket"]["ticket"]
    body = json.dumps({"action": "chat", "ticket": ticket, "message": "Stream it", "request_id": connection_id})
    socket_message(websocket_event("MESSAGE", connection_id=connection_id, body=body), None)


def manage_conversations(api: ApiClient, conversation_id: str) -> None:
    """Search, rename, export, and rate a reply (harmful, then withdrawn), as the page does."""
    url, unsafe = f"/api/v1/conversations/{conversation_id}", {"headers": {"X-CSRFToken": api.csrf_token}}
    assert api.http.get("/api/v1/conversations", {"q": "hello"}).status_code == 200
    body = json.dumps({"title": "Renamed"})
    assert api.http.patch(url, body, content_type="application/json", **unsafe).status_code == 200
    assert api.http.get(f"{url}/export", {"format": "md"}).status_code == 200
    feedback = f"{url}/messages/{api.get(url).json()['messages'][1]['id']}/feedback"
    body = json.dumps({"rating": "down", "reason": "harmful"})
    assert api.http.put(feedback, body, content_type="application/json", **unsafe).status_code == 200
    assert api.delete(feedback).status_code == 204


@pytest.fixture
def chat_flow_calls(
    recorded_calls, db, settings, bedrock, django_user_model, socket_connections
) -> list[tuple[str, str, dict[str, Any]]]:
    """Run every path the running function takes: session, chats (POST and socket), a retry, a block, reads,
    delete, health, admin.

    The tables are made first by `ensure_tables`, as the deployer does with their own credentials: its
    calls are not the function's.
    """
    settings.CHAT_RATE_LIMIT = "20/min"
    settings.NEW_SESSION_IP_RATE_LIMIT = "60/hour"
    settings.WEBSOCKET_URL = "wss://wsapi123.execute-api.us-east-1.amazonaws.com/dev"
    from core.dynamodb import registered_tables

    for model in registered_tables():
        model.delete_table()
    call_command("ensure_tables")
    recorded_calls.clear()  # the setup above is the deployer's, not the function's
    api = ApiClient()
    first = api.chat("Hello", request_id="retry-me")
    assert first.status_code == 200
    assert api.chat("Hello", request_id="retry-me").status_code == 200
    conversation_id = first.json()["conversation_id"]
    assert api.chat("More", conversation_id=conversation_id).status_code == 200
    assert api.chat(f"{MALICIOUS_MARKER} please").status_code == 403
    socket_chat(api, "socket-1")
    assert socket_connections.frames["socket-1"][-1]["type"] == "done"
    assert api.get("/api/v1/conversations").status_code == 200
    assert api.get(f"/api/v1/conversations/{conversation_id}").status_code == 200
    manage_conversations(api, conversation_id)
    assert api.delete(f"/api/v1/conversations/{conversation_id}").status_code == 204
    assert api.delete("/api/v1/conversations").status_code == 204
    assert api.get("/api/v1/health").status_code == 200
    moderator = django_user_model.objects.create_superuser("moderator", password="secret-enough")
    api.http.force_login(moderator)  # a login replaces the anonymous session, a logout deletes it
    assert api.http.get("/admin/security/blockedprompt/").status_code == 200
    assert api.http.get("/admin/feedback/").status_code == 200
    api.http.logout()
    return recorded_calls


@pytest.mark.parametrize("stage", STAGES)
def test_policy_allows_every_call_the_chat_flow_makes(chat_flow_calls, stage):
    policy = stage_policy(stage)
    prefix = stage_setting(stage, "environment_variables")["DYNAMODB_TABLE_PREFIX"]
    needed = set().union(*(authorisations(s, o, p, prefix, stage) for s, o, p in chat_flow_calls))
    assert {action for action, _ in needed} >= {
        "dynamodb:Query",
        "dynamodb:PutItem",
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "execute-api:ManageConnections",
    }
    missing = sorted(pair for pair in needed if not allows(policy, *pair))
    assert missing == [], f"deploy/iam/{stage}.json does not allow: {missing}"


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_no_action_the_code_does_not_use(chat_flow_calls, stage):
    used = {action for s, o, p in chat_flow_calls for action, _ in authorisations(s, o, p, "any-")}
    granted = {action for statement in statements(stage_policy(stage)) for action in statement["Action"]}
    granted -= {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert granted <= used, f"granted but never used: {sorted(granted - used)}"


@pytest.mark.parametrize("stage", STAGES)
def test_the_runtime_role_cannot_administer_tables(stage):
    granted = {action for statement in statements(stage_policy(stage)) for action in statement["Action"]}
    assert granted & TABLE_ADMIN_ACTIONS == set()


def test_ensure_tables_needs_only_what_deploy_md_asks_of_the_deployer(recorded_calls):
    from core.dynamodb import registered_tables

    for model in registered_tables():
        model.delete_table()
    recorded_calls.clear()
    call_command("ensure_tables")
    used = {action for s, o, p in recorded_calls for action, _ in authorisations(s, o, p, "any-")}
    assert used == {"dynamodb:DescribeTable", "dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"}
    deploy_md = (PROJECT / "DEPLOY.md").read_text()
    assert all(action in deploy_md for action in used)


@pytest.mark.parametrize("stage", STAGES)
def test_policy_names_only_the_stage_resources(stage):
    env = stage_setting(stage, "environment_variables")
    prefix, lambda_name = env["DYNAMODB_TABLE_PREFIX"], f"{stage_setting(stage, 'project_name')}-{stage}"
    account = "${aws:PrincipalAccount}"
    tables = {f"arn:aws:dynamodb:{REGION}:{account}:table/{prefix}{name}" for name in TABLES}
    index = f"arn:aws:dynamodb:{REGION}:{account}:table/{prefix}conversations/index/by_owner"
    profiles = {env["BEDROCK_SCREEN_MODEL_ID"], env["BEDROCK_CHAT_MODEL_ID"]}
    for statement in statements(stage_policy(stage)):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, action
        for resource in statement["Resource"]:
            assert resource != "*"
            service = resource.split(":")[2]
            if service == "dynamodb":
                assert resource in tables | {index}
            elif service == "logs":
                assert resource.startswith(f"arn:aws:logs:{REGION}:{account}:log-group:/aws/lambda/{lambda_name}")
            elif service == "execute-api":
                # Only posting to this stage's connections; the API's id is known once deployed (DEPLOY.md).
                assert statement["Action"] == ["execute-api:ManageConnections"]
                assert resource.startswith(f"arn:aws:execute-api:{REGION}:{account}:")
                assert resource.endswith(f"/{stage}/POST/@connections/*")
            elif ":inference-profile/" in resource:
                assert resource.removeprefix(f"arn:aws:bedrock:{REGION}:{account}:inference-profile/") in profiles
            else:
                # A US profile routes to US regions; its models are allowed only when invoked through the profile.
                region, model = resource.split(":")[3], resource.split("/", 1)[1]
                assert region == "us-*"
                assert f"us.{model}" in profiles
                condition = statement["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]
                assert {arn.rsplit("/", 1)[1] for arn in condition} == {f"us.{model}"}


def test_models_are_granted_only_the_call_each_makes():
    """Screening calls Converse (InvokeModel); replies stream (InvokeModelWithResponseStream); nothing else."""
    for stage in STAGES:
        env = stage_setting(stage, "environment_variables")
        granted = {
            (action, resource.rsplit("/", 1)[1])
            for statement in statements(stage_policy(stage))
            for action in statement["Action"]
            for resource in statement["Resource"]
            if ":inference-profile/" in resource
        }
        assert granted == {
            ("bedrock:InvokeModel", env["BEDROCK_SCREEN_MODEL_ID"]),
            ("bedrock:InvokeModelWithResponseStream", env["BEDROCK_CHAT_MODEL_ID"]),
        }


def test_lambda_timeout_fits_the_longest_streamed_reply():
    """A streamed reply is bounded by the function's timeout, not API Gateway's 29 s: CHAT_MAX_TOKENS written
    at a slow 20 tokens/s, after the slowest screening and first token, plus storing it."""
    from django.conf import settings

    from core.aws import chat_request_worst_case, screening_worst_case

    longest = (
        settings.CHAT_MAX_TOKENS / 20
        + screening_worst_case()
        + settings.BEDROCK_CONNECT_TIMEOUT
        + settings.CHAT_MODEL_READ_TIMEOUT  # the first token's silence
        + chat_request_worst_case()["dynamodb"]
    )
    for stage in STAGES:
        assert stage_setting(stage, "websocket_handler_module") == "chatapp.websocket"
        assert longest <= stage_setting(stage, "timeout_seconds") <= 15 * 60, longest


def test_zappa_never_writes_the_role_of_a_websocket_stage():
    """With manage_roles true, Zappa would add ManageConnections on every API of the account to the role."""
    for stage in STAGES:
        assert stage_setting(stage, "websocket_handler_module")
        assert stage_setting(stage, "manage_roles") is False, stage
        assert (
            stage_setting(stage, "role_name")
            == f"{stage_setting(stage, 'project_name')}-{stage}-ZappaLambdaExecutionRole"
        )
        assert Path(PROJECT / stage_setting(stage, "attach_policy")).is_file()
    assert stage_setting("production", "debug") is False
    assert stage_setting("production", "log_level") in ("INFO", "WARNING", "ERROR")


def lambda_role_script():
    spec = importlib.util.spec_from_file_location("lambda_role", PROJECT / "scripts/lambda_role.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stage", STAGES)
def test_the_role_lets_the_function_post_only_to_its_stages_websocket_api(chat_flow_calls, stage):
    policy = lambda_role_script().role_policy(stage_policy(stage), stage=stage, websocket_api_id=WS_API_ID)
    prefix = stage_setting(stage, "environment_variables")["DYNAMODB_TABLE_PREFIX"]
    needed = set().union(*(authorisations(s, o, p, prefix, stage) for s, o, p in chat_flow_calls))
    assert sorted(pair for pair in needed if not allows(policy, *pair)) == []
    posts = [resource for action, resource in needed if action == "execute-api:ManageConnections"]
    assert posts
    for post in posts:
        assert not allows(policy, "execute-api:ManageConnections", post.replace(f":{WS_API_ID}/", ":otherapi42/"))
        assert not allows(policy, "execute-api:ManageConnections", post.replace(f"/{stage}/", "/another-stage/"))
    unchanged = [s for s in policy["Statement"] if "execute-api:ManageConnections" not in s["Action"]]
    assert unchanged == [
        s for s in stage_policy(stage)["Statement"] if s["Sid"] != "SendFramesToThisStagesWebSocketClients"
    ]


def test_the_role_script_finds_the_deployed_websocket_api_and_puts_the_scoped_policy():
    import boto3

    script = lambda_role_script()
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    # moto's CloudFormation makes no ApiGatewayV2 resources; the lookup reads only the WsApi resource's id.
    template = {"Resources": {"WsApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "chatapp-dev-ws"}}}}
    arn = script.ensure_role("dev")  # before the first deploy: no stack, no id
    iam = boto3.client("iam", region_name=REGION)
    role_name = arn.rsplit("/", 1)[1]
    document = iam.get_role_policy(RoleName=role_name, PolicyName="zappa-permissions")["PolicyDocument"]
    assert document == stage_policy("dev")
    cloudformation.create_stack(StackName="chatapp-dev", TemplateBody=json.dumps(template))
    api_id = cloudformation.describe_stack_resource(StackName="chatapp-dev", LogicalResourceId="WsApi")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    assert script.ensure_role("dev") == arn
    document = iam.get_role_policy(RoleName=role_name, PolicyName="zappa-permissions")["PolicyDocument"]
    assert document == script.role_policy(stage_policy("dev"), stage="dev", websocket_api_id=api_id)
    (statement,) = [s for s in document["Statement"] if "execute-api:ManageConnections" in s["Action"]]
    assert statement["Resource"] == [
        f"arn:aws:execute-api:{REGION}:${{aws:PrincipalAccount}}:{api_id}/dev/POST/@connections/*"
    ]


def test_cloudwatch_ensure_needs_only_what_deploy_md_asks_of_the_deployer(recorded_calls, settings, capsys):
    settings.BUDGET_SERVICE_DAILY_USD = "50"
    call_command("cloudwatch_ensure", "--stage", "dev")  # creates everything
    settings.BUDGET_SERVICE_DAILY_USD = "0"
    call_command("cloudwatch_ensure", "--stage", "dev")  # updates the dashboard, deletes the spend alarm
    used = {f"{service}:{operation}" for service, operation, _params in recorded_calls}
    assert used == {
        "logs:DescribeLogGroups",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:GetDashboard",
        "cloudwatch:PutDashboard",
    }
    deploy_md = (PROJECT / "DEPLOY.md").read_text()
    assert all(f"`{action}`" in deploy_md for action in used)
