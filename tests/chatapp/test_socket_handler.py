"""The socket handler (what Zappa calls for MESSAGE events) against a fake Management API: the client going
away at every stage, the Management API failing, and the one log line per streamed request."""

import json

import pytest
from django.conf import settings

from fakes.bedrock import stream_answer, verdict_answer
from tests.support import CHAT, SCREEN, request_log_records, socket_chat

OWNER = "session:socket-handler-test"
REPLY = " ".join(f"Line {n} of a reply written a little at a time." for n in range(10))


@pytest.fixture
def connections(socket_connections, settings):
    settings.STREAM_FRAME_SECONDS = 0.05
    return socket_connections


def send(connection_id: str, message: str = "Hello", **fields) -> None:
    assert socket_chat(connection_id, owner=OWNER, message=message, **{"request_id": "r-1", **fields}) == {
        "statusCode": 200
    }


def stored_pairs() -> list[tuple[str, str | None]]:
    from chatapp.selectors import conversation_get, conversation_list

    pairs = []
    for conversation in conversation_list(owner=OWNER, limit=10).conversations:
        detail = conversation_get(owner=OWNER, conversation_id=conversation.id)
        pairs += [(m.content, m.stop_reason) for m in detail.messages if m.role == "assistant"]
    return pairs


def delivered_text(frames: list[dict]) -> str:
    return "".join(frame["text"] for frame in frames if frame["type"] == "delta")


def test_a_whole_reply_is_accepted_deltas_done(connections, bedrock):
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=400))
    send("whole")
    frames = connections.frames["whole"]
    assert frames[0]["type"] == "accepted" and frames[-1]["type"] == "done"
    assert delivered_text(frames) == REPLY == frames[-1]["message"]["content"]
    assert stored_pairs() == [(REPLY, "end_turn")]


@pytest.mark.parametrize("received", [0, 1, 2, 3])
def test_client_going_away_stores_exactly_what_it_received(connections, bedrock, received):
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=200))
    connections.close_after("leaving", received)
    send("leaving")
    frames = connections.frames["leaving"]
    assert len(frames) == received
    text = delivered_text(frames)
    assert stored_pairs() == ([(text, "stopped")] if text else [])
    assert REPLY.startswith(text) and len(text) < len(REPLY)


def test_client_gone_only_before_done_keeps_the_complete_reply(connections, bedrock):
    bedrock.then(CHAT, stream_answer("Short and complete."))
    connections.close_at("almost", "done")
    send("almost")
    assert connections.frames["almost"][-1]["type"] == "delta"
    assert delivered_text(connections.frames["almost"]) == "Short and complete."
    assert stored_pairs() == [("Short and complete.", "end_turn")]


@pytest.mark.parametrize("failing_post", [1, 3])
def test_management_api_failing_ends_the_reply_like_a_closed_socket(connections, bedrock, failing_post, capsys):
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=200))
    connections.fail_from(failing_post)
    capsys.readouterr()
    send("failing")
    text = delivered_text(connections.frames["failing"])
    assert stored_pairs() == ([(text, "stopped")] if text else [])
    (line,) = request_log_records(capsys.readouterr().out)
    assert line["connection"] == "send_failed" and "InternalServerError" in line["send_error"]
    assert line["frames_sent"] == failing_post - 1


def test_one_log_line_per_streamed_request_with_first_text_frames_and_tokens(connections, bedrock, capsys):
    bedrock.then(CHAT, stream_answer(REPLY, first_token_delay=0.1, tokens_per_second=400))
    capsys.readouterr()
    send("logged", message="a private question")
    output = capsys.readouterr().out
    (line,) = request_log_records(output)
    assert line["transport"] == "websocket" and line["request_id"] == "lambda-logged"
    assert line["status"] == 200 and line["stop_reason"] == "end_turn"
    assert line["frames_sent"] == len(connections.frames["logged"])
    assert 100 <= line["timings_ms"]["first_text"] <= line["timings_ms"]["total"]
    assert line["usage"]["chat"]["output_tokens"] == len(REPLY) // 4
    assert "a private question" not in output and REPLY not in output


def test_time_to_first_text_is_an_embedded_metric(connections, bedrock, capsys, settings):
    settings.EMBEDDED_METRICS = True
    capsys.readouterr()
    send("metric")
    (line,) = request_log_records(capsys.readouterr().out)
    metrics = {metric["Name"] for d in line["_aws"]["CloudWatchMetrics"] for metric in d["Metrics"]}
    assert "TimeToFirstText" in metrics and line["TimeToFirstText"] == line["timings_ms"]["first_text"]


def test_error_frames_carry_the_request_id_and_the_retry_delay(connections, bedrock):
    bedrock.then(CHAT, stream_answer(REPLY, error_after=3))
    send("broken")
    frames = connections.frames["broken"]
    assert frames[-1] == {
        "type": "error",
        "request_id": "r-1",
        "error": {
            "code": "model_unavailable",
            "message": frames[-1]["error"]["message"],
            "retry_after": settings.RETRY_AFTER_SECONDS,
        },
    }
    assert stored_pairs() == []


def test_parallel_screening_sends_nothing_of_a_speculative_reply_before_the_verdict(
    connections, bedrock, settings, db
):
    settings.SCREENING_MODE = "parallel"
    held_safe = verdict_answer("safe")
    held_safe.after_call_to = CHAT  # the verdict comes only once the reply has started
    bedrock.then(SCREEN, held_safe)
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=400))
    send("parallel-safe")
    frames = connections.frames["parallel-safe"]
    assert frames[0]["type"] == "accepted" and delivered_text(frames) == REPLY

    secret = "A speculative reply that must never reach the client."
    bedrock.then(CHAT, stream_answer(secret, tokens_per_second=400))
    bedrock.then(SCREEN, verdict_answer("malicious", "jailbreak", "fake"))
    send("parallel-blocked", message="something the screening model refuses", request_id="r-2")
    (frame,) = connections.frames["parallel-blocked"]
    assert frame["type"] == "error" and frame["error"]["code"] == "prompt_blocked"
    assert secret not in json.dumps(connections.frames)


def test_a_split_attack_is_blocked_in_context_over_the_socket(connections, bedrock, db):
    from tests.chatapp.test_screening_context import FINISH, OPENER, screened_with

    send("opener", OPENER, request_id="r-opener")
    conversation_id = connections.frames["opener"][-1]["conversation_id"]
    send("finish", FINISH, request_id="r-finish", conversation_id=conversation_id)
    (error,) = connections.frames["finish"]
    assert error["type"] == "error" and error["error"]["code"] == "prompt_blocked"
    assert screened_with(bedrock)[-1] == ([OPENER], FINISH)
    assert len(bedrock.calls_to(CHAT)) == 1  # the opener's reply only


@pytest.mark.parametrize(("received", "stop_reason"), [(0, "stopped"), (1, "stopped"), (2, None)])
def test_closing_the_socket_during_a_replay_ends_it_quietly_like_a_stopped_reply(
    connections, bedrock, received, stop_reason, capsys
):
    send("answered", request_id="r-replayed")
    calls = len(bedrock.calls)
    connections.close_after("replaying", received)
    capsys.readouterr()
    send("replaying", request_id="r-replayed")
    output = capsys.readouterr().out
    (line,) = request_log_records(output)
    assert (line["status"], line.get("stop_reason"), line["connection"]) == (200, stop_reason, "gone")
    assert line["idempotent_replay"] is True and line["frames_sent"] == received
    assert "unhandled_error" not in output
    assert len(bedrock.calls) == calls
    assert stored_pairs() == [("Echo: Hello", "end_turn")]


def test_a_frame_the_management_api_refused_counts_in_the_send_failures_metric(connections, bedrock, capsys, settings):
    settings.EMBEDDED_METRICS = True
    bedrock.then(CHAT, stream_answer(REPLY, tokens_per_second=200), stream_answer(REPLY, tokens_per_second=200))
    capsys.readouterr()
    connections.close_after("closed", 1)
    send("closed")
    connections.fail_from(connections.posts + 2)  # across connections: the second frame of the next reply
    send("refused", request_id="r-2")
    closed, refused = request_log_records(capsys.readouterr().out)
    assert (refused["SendFailures"], closed["SendFailures"]) == (1, 0)  # a closed socket (410) is no failure
    declared = {metric["Name"] for d in refused["_aws"]["CloudWatchMetrics"] for metric in d["Metrics"]}
    assert "SendFailures" in declared
