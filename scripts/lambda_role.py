"""Create or update a stage's Lambda execution role with exactly deploy/iam/<stage>.json (`make role STAGE=dev`).

This script is the role's only writer. Every stage sets `"manage_roles": false` and names its role
(`"role_name"`), so Zappa never touches it: with `manage_roles` true Zappa rewrites the role whenever it builds
the package, adding `execute-api:ManageConnections` on every API of the account for a WebSocket stage. Same
trust policy and inline policy name as Zappa's.

`execute-api:ManageConnections` is scoped to the stage's WebSocket API once its id is known (after the first
`zappa deploy`): give it with `--websocket-api-id`, or let the script find it in the stage's CloudFormation stack
(resource `WsApi`, where Zappa finds it to print the WebSocket URL). Until then the file's `*` stands for it.

Usage: python scripts/lambda_role.py <stage> [zappa settings file] [--websocket-api-id ID]
       (with the deployer's AWS credentials)
"""

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from zappa.core import ASSUME_POLICY

PROJECT = Path(__file__).resolve().parent.parent
MANAGE_CONNECTIONS = "execute-api:ManageConnections"
API_ID = re.compile(r"[a-z0-9]{1,32}")


def stage_setting(settings: dict, stage: str, name: str, default: object = None) -> object:
    config = settings[stage]
    while name not in config and "extends" in config:
        config = settings[config["extends"]]
    return config.get(name, default)


def role_policy(policy: dict[str, Any], *, stage: str, websocket_api_id: str | None) -> dict[str, Any]:
    """Return the role's policy: `policy` with ManageConnections scoped to the WebSocket API `websocket_api_id`."""
    if websocket_api_id is None:
        return policy
    if not API_ID.fullmatch(websocket_api_id):
        raise ValueError(f"not an API Gateway API id: {websocket_api_id!r}")
    scoped = json.loads(json.dumps(policy))
    for statement in scoped["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if MANAGE_CONNECTIONS in actions:
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            statement["Resource"] = [_on_api(arn, websocket_api_id, stage) for arn in resources]
    return scoped


def _on_api(arn: str, api_id: str, stage: str) -> str:
    """Return an execute-api ARN of `stage` (arn:aws:execute-api:<region>:<account>:<api>/<stage>/...) on `api_id`."""
    head, path = arn.rsplit(":", 1)
    _, arn_stage, rest = path.split("/", 2)
    if arn_stage != stage:
        raise ValueError(f"{arn} is not an ARN of the stage {stage}")
    return f"{head}:{api_id}/{stage}/{rest}"


def websocket_api_id_lookup(stage: str, settings: dict) -> str | None:
    """Return the id of the stage's WebSocket API from its CloudFormation stack, or None before the first deploy."""
    if not stage_setting(settings, stage, "websocket_handler_module"):
        return None
    stack = f"{stage_setting(settings, stage, 'project_name')}-{stage}"
    cloudformation = boto3.client("cloudformation", region_name=str(stage_setting(settings, stage, "aws_region")))
    try:
        resource = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId="WsApi")
    except ClientError:  # no stack yet, or a stack without a WebSocket API
        return None
    return resource["StackResourceDetail"].get("PhysicalResourceId") or None


def ensure_role(
    stage: str, settings_file: Path = PROJECT / "zappa_settings.json", websocket_api_id: str | None = None
) -> str:
    """Create the role if missing and (re)put its policy; return the role's ARN."""
    settings = json.loads(settings_file.read_text())
    role_name = stage_setting(settings, stage, "role_name")
    if not role_name:
        raise SystemExit(f'zappa_settings.json: the stage {stage} names no "role_name"')
    policy = json.loads((PROJECT / str(stage_setting(settings, stage, "attach_policy"))).read_text())
    api_id = websocket_api_id or websocket_api_id_lookup(stage, settings)
    document = role_policy(policy, stage=stage, websocket_api_id=api_id)
    print(
        f"{MANAGE_CONNECTIONS} on WebSocket API: {api_id or '* (not deployed yet: run again after it is)'}",
        file=sys.stderr,
    )
    iam = boto3.client("iam")
    try:
        arn = iam.get_role(RoleName=str(role_name))["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=str(role_name), AssumeRolePolicyDocument=ASSUME_POLICY)["Role"]["Arn"]
    iam.put_role_policy(RoleName=str(role_name), PolicyName="zappa-permissions", PolicyDocument=json.dumps(document))
    return arn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("settings_file", nargs="?", type=Path, default=PROJECT / "zappa_settings.json")
    parser.add_argument("--websocket-api-id", help="the stage's WebSocket API id (default: found in its stack)")
    arguments = parser.parse_args()
    print(ensure_role(arguments.stage, arguments.settings_file, arguments.websocket_api_id))


if __name__ == "__main__":
    main()
