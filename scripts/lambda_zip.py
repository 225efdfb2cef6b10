"""Finish a Zappa zip for a fast cold start: add bytecode, drop the AWS service models the app never loads.

Zappa ships no bytecode, and Lambda's file system is read-only, so every cold start would compile every module
from source (measured here: Django + DRF + boto3 + PynamoDB + langchain-aws import in ~2.6 s from source against
~1.0 s from bytecode). This compiles each `.py` into `__pycache__` as an *unchecked-hash* pyc, which Python
uses without comparing timestamps (a zip does not keep them reliably). The bytecode costs ~13 MiB zipped, paid
for by leaving out the botocore service models of services this app never calls (~430 of ~450).

Usage: python scripts/lambda_zip.py dist/<stage>.zip   (rewrites it in place; the same interpreter as the runtime)
"""

import importlib.util
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

# botocore service models kept: what the app, Zappa's handler and credential resolution may build clients for.
KEEP_SERVICES = {
    "bedrock",  # ChatBedrockConverse also builds a control-plane client
    "bedrock-runtime",
    "apigatewaymanagementapi",  # streamed replies: frames posted to WebSocket clients
    "dynamodb",
    "dynamodbstreams",
    "logs",
    "cloudwatch",
    "s3",  # Zappa's handler: remote_env and slim_handler archives
    "ssm",
    "secretsmanager",
    "kms",
    "sts",
    "sso",
    "sso-oidc",
    "lambda",
}


# Packages the app never imports, but a dependency would, at a cost, only because they are present.
# django.contrib.postgres (not an installed app): DRF's compat imports its fields if it can, and with them
# psycopg, ~100-300 ms of every cold start. psycopg itself stays: Django's PostgreSQL backend loads it when the
# admin or the moderation queue first touches the database.
DROP_PREFIXES = ("django/contrib/postgres/",)


def keep(name: str) -> bool:
    """Return False for a botocore service model not in KEEP_SERVICES, or a file under DROP_PREFIXES."""
    if name.startswith(DROP_PREFIXES):
        return False
    parts = name.split("/")
    if len(parts) > 3 and parts[0] == "botocore" and parts[1] == "data":
        return parts[2] in KEEP_SERVICES
    return True


def finish(path: Path) -> None:
    """Rewrite the zip at `path` without unused service models and with unchecked-hash bytecode for every module."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if keep(info.filename)]
            for info in members:
                archive.extract(info, root)
        compiled = []
        for source in sorted(root.rglob("*.py")):
            relative = source.relative_to(root)
            target = Path(importlib.util.cache_from_source(str(relative)))
            try:
                py_compile.compile(
                    str(source),
                    cfile=str(root / target),
                    dfile=str(Path("/var/task") / relative),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                continue  # not importable on this Python anyway (e.g. templates named .py)
            compiled.append(target)
        rebuilt = path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in [info.filename for info in members] + [str(target) for target in compiled]:
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = 0o755 << 16
                archive.writestr(info, (root / name).read_bytes(), zipfile.ZIP_DEFLATED)
        shutil.move(rebuilt, path)


if __name__ == "__main__":
    finish(Path(sys.argv[1]))
