"""Storing a pair in one transaction: which condition failed decides the answer, for new and follow-up messages."""

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chatapp import repositories
from chatapp.repositories import ConversationGone, Message, RequestAlreadyStored, TurnsMoved, exchange_store

pytestmark = pytest.mark.django_db

OWNER = "session:exchange-store-test"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def store(
    conversation_id: str,
    *,
    new: bool,
    request_id: str | None,
    at: datetime = NOW,
    owner: str = OWNER,
    after_turns: int = 1,
) -> None:
    user = Message(str(uuid.uuid4()), "user", "a question", at.isoformat())
    reply = Message(str(uuid.uuid4()), "assistant", "an answer", at.isoformat(), "end_turn")
    exchange_store(
        owner=owner,
        conversation_id=conversation_id,
        title="a question" if new else None,
        pair=(user, reply),
        request_id=request_id,
        verdict_source="model",
        now=at,
        after_turns=0 if new else after_turns,
    )


def stored_messages(conversation_id: str) -> int:
    return len(repositories.conversation_history(conversation_id, limit=100)[1])


@pytest.fixture
def conversation() -> str:
    conversation_id = str(uuid.uuid4())
    store(conversation_id, new=True, request_id="first")
    return conversation_id


@pytest.mark.parametrize("request_id", [None, "follow-up"])
def test_a_follow_up_to_a_deleted_conversation_is_conversation_gone(conversation, request_id):
    repositories.conversation_delete_items(conversation)
    with pytest.raises(ConversationGone):
        store(conversation, new=False, request_id=request_id, at=NOW + timedelta(seconds=1))
    assert stored_messages(conversation) == 0


def test_a_follow_up_to_another_owners_conversation_is_conversation_gone(conversation):
    with pytest.raises(ConversationGone):
        store(conversation, new=False, request_id=None, at=NOW + timedelta(seconds=1), owner="session:someone-else")
    assert stored_messages(conversation) == 2


def test_a_follow_up_whose_request_id_is_stored_already_is_request_already_stored(conversation):
    with pytest.raises(RequestAlreadyStored):
        store(conversation, new=False, request_id="first", at=NOW + timedelta(seconds=1))
    assert stored_messages(conversation) == 2


def test_a_new_conversation_whose_request_id_is_stored_already_is_request_already_stored(conversation):
    other = str(uuid.uuid4())
    with pytest.raises(RequestAlreadyStored):
        store(other, new=True, request_id="first", at=NOW + timedelta(seconds=1))
    assert repositories.conversation_meta(other) is None


def test_a_new_conversation_whose_id_is_taken_is_conversation_gone(conversation):
    with pytest.raises(ConversationGone):
        store(conversation, new=True, request_id=None, at=NOW + timedelta(seconds=1))
    assert stored_messages(conversation) == 2


@pytest.mark.parametrize("request_id", [None, "retried"])
def test_a_follow_up_whose_conversation_is_deleted_while_it_is_answered_is_404(api, bedrock, monkeypatch, request_id):
    conversation_id = api.chat("hello").json()["conversation_id"]
    store_exchange = repositories.exchange_store

    def deleted_first(**fields):
        repositories.conversation_delete_items(conversation_id)
        store_exchange(**fields)

    monkeypatch.setattr(repositories, "exchange_store", deleted_first)
    response = api.chat("and then?", conversation_id=conversation_id, request_id=request_id)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "The conversation was deleted."}
    assert api.get(f"/api/v1/conversations/{conversation_id}").status_code == 404


def test_a_follow_up_retried_at_once_is_answered_with_the_reply_stored_first(api, bedrock, monkeypatch):
    conversation_id = api.chat("hello").json()["conversation_id"]
    store_exchange = repositories.exchange_store
    first_reply = {}

    def other_attempt_first(**fields):
        user, reply = fields["pair"]
        earlier = Message(str(uuid.uuid4()), "assistant", "the other attempt's answer", reply.created_at, "end_turn")
        store_exchange(**{**fields, "pair": (dataclasses.replace(user, id=str(uuid.uuid4())), earlier)})
        first_reply.update(id=earlier.id)
        store_exchange(**fields)

    monkeypatch.setattr(repositories, "exchange_store", other_attempt_first)
    response = api.chat("and then?", conversation_id=conversation_id, request_id="retried")
    assert response.status_code == 200
    assert response.json()["message"]["id"] == first_reply["id"]
    assert response.json()["message"]["content"] == "the other attempt's answer"
    messages = api.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]
    assert [m["content"] for m in messages].count("the other attempt's answer") == 1
    assert len(messages) == 4


def test_a_follow_up_stored_after_the_turn_it_was_screened_with_is_counted(conversation):
    store(conversation, new=False, request_id=None, at=NOW + timedelta(seconds=1), after_turns=1)
    meta, messages = repositories.conversation_history(conversation, limit=100)
    assert meta is not None and meta.turns == 2 and len(messages) == 4


def test_a_follow_up_after_another_exchange_was_stored_is_turns_moved_and_writes_nothing(conversation):
    store(conversation, new=False, request_id=None, at=NOW + timedelta(seconds=1), after_turns=1)
    with pytest.raises(TurnsMoved):
        store(conversation, new=False, request_id="late", at=NOW + timedelta(seconds=2), after_turns=1)
    assert stored_messages(conversation) == 4
    assert repositories.request_get(OWNER, "late") is None


def test_a_conversation_stored_before_the_turn_counter_counts_from_zero():
    conversation_id = str(uuid.uuid4())
    pk, at = repositories.conversation_pk(conversation_id), NOW.isoformat()
    repositories.ConversationMeta(
        pk, repositories.META_SK, owner=OWNER, updated_at=at, title="old", created_at=at
    ).save()  # as stored before the counter existed: no `turns`
    store(conversation_id, new=False, request_id=None, at=NOW + timedelta(seconds=1), after_turns=0)
    with pytest.raises(TurnsMoved):
        store(conversation_id, new=False, request_id=None, at=NOW + timedelta(seconds=2), after_turns=0)
    assert repositories.conversation_meta(conversation_id).turns == 1
