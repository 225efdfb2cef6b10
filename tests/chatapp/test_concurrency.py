"""Concurrent turns on one conversation all land (no read-modify-write), and retries race safely."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from fakes.bedrock import text_answer
from tests.support import ApiClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("dynamodb_one_request_at_a_time")]


def test_concurrent_posts_on_one_conversation_all_land(bedrock):
    api = ApiClient()
    conversation_id = api.chat("start").json()["conversation_id"]
    texts = [f"parallel {n}" for n in range(8)]
    tabs = [ApiClient(same_session_as=api) for _ in texts]  # Django's test client is not thread-safe
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda tab, text: tab.chat(text, conversation_id=conversation_id), tabs, texts))
    assert [r.status_code for r in responses] == [200] * 8
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    assert len(messages) == 2 + 2 * 8
    pairs = [(messages[i], messages[i + 1]) for i in range(0, len(messages), 2)]
    for user, reply in pairs:  # every user message is followed by its own reply
        assert user["role"] == "user" and reply["role"] == "assistant"
        assert reply["content"] == f"Echo: {user['content']}"
    assert sorted(user["content"] for user, _ in pairs[1:]) == sorted(texts)


def test_racing_retries_of_one_request_id_store_once_and_agree(bedrock):
    api = ApiClient()
    bedrock.then(settings.BEDROCK_CHAT_MODEL_ID, *(text_answer(f"reply {n}") for n in range(4)))
    tabs = [ApiClient(same_session_as=api) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda tab: tab.chat("same request", request_id="dup-1"), tabs))
    bodies = [r.json() for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert all(body == bodies[0] for body in bodies)
    conversations = api.get("/api/v1/conversations").json()["conversations"]
    assert len(conversations) == 1
    messages = api.get(f"/api/v1/conversations/{conversations[0]['id']}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == bodies[0]["message"]["content"]
