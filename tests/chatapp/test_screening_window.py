"""Every earlier user turn the chat model is shown was screened with the message it answers: padding between
the halves of an instruction cannot push the first half out of screening's sight and into the chat model's."""

import pytest

from fakes.bedrock import split_instruction_screener
from tests.chatapp.test_screening_context import FINISH, OPENER, conversation, screened_with
from tests.support import CHAT

PADDING = [f"Harmless question number {n} about tides?" for n in range(4)]


def shown_user_turns(call) -> list[str]:
    """Return the earlier user turns a chat-model call carries (its last user turn is the message itself)."""
    users = [m for m in call.body["messages"] if m["role"] == "user"][:-1]
    return ["".join(block.get("text", "") for block in m["content"]) for m in users]


def test_an_instruction_split_around_four_harmless_turns_is_blocked(api, bedrock):
    bedrock.default = split_instruction_screener(OPENER, FINISH)
    conversation_id, statuses = conversation(api, OPENER, *PADDING, FINISH)
    assert statuses == [200] * 5 + [403]
    assert screened_with(bedrock)[-1] == ([OPENER, *PADDING], FINISH)
    assert len(bedrock.calls_to(CHAT)) == 5  # the finishing turn never reached the chat model
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    assert FINISH not in [m["content"] for m in messages]


@pytest.mark.parametrize(("history_messages", "context_turns"), [(20, None), (20, 2), (6, 4), (20, 0)])
def test_the_chat_model_is_shown_no_user_turn_its_message_was_not_screened_with(
    api, bedrock, settings, history_messages, context_turns
):
    settings.HISTORY_MESSAGES = history_messages
    if context_turns is not None:
        settings.SCREENING_CONTEXT_TURNS = context_turns
    turns = [f"Distinct turn {n}" for n in range(8)]
    conversation(api, *turns)
    for screened, chat in zip(screened_with(bedrock), bedrock.calls_to(CHAT), strict=True):
        context, message = screened
        assert set(shown_user_turns(chat)) <= set(context), f"{message!r} was answered with unscreened turns"


def test_the_default_window_screens_every_user_turn_the_chat_model_keeps(api, bedrock, settings):
    turns = [f"Distinct turn {n}" for n in range(12)]
    conversation(api, *turns)
    kept = settings.HISTORY_MESSAGES // 2
    assert shown_user_turns(bedrock.calls_to(CHAT)[-1]) == turns[-1 - kept : -1]
    assert screened_with(bedrock)[-1] == (turns[-1 - kept : -1], turns[-1])
