"""Create or update a stage's Lambda execution role with exactly deploy/iam/<stage>.json (`make role STAGE=dev`).

Zappa does this itself in `zappa deploy` from source, but skips it when deploying a prebuilt zip
(`zappa deploy <stage> --zip dist/<stage>.zip`), which is how the tested artifact gets deployed. Same role
name, trust policy and inline policy name as Zappa's, so `zappa deploy`/`update` and this agree.

Usage: python scripts/lambda_role.py <stage> [zappa settings file]   (with the deployer's AWS credentials)
"""

import json
import sys
from pathlib import Path

import boto3
from zappa.core import ASSUME_POLICY

PROJECT = Path(__file__).resolve().parent.parent


def stage_setting(settings: dict, stage: str, name: str) -> object:
    config = settings[stage]
    while name not in config and "extends" in config:
        config = settings[config["extends"]]
    return config[name]


def ensure_role(stage: str, settings_file: Path = PROJECT / "zappa_settings.json") -> str:
    """Create the role if missing and (re)put its policy; return the role's ARN."""
    settings = json.loads(settings_file.read_text())
    role_name = f"{stage_setting(settings, stage, 'project_name')}-{stage}-ZappaLambdaExecutionRole"
    policy = (PROJECT / str(stage_setting(settings, stage, "attach_policy"))).read_text()
    iam = boto3.client("iam")
    try:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=ASSUME_POLICY)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="zappa-permissions", PolicyDocument=policy)
    return arn


if __name__ == "__main__":
    print(ensure_role(sys.argv[1], *[Path(path) for path in sys.argv[2:3]]))
