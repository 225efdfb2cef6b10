"""The artifact itself: `make package STAGE=dev` builds dist/dev.zip, and the zip alone serves a chat."""

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from tests.deploy.conftest import start_lambda, websocket_environment
from tests.deploy.support import LambdaClient, LambdaProcess, lambda_environment
from tests.deploy.test_lambda_websocket import socket_chat

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def zip_lambda(dev_zip, moto_server, bedrock_url, management_api, tmp_path_factory) -> Iterator[LambdaProcess]:
    """A container that runs the unpacked zip with no site-packages at all: only the zip can be imported."""
    task = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(dev_zip) as archive:
        archive.extractall(task)
    workdir = tmp_path_factory.mktemp("lambda-zip")
    env = lambda_environment(
        dynamodb_url=moto_server.url, bedrock_url=bedrock_url, workdir=workdir, **websocket_environment(management_api)
    )
    process = start_lambda(app_root=task, settings_dir=task, handler_module="handler", env=env)
    process.task = task
    yield process
    process.stop()


def test_zip_fits_lambda_and_holds_no_dev_tools_or_numpy(dev_zip):
    with zipfile.ZipFile(dev_zip) as archive:
        infos = archive.infolist()
    names = {info.filename.split("/")[0] for info in infos}
    assert sum(info.compress_size for info in infos) <= 50 * MIB
    assert sum(info.file_size for info in infos) <= 250 * MIB
    dev_only = ("numpy", "pytest", "moto", "playwright", "troposphere", "pip", "setuptools", "tests", "fakes", ".venv")
    for absent in dev_only:
        assert absent not in names
    # Not an installed app; DRF would import it, and psycopg with it, on every cold start (scripts/lambda_zip.py).
    assert not [info.filename for info in infos if info.filename.startswith("django/contrib/postgres/")]
    for present in ("handler.py", "zappa_settings.py", "django", "zappa", "langchain_aws", "staticfiles", "chatapp"):
        assert present in names


def test_zip_ships_bytecode_for_every_module(dev_zip):
    with zipfile.ZipFile(dev_zip) as archive:
        names = set(archive.namelist())
    tag = sys.implementation.cache_tag  # the zip is compiled by, and for, the runtime's Python (3.13)
    assert f"django/db/models/__pycache__/base.{tag}.pyc" in names
    assert f"chatapp/__pycache__/services.{tag}.pyc" in names


def test_zip_handler_is_the_one_inside_the_zip(zip_lambda):
    assert Path(zip_lambda.handler_file).resolve() == (zip_lambda.task / "handler.py").resolve()


def test_zip_serves_a_chat_and_blocks_a_prompt(zip_lambda, bedrock):
    client = LambdaClient(zip_lambda)
    token = client.session()
    reply = client.chat("Hello from the zip", token)
    assert reply.status == 200, reply.body
    assert reply.json()["message"]["content"] == "Echo: Hello from the zip"
    blocked = client.chat(f"{MALICIOUS_MARKER}, zip", token)
    assert blocked.status == 403
    assert blocked.json()["error"]["code"] == "prompt_blocked"


def test_zip_serves_the_page_and_admin_css_under_the_stage(zip_lambda):
    client = LambdaClient(zip_lambda)
    assert 'href="/dev/static/chatapp/chat.css"' in client.get("/").body
    css = client.get("/static/admin/css/base.css")
    assert css.status == 200
    assert css.headers["content-type"].startswith("text/css")


def test_zip_streams_a_reply_over_the_websocket_through_handler_lambda_handler(zip_lambda, bedrock, management_api):
    reply = "Streamed from the zip, in several pieces, through handler.lambda_handler."
    bedrock.then("us.anthropic.claude-sonnet-4-5-20250929-v1:0", stream_answer(reply, tokens_per_second=100))
    frames = socket_chat(zip_lambda, management_api, "zip-connection", "Stream from the zip")
    assert [frames[0]["type"], frames[-1]["type"]] == ["accepted", "done"]
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == reply == frames[-1]["message"]["content"]
