"""POST reads the chat model as a stream: stop_reason on the reply and in history, and the HTTP budget's cut."""

from chatapp.repositories import ConversationItem, MessageItem, conversation_pk
from fakes.bedrock import stream_answer
from tests.support import CHAT, request_log_records

SLOW_REPLY = " ".join(f"Part {n} of an answer that takes its time." for n in range(40))


def test_complete_reply_says_end_turn_in_the_answer_and_in_history(api, bedrock):
    body = api.chat("Hello").json()
    assert body["message"]["stop_reason"] == "end_turn"
    messages = api.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]
    assert "stop_reason" not in messages[0]  # a user message has none
    assert messages[1]["stop_reason"] == "end_turn"


def test_reply_cut_at_max_tokens_says_so(api, bedrock):
    bedrock.then(CHAT, stream_answer("The list goes on: one, two, thr", stop_reason="max_tokens"))
    body = api.chat("List everything").json()
    assert body["message"]["content"] == "The list goes on: one, two, thr"
    assert body["message"]["stop_reason"] == "max_tokens"
    messages = api.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]
    assert messages[1]["stop_reason"] == "max_tokens"


def test_reply_longer_than_one_read_timeout_is_not_failed(api, bedrock, settings):
    settings.CHAT_MODEL_READ_TIMEOUT = 1.0  # each chunk comes well within it; the whole reply does not
    text = " ".join(["steady words"] * 20)
    bedrock.then(CHAT, stream_answer(text, tokens_per_second=40))  # ~60 chunks: ~1.5 s
    response = api.chat("Take your time")
    assert response.status_code == 200, response.content
    assert response.json()["message"]["content"] == text
    assert response.json()["message"]["stop_reason"] == "end_turn"


def test_reply_still_being_written_at_the_budget_is_returned_and_stored_as_time_limit(api, bedrock, settings, capsys):
    settings.POST_REPLY_SECONDS = 1.5
    bedrock.then(CHAT, stream_answer(SLOW_REPLY, first_token_delay=0.2, tokens_per_second=30))
    capsys.readouterr()
    response = api.chat("Write at length")
    assert response.status_code == 200, response.content
    message = response.json()["message"]
    assert message["stop_reason"] == "time_limit"
    assert message["content"] and SLOW_REPLY.startswith(message["content"])
    assert len(message["content"]) < len(SLOW_REPLY)
    history = api.get(f"/api/v1/conversations/{response.json()['conversation_id']}").json()["messages"]
    assert history[1]["content"] == message["content"] and history[1]["stop_reason"] == "time_limit"
    line = request_log_records(capsys.readouterr().out)[-1]
    assert line["stop_reason"] == "time_limit" and line["timings_ms"]["first_text"] < line["timings_ms"]["total"]


def test_no_text_at_all_by_the_budget_is_model_unavailable(api, bedrock, settings):
    settings.POST_REPLY_SECONDS = 0.5
    bedrock.then(CHAT, stream_answer("Too late", first_token_delay=1.5))
    response = api.chat("Anyone there?")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_unavailable"
    assert api.get("/api/v1/conversations").json() == {"conversations": [], "next": None}


def test_retry_of_a_cut_reply_replays_its_stop_reason(api, bedrock):
    bedrock.then(CHAT, stream_answer("Half an ans", stop_reason="max_tokens"))
    first = api.chat("Explain", request_id="cut-once").json()
    again = api.chat("Explain", request_id="cut-once").json()
    assert again["message"] == first["message"]
    assert again["message"]["stop_reason"] == "max_tokens"


def test_messages_stored_before_stop_reasons_read_as_complete(api, bedrock):
    conversation_id = api.chat("Old times").json()["conversation_id"]
    for item in ConversationItem.query(conversation_pk(conversation_id)):
        if isinstance(item, MessageItem) and item.role == "assistant":
            item.update(actions=[MessageItem.stop_reason.remove()])
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    assert messages[1]["stop_reason"] == "end_turn"
