"""SnapStart through the zip's own handler: init loads everything, and the runtime hooks keep restores apart.

The container runs the unpacked zip with the production stage's Lambda variables (Zappa builds the handler,
and with it Django, on import). lambda_driver plays Lambda's part: it runs the app's before-snapshot and
after-restore hooks, and emulates a snapshot with a fork, whose child then serves as a restored environment.
"""

import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest

from core.concurrency import REQUEST_TASKS
from tests.deploy.conftest import start_lambda
from tests.deploy.support import LambdaClient, LambdaProcess, lambda_environment
from tests.support import PROJECT

pytestmark = pytest.mark.slow


def production_lambda_variables() -> dict[str, str]:
    """Return the Lambda environment variables the production stage sets (INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT)."""
    stage = json.loads((PROJECT / "zappa_settings.json").read_text())["production"]
    assert stage["snap_start"] == "PublishedVersions"
    return stage["aws_environment_variables"]


@pytest.fixture
def snapstart_lambda(dev_zip, moto_server, bedrock_url, tmp_path_factory) -> Iterator[LambdaProcess]:
    """A fresh container of the zip, initialised as the production stage initialises (one per test)."""
    task = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(dev_zip) as archive:
        archive.extractall(task)
    workdir = tmp_path_factory.mktemp("lambda-snapstart")
    env = lambda_environment(
        dynamodb_url=moto_server.url, bedrock_url=bedrock_url, workdir=workdir, **production_lambda_variables()
    )
    process = start_lambda(app_root=task, settings_dir=task, handler_module="handler", env=env)
    yield process
    process.stop()


def chat(client: LambdaClient, message: str) -> dict:
    token = client.cookies.get("csrftoken") or client.session()
    response = client.chat(message, token)
    assert response.status == 200, response.body
    return response.json()


def test_init_registers_the_hooks_and_a_restored_environment_answers(snapstart_lambda, bedrock):
    snapstart_lambda.snapstart("before_snapshot")
    snapstart_lambda.snapstart("after_restore")
    reply = chat(LambdaClient(snapstart_lambda), "Hello after a restore")
    assert reply["message"]["content"] == "Echo: Hello after a restore"


def test_a_connection_opened_before_the_snapshot_is_not_reused_after_the_restore(snapstart_lambda, bedrock):
    client = LambdaClient(snapstart_lambda)
    chat(client, "First message, opening connections")
    chat(client, "Second message, warm")
    # Without a snapshot between them, a warm container reuses its connections: the same client port.
    first, second = (call.client_port for call in bedrock.calls_to(bedrock.calls[-1].model_id)[-2:])
    assert first == second
    # (This moto server closes every connection after its answer; the fake Bedrock keeps them, as AWS does.)
    assert snapstart_lambda.snapstart("connections")["connections"]

    snapstart_lambda.snapstart("before_snapshot")
    assert snapstart_lambda.snapstart("connections")["connections"] == []  # nothing open goes into the snapshot
    snapstart_lambda.snapstart("after_restore")
    chat(client, "Third message, after the restore")

    used_before = {call.client_port for call in bedrock.calls[:-2]}
    assert {call.client_port for call in bedrock.calls[-2:]}.isdisjoint(used_before)


def test_the_restore_leaves_new_connections_and_threads_ready_for_the_first_request(snapstart_lambda, bedrock):
    client = LambdaClient(snapstart_lambda)
    chat(client, "A message before the snapshot")
    used_before = {call.client_port for call in bedrock.calls}
    snapstart_lambda.snapstart("before_snapshot")
    snapstart_lambda.snapstart("after_restore")
    ready = snapstart_lambda.snapstart("connections")["connections"]
    threads = snapstart_lambda.snapstart("threads")["threads"]
    # The hook connected to DynamoDB (as many as a request uses at once) and to Bedrock (once per model client).
    bedrock_port = urlsplit(bedrock.url).port
    assert len([local for server, local in ready if server == bedrock_port]) == 2
    assert len([local for server, local in ready if server != bedrock_port]) == REQUEST_TASKS
    assert {local for _, local in ready}.isdisjoint(used_before)  # new connections, none from before

    calls = len(bedrock.calls)
    chat(client, "The first message after the restore")

    # Both model calls went over connections the hook opened, and no request thread was started for it.
    assert {call.client_port for call in bedrock.calls[calls:]} <= {local for _, local in ready}
    assert snapstart_lambda.snapstart("threads")["threads"] == threads


def restored_environment(process: LambdaProcess) -> dict:
    """Fork a restored environment from the snapshot, use it like a visitor, and return what it generated."""
    assert process.snapstart("fork")["forked"] == 0  # this answer comes from the child
    process.snapstart("after_restore")
    sample = process.snapstart("sample")
    client = LambdaClient(process)
    token = client.session()
    reply = chat(client, "Hello from a restored environment")
    assert process.snapstart("exit")["resumed"]  # the snapshot's process serves again
    return {
        "random": tuple(sample["random"]),
        "uuid": sample["uuid"],
        "session": client.cookies["sessionid"],
        "csrf_token": token,
        "conversation": reply["conversation_id"],
        "message": reply["message"]["id"],
    }


def test_two_environments_restored_from_one_snapshot_never_repeat_ids_tokens_or_random_values(
    snapstart_lambda, bedrock
):
    snapstart_lambda.snapstart("before_snapshot")
    one = restored_environment(snapstart_lambda)
    two = restored_environment(snapstart_lambda)
    for name in one:
        assert one[name] != two[name], name


def test_the_restore_gives_random_a_new_state(snapstart_lambda):
    # A fork re-seeds `random` by itself (CPython's at-fork hook); a SnapStart restore does not, hence the hook.
    snapstart_lambda.snapstart("before_snapshot")
    snapshot = snapstart_lambda.snapstart("random_state")["state"]
    snapstart_lambda.snapstart("after_restore")
    assert snapstart_lambda.snapstart("random_state")["state"] != snapshot


def stored_items(moto_server) -> Counter:
    """Count the items of every DynamoDB table (sessions, rate counters, conversations, verdicts)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server.url, region_name="us-east-1")
    return Counter({name: dynamodb.scan(TableName=name)["Count"] for name in dynamodb.list_tables()["TableNames"]})


def test_the_restore_primes_the_request_path_without_writing_or_calling_a_model(
    snapstart_lambda, moto_server, bedrock
):
    snapstart_lambda.snapstart("before_snapshot")
    stored, calls = stored_items(moto_server), len(bedrock.calls)
    snapstart_lambda.snapstart("after_restore")
    logs = [json.loads(line) for line in snapstart_lambda.snapstart_logs]
    primed = [line for line in logs if line.get("event") == "snapstart_requests_primed"]
    assert [line["GET /api/v1/conversations"] for line in primed] == ["200"]
    # No session, rate-limit count, conversation or verdict was stored, and no model was called.
    assert stored_items(moto_server) == stored
    assert len(bedrock.calls) == calls
    # A quiet restore: its own lines only, no request line (or its metrics) for a request no one made.
    assert {line["event"] for line in logs} == {"snapstart_after_restore", "snapstart_requests_primed"}
    assert chat(LambdaClient(snapstart_lambda), "The first visitor")["message"]["content"] == "Echo: The first visitor"
