"""Bedrock prompt caching: a cachePoint once the conversation's stable prefix is long enough to cache."""

from tests.support import CHAT, request_log_records


def cache_points(call) -> int:
    blocks = call.body.get("system", []) + [b for m in call.body["messages"] for b in m["content"]]
    return sum(1 for block in blocks if "cachePoint" in block)


def test_short_conversations_send_no_cache_point(api, bedrock):
    conversation_id = api.chat("short").json()["conversation_id"]
    api.chat("still short", conversation_id=conversation_id)
    assert [cache_points(call) for call in bedrock.calls_to(CHAT)] == [0, 0]


def test_long_history_gets_cache_points_after_system_prompt_and_history(api, bedrock, settings):
    settings.PROMPT_CACHE_MIN_TOKENS = 200
    conversation_id = api.chat("word " * 200).json()["conversation_id"]
    api.chat("and then?", conversation_id=conversation_id)
    last = bedrock.calls_to(CHAT)[-1]
    assert "cachePoint" in last.body["system"][-1]
    assert cache_points(last) >= 2
    assert cache_points(bedrock.calls_to(CHAT)[0]) == 0


def test_cache_token_usage_reaches_the_log_line(api, bedrock, capsys):

    from fakes.bedrock import Answer

    bedrock.then(
        CHAT,
        Answer(
            body={
                "output": {"message": {"role": "assistant", "content": [{"text": "cached"}]}},
                "stopReason": "end_turn",
                "usage": {
                    "inputTokens": 12,
                    "outputTokens": 3,
                    "totalTokens": 1515,
                    "cacheReadInputTokens": 1200,
                    "cacheWriteInputTokens": 300,
                },
            }
        ),
    )
    capsys.readouterr()
    api.chat("hello")
    line = request_log_records(capsys.readouterr().out)[-1]
    assert line["usage"]["chat"]["cache_read_tokens"] == 1200
    assert line["usage"]["chat"]["cache_write_tokens"] == 300
