"""A deploy rehearsal against a local moto server: role, `zappa deploy --zip`, `zappa status`, `zappa undeploy`.

moto cannot host an HTTP API (v2) stack and lacks ListFunctionUrlConfigs (`zappa update`), so the rehearsal
stage is the dev stage as a REST API (v1) with `"touch": false`; what it proves is the deploy path of
DEPLOY.md with the real zip, role policy and settings, not API Gateway's behaviour.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT

pytestmark = pytest.mark.slow
STAGE = "rehearsal"


@pytest.fixture
def aws_server():
    try:
        from fakes.aws import MotoServerProcess

        server = MotoServerProcess()
    except (ImportError, RuntimeError) as exc:
        pytest.skip(f"moto_server is unavailable, so there is nothing to deploy to: {exc}")
    yield server
    server.stop()


@pytest.fixture
def rehearsal_settings(tmp_path) -> Path:
    settings = json.loads((PROJECT / "zappa_settings.json").read_text())
    settings[STAGE] = {
        "extends": "dev",
        "apigateway_version": "v1",
        "touch": False,
        "attach_policy": "deploy/iam/dev.json",
        "role_name": f"chatapp-{STAGE}-ZappaLambdaExecutionRole",
    }
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps(settings))
    return path


def run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def test_deploy_status_undeploy_against_moto(aws_server, rehearsal_settings, dev_zip):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": aws_server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.pop("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
    zappa = str(Path(sys.executable).with_name("zappa"))
    settings = ["-s", str(rehearsal_settings)]

    role_arn = run([sys.executable, "scripts/lambda_role.py", STAGE, str(rehearsal_settings)], env).strip()
    assert role_arn.endswith(f":role/chatapp-{STAGE}-ZappaLambdaExecutionRole")
    deployed = run([zappa, "deploy", STAGE, *settings, "--zip", str(dev_zip), "--disable_progress"], env)
    assert "Deployment complete!" in deployed
    assert f".execute-api.us-east-1.amazonaws.com/{STAGE}" in deployed

    status = json.loads(run([zappa, "status", STAGE, *settings, "--json"], env))
    assert status["Lambda Runtime"] == "python3.13"
    assert status["Lambda Timeout"] == 90  # a streamed reply outlives API Gateway's 29 s (see DEPLOY.md)
    assert status["Lambda Handler"] == "handler.lambda_handler"
    assert status["Lambda Role ARN"] == role_arn
    assert status["Num. Event Rules"] == 1  # keep_warm

    import boto3

    iam = boto3.client("iam", endpoint_url=aws_server.url, region_name="us-east-1")
    role_name = role_arn.rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["zappa-permissions"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName="zappa-permissions")["PolicyDocument"]
    assert document == json.loads((PROJECT / "deploy/iam/dev.json").read_text())

    run([zappa, "undeploy", STAGE, *settings, "--yes"], env)
    functions = boto3.client("lambda", endpoint_url=aws_server.url, region_name="us-east-1").list_functions()
    assert [f["FunctionName"] for f in functions["Functions"]] == []
