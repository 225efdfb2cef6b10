"""The WebSocket contract through the local gateway process: frames, order, storage, stop, replay and refusals."""

import threading

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from fakes.bedrock import MALICIOUS_MARKER, stream_answer
from security.services.output import canary_token
from tests.sockets.conftest import RATE_LIMIT, Socket, ticket_of
from tests.support import CHAT, SCREEN

LONG_REPLY = " ".join(f"Sentence number {n} of a reply that the model writes slowly." for n in range(12))


def stored(api, conversation_id: str) -> list[dict]:
    return api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]


def text_of(frames: list[dict]) -> str:
    return "".join(frame["text"] for frame in frames if frame["type"] == "delta")


def test_reply_streams_as_accepted_deltas_done_and_is_stored(session_api, socket, bedrock):
    bedrock.then(CHAT, stream_answer(LONG_REPLY, first_token_delay=0.2, tokens_per_second=100))
    request_id = socket.chat(ticket_of(session_api), "Tell me something long")
    frames = socket.reply()
    assert [frame["request_id"] for frame in frames] == [request_id] * len(frames)
    assert frames[0]["type"] == "accepted"
    assert frames[0]["screening"] == {"verdict": "safe", "source": "model"}
    assert [frame["type"] for frame in frames[1:-1]] == ["delta"] * (len(frames) - 2)
    assert len(frames) - 2 >= 3, "a slow reply arrives in several frames"
    done = frames[-1]
    assert done["type"] == "done" and done["conversation_id"] == frames[0]["conversation_id"]
    assert text_of(frames) == LONG_REPLY == done["message"]["content"]
    assert done["message"]["stop_reason"] == "end_turn" and done["message"]["role"] == "assistant"
    messages = stored(session_api, done["conversation_id"])  # done comes after storage
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Tell me something long"),
        ("assistant", LONG_REPLY),
    ]
    assert messages[1]["id"] == done["message"]["id"] and messages[1]["stop_reason"] == "end_turn"


def test_follow_up_continues_the_conversation_with_its_history(session_api, socket, bedrock):
    ticket = ticket_of(session_api)
    socket.chat(ticket, "first")
    conversation_id = socket.reply()[-1]["conversation_id"]
    socket.chat(ticket, "second", conversation_id=conversation_id)
    assert socket.reply()[-1]["message"]["content"] == "Echo: second"
    assert [m["content"] for m in stored(session_api, conversation_id)] == [
        "first",
        "Echo: first",
        "second",
        "Echo: second",
    ]
    assert len(bedrock.calls_to(CHAT)[-1].body["messages"]) == 3


def test_cut_at_max_tokens_says_so(session_api, socket, bedrock):
    bedrock.then(CHAT, stream_answer("A reply that ran out of", stop_reason="max_tokens"))
    socket.chat(ticket_of(session_api), "Write a lot")
    done = socket.reply()[-1]
    assert done["message"]["stop_reason"] == "max_tokens"
    assert stored(session_api, done["conversation_id"])[1]["stop_reason"] == "max_tokens"


def test_answered_request_id_replays_without_a_model_call(session_api, socket, bedrock):
    ticket = ticket_of(session_api)
    socket.chat(ticket, "once", request_id="same-id")
    first = socket.reply()
    calls = len(bedrock.calls)
    socket.chat(ticket, "once", request_id="same-id")
    again = socket.reply()
    assert [frame["type"] for frame in again] == ["accepted", "delta", "done"]
    assert again[1]["text"] == first[-1]["message"]["content"] == again[-1]["message"]["content"]
    assert again[-1]["message"]["id"] == first[-1]["message"]["id"]
    assert len(bedrock.calls) == calls
    assert len(stored(session_api, first[-1]["conversation_id"])) == 2


def test_closing_the_socket_stops_the_reply_and_stores_what_was_sent(session_api, gateway, bedrock):
    bedrock.then(CHAT, stream_answer(LONG_REPLY, tokens_per_second=20))
    client = Socket(gateway.url)
    client.chat(ticket_of(session_api), "Write slowly")
    accepted, first = client.frame(), client.frame()
    assert accepted["type"] == "accepted" and first["type"] == "delta"
    client.close()
    conversation_id = accepted["conversation_id"]
    messages = _wait_for(
        lambda: stored(session_api, conversation_id) if _exists(session_api, conversation_id) else None
    )
    reply = messages[1]
    assert reply["stop_reason"] == "stopped"
    assert reply["content"].startswith(first["text"])
    assert LONG_REPLY.startswith(reply["content"]) and len(reply["content"]) < len(LONG_REPLY)


def test_closing_before_any_text_stores_nothing(session_api, gateway, bedrock):
    bedrock.then(CHAT, stream_answer("Too late", first_token_delay=1.5))
    client = Socket(gateway.url)
    client.chat(ticket_of(session_api), "Quick, then gone")
    assert client.frame()["type"] == "accepted"
    client.close()
    _wait_for(lambda: len(bedrock.calls_to(CHAT)) == 1 or None)
    threading.Event().wait(2.5)  # past the first token: the reply noticed the closed socket
    assert session_api.get("/api/v1/conversations").json()["conversations"] == []


def test_blocked_message_is_an_error_frame_and_never_reaches_the_chat_model(session_api, socket, bedrock):
    request_id = socket.chat(ticket_of(session_api), f"Please {MALICIOUS_MARKER}")
    (frame,) = socket.reply()
    assert frame == {
        "type": "error",
        "request_id": request_id,
        "error": {"code": "prompt_blocked", "category": "prompt_injection", "message": frame["error"]["message"]},
    }
    assert bedrock.calls_to(CHAT) == [] and len(bedrock.calls_to(SCREEN)) == 1


def test_forged_or_missing_ticket_is_ticket_invalid_and_the_socket_stays_open(session_api, socket, bedrock):
    ticket = ticket_of(session_api)
    for bad in (ticket[:-2] + "xx", "not-a-ticket", ""):
        socket.chat(bad, "hello")
        (frame,) = socket.reply()
        assert frame["error"]["code"] == "ticket_invalid"
    assert bedrock.calls == []
    socket.chat(ticket, "hello")
    assert socket.reply()[-1]["type"] == "done"


@pytest.mark.parametrize(
    ("raw", "request_id"),
    [
        pytest.param("this is not json", None, id="not-json"),
        pytest.param("[1, 2]", None, id="not-an-object"),
        pytest.param('{"ticket": "t", "message": "hi", "request_id": "r1"}', "r1", id="no-action"),
        pytest.param('{"action": "dance", "ticket": "t", "message": "hi", "request_id": "r2"}', "r2", id="bad-action"),
        pytest.param(
            '{"action": "chat", "ticket": "t", "message": 42, "request_id": "r3"}', "r3", id="message-number"
        ),
        pytest.param('{"action": "chat", "ticket": "t", "message": "hi"}', None, id="no-request-id"),
        pytest.param('{"action": "chat", "ticket": "t", "message": "hi", "request_id": 7}', None, id="request-id-int"),
        pytest.param(
            '{"action": "chat", "ticket": "t", "message": "hi", "request_id": "r4", "conversation_id": "nope"}',
            "r4",
            id="bad-conversation-id",
        ),
    ],
)
def test_unreadable_frame_is_invalid_request_and_the_socket_stays_open(session_api, socket, raw, request_id):
    socket.send(raw)
    (frame,) = socket.reply()
    assert frame["type"] == "error" and frame["request_id"] == request_id
    assert frame["error"]["code"] == "invalid_request" and frame["error"]["message"]
    socket.chat(ticket_of(session_api), "still here?")
    assert socket.reply()[-1]["type"] == "done"


def test_message_over_the_limit_is_invalid_request(session_api, socket, bedrock):
    socket.chat(ticket_of(session_api), "x" * (settings.MAX_MESSAGE_CHARS + 1))
    (frame,) = socket.reply()
    assert frame["error"]["code"] == "invalid_request" and "message" in frame["error"]["fields"]
    assert bedrock.calls == []


def test_a_message_over_the_limit_once_normalised_is_invalid_request_and_nothing_is_stored(
    session_api, socket, bedrock
):
    socket.chat(ticket_of(session_api), "\ufdfa" * 4000)  # 4,000 characters, 72,000 once NFKC-normalised
    frame = socket.frame()
    assert frame["type"] == "error" and frame["error"]["code"] == "invalid_request"
    assert "message" in frame["error"]["fields"]
    assert bedrock.calls == []
    assert session_api.get("/api/v1/conversations").json()["conversations"] == []


def test_frame_over_32_kb_is_refused(session_api, gateway):
    client = Socket(gateway.url)
    client.send("x" * (32 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        client.frame()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_rate_limit_applies_to_the_socket(session_api, socket, bedrock):
    ticket = ticket_of(session_api)
    answered = []
    # Fixed windows: a run that straddles a minute boundary may get up to twice the rate through.
    for n in range(2 * RATE_LIMIT + 1):
        socket.chat(ticket, f"message {n}")
        answered.append(socket.reply()[-1])
        if answered[-1]["type"] == "error":
            break
    refused = answered[-1]
    assert refused["type"] == "error" and RATE_LIMIT <= len(answered) - 1 <= 2 * RATE_LIMIT
    assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] >= 1
    assert len(bedrock.calls_to(CHAT)) == len(answered) - 1  # the refused message reached no model


def test_model_stream_cut_mid_reply_is_model_unavailable_and_nothing_is_stored(session_api, socket, bedrock):
    bedrock.then(CHAT, stream_answer(LONG_REPLY, tokens_per_second=200, cut_after=30))
    socket.chat(ticket_of(session_api), "Go on")
    frames = socket.reply()
    assert frames[0]["type"] == "accepted"
    assert frames[-1]["type"] == "error" and frames[-1]["error"]["code"] == "model_unavailable"
    assert frames[-1]["error"]["retry_after"] >= 1
    assert session_api.get("/api/v1/conversations").json()["conversations"] == []


def test_model_error_event_mid_reply_is_model_unavailable(session_api, socket, bedrock):
    bedrock.then(CHAT, stream_answer(LONG_REPLY, tokens_per_second=200, error_after=20))
    socket.chat(ticket_of(session_api), "Go on")
    frames = socket.reply()
    assert frames[-1]["error"]["code"] == "model_unavailable"
    assert session_api.get("/api/v1/conversations").json()["conversations"] == []


def test_no_frame_carries_the_canary_and_a_leaking_reply_is_withheld(session_api, socket, bedrock):
    leak = f"Here is some harmless text first, then the marker {canary_token()} and more."
    bedrock.then(CHAT, stream_answer(leak, tokens_per_second=100))
    socket.chat(ticket_of(session_api), "What is your marker?")
    frames = socket.reply()
    assert frames[-1]["error"]["code"] == "reply_withheld"
    sent = text_of(frames)
    assert canary_token() not in sent and "canary-" not in sent
    assert session_api.get("/api/v1/conversations").json()["conversations"] == []


def test_ordinary_text_is_not_held_back(session_api, socket, bedrock):
    text = "Paris is the capital of France. It lies on the Seine, and about two million people live there."
    bedrock.then(CHAT, stream_answer(text, tokens_per_second=8))
    socket.chat(ticket_of(session_api), "Tell me about Paris")
    assert socket.frame()["type"] == "accepted"
    first = socket.frame()
    assert first["type"] == "delta" and len(first["text"]) >= 3


def test_several_connections_stream_at_once(session_api, gateway, bedrock):
    bedrock.then(CHAT, *[stream_answer(LONG_REPLY, tokens_per_second=60) for _ in range(2)])
    ticket = ticket_of(session_api)
    one, two = Socket(gateway.url), Socket(gateway.url)
    one.chat(ticket, "first socket")
    two.chat(ticket, "second socket")
    first_of_two = [two.frame(), two.frame()]
    assert [frame["type"] for frame in first_of_two] == ["accepted", "delta"]
    frames_one = one.reply()
    assert frames_one[-1]["type"] == "done"  # the first was still streaming while the second had begun
    assert two.reply()[-1]["message"]["content"] == LONG_REPLY == frames_one[-1]["message"]["content"]
    one.close()
    two.close()


def _exists(api, conversation_id) -> bool:
    return api.get(f"/api/v1/conversations/{conversation_id}").status_code == 200


def _wait_for(probe, timeout: float = 15):
    stop = threading.Event()
    waited = 0.0
    while waited < timeout:
        if result := probe():
            return result
        stop.wait(0.1)
        waited += 0.1
    raise AssertionError("timed out")
