"""One order of turns across transports, through the gateway process: a message in flight on one socket while
another socket (or a POST) stores a turn in the same conversation is screened again with that turn."""

import threading
import time
from collections.abc import Iterator

import pytest

from tests.chatapp.test_screening_context import screened_with
from tests.chatapp.test_turn_order import FIRST_HALF, SECOND_HALF, held_safe_verdict
from tests.sockets.conftest import Socket, ticket_of
from tests.support import SCREEN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def second_socket(gateway) -> Iterator[Socket]:
    client = Socket(gateway.url)
    yield client
    client.close()


def user_turns(api, conversation_id: str) -> list[str]:
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    return [m["content"] for m in messages if m["role"] == "user"]


def log_line(gateway, request_id: str) -> dict:
    """Return the gateway's log line for the chat `request_id`, once its reader has it (the frame comes first)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [r for r in gateway.request_records() if r.get("chat_request_id") == request_id]
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}")


def hold_next_screening(bedrock) -> threading.Event:
    answer, release = held_safe_verdict()
    bedrock.then(SCREEN, answer)
    return release


def test_second_half_on_one_socket_racing_the_first_on_another_is_screened_again_and_blocked(
    session_api, socket, second_socket, bedrock, gateway
):
    ticket = ticket_of(session_api)
    socket.chat(ticket, "hello")
    conversation_id = socket.reply()[-1]["conversation_id"]
    release = hold_next_screening(bedrock)
    request_id = second_socket.chat(ticket, SECOND_HALF, conversation_id=conversation_id)
    bedrock.wait_for_calls(SCREEN, 2)
    socket.chat(ticket, FIRST_HALF, conversation_id=conversation_id)
    assert socket.reply()[-1]["type"] == "done"
    release.set()
    frames = second_socket.reply()
    assert frames[-1]["type"] == "error" and frames[-1]["error"]["code"] == "prompt_blocked"
    assert (["hello"], SECOND_HALF) in screened_with(bedrock)  # it was in flight on the history without the first
    assert screened_with(bedrock)[-1] == (["hello", FIRST_HALF], SECOND_HALF)
    assert user_turns(session_api, conversation_id) == ["hello", FIRST_HALF]
    assert log_line(gateway, request_id)["screened_again"] == 1


def test_second_half_on_a_socket_racing_the_first_by_post_is_screened_again_and_blocked(session_api, socket, bedrock):
    ticket = ticket_of(session_api)
    socket.chat(ticket, "hello")
    conversation_id = socket.reply()[-1]["conversation_id"]
    release = hold_next_screening(bedrock)
    socket.chat(ticket, SECOND_HALF, conversation_id=conversation_id)
    bedrock.wait_for_calls(SCREEN, 2)
    assert session_api.chat(FIRST_HALF, conversation_id=conversation_id).status_code == 200
    release.set()
    frames = socket.reply()
    assert frames[-1]["type"] == "error" and frames[-1]["error"]["code"] == "prompt_blocked"
    assert screened_with(bedrock)[-1] == (["hello", FIRST_HALF], SECOND_HALF)
    assert user_turns(session_api, conversation_id) == ["hello", FIRST_HALF]


def test_second_half_by_post_racing_the_first_on_a_socket_is_screened_again_and_blocked(
    session_api, socket, bedrock, settings
):
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import ApiClient

    settings.SCREEN_MODEL_READ_TIMEOUT = 10
    ticket = ticket_of(session_api)
    socket.chat(ticket, "hello")
    conversation_id = socket.reply()[-1]["conversation_id"]
    release = hold_next_screening(bedrock)
    tab = ApiClient(same_session_as=session_api)
    with ThreadPoolExecutor(max_workers=1) as pool:
        posted = pool.submit(tab.chat, SECOND_HALF, conversation_id=conversation_id)
        bedrock.wait_for_calls(SCREEN, 2)
        socket.chat(ticket, FIRST_HALF, conversation_id=conversation_id)
        assert socket.reply()[-1]["type"] == "done"
        release.set()
        response = posted.result()
    assert response.status_code == 403 and response.json()["error"]["code"] == "prompt_blocked"
    assert screened_with(bedrock)[-1] == (["hello", FIRST_HALF], SECOND_HALF)
    assert user_turns(session_api, conversation_id) == ["hello", FIRST_HALF]
