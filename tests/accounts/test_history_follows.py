"""History follows the person: signing in moves every conversation of the anonymous session, even mid-reply."""

import threading
import uuid
from datetime import UTC, datetime

import pytest

from chatapp import repositories
from chatapp.repositories import Message
from chatapp.services import conversations_transfer
from fakes.bedrock import text_answer
from tests.accounts.support import Person, make_person
from tests.support import CHAT, ApiClient

pytestmark = pytest.mark.django_db


def conversation_titles(client: ApiClient) -> list[str]:
    """Return the titles of every conversation the client lists, following every cursor."""
    titles, url = [], "/api/v1/conversations?limit=100"
    while url:
        page = client.get(url).json()
        titles += [conversation["title"] for conversation in page["conversations"]]
        url = f"/api/v1/conversations?limit=100&cursor={page['next']}" if page["next"] else None
    return titles


def stored_exchange(owner: str, *, conversation_id: str, title: str | None, text: str) -> None:
    """Store one user message and its reply for `owner`, as the chat pipeline does at the end of a reply."""
    now = datetime.now(tz=UTC)
    pair = (
        Message(str(uuid.uuid4()), "user", text, now.isoformat()),
        Message(str(uuid.uuid4()), "assistant", f"Echo: {text}", now.isoformat(), "end_turn"),
    )
    meta = repositories.conversation_meta(conversation_id) if title is None else None
    repositories.exchange_store(
        owner=owner,
        conversation_id=conversation_id,
        title=title,
        pair=pair,
        request_id=None,
        verdict_source="model",
        now=now,
        after_turns=int(meta.turns or 0) if meta is not None else 0,  # as read with the history
    )


def test_signing_in_brings_the_conversations_of_the_anonymous_page_along(bedrock) -> None:
    make_person("gus@example.com")
    person = Person()
    first = person.chat("First question").json()["conversation_id"]
    person.chat("Second question")
    person.chat("A follow-up", conversation_id=first)

    person.sign_in("gus@example.com")
    assert sorted(conversation_titles(person)) == ["First question", "Second question"]
    detail = person.get(f"/api/v1/conversations/{first}").json()
    assert [m["content"] for m in detail["messages"] if m["role"] == "user"] == ["First question", "A follow-up"]


def test_every_page_of_anonymous_conversations_moves_at_sign_in() -> None:
    make_person("hal@example.com")
    person = Person()
    owner = f"session:{person.session_key()}"
    for number in range(230):  # more than two pages of the by_owner Query (100 each)
        stored_exchange(owner, conversation_id=str(uuid.uuid4()), title=f"chat {number}", text="hi")

    person.sign_in("hal@example.com")
    assert sorted(conversation_titles(person)) == sorted(f"chat {number}" for number in range(230))


def test_moving_the_same_history_twice_changes_nothing() -> None:
    owner, person = "session:aaaaaaaabbbbbbbb", "user:7"
    conversation_id = str(uuid.uuid4())
    stored_exchange(owner, conversation_id=conversation_id, title="once", text="hi")
    assert conversations_transfer(owner=owner, successor=person) == 1
    assert conversations_transfer(owner=owner, successor=person) == 0
    assert [c.owner for c in repositories.conversations_page(person, limit=10, after=None)[0]] == [person]
    assert repositories.conversations_page(owner, limit=10, after=None)[0] == []


def test_a_reply_the_old_session_stores_after_the_move_lands_in_the_persons_conversation() -> None:
    owner, person = "session:ccccccccdddddddd", "user:8"
    conversation_id = str(uuid.uuid4())
    stored_exchange(owner, conversation_id=conversation_id, title="before", text="one")
    conversations_transfer(owner=owner, successor=person)

    stored_exchange(owner, conversation_id=conversation_id, title=None, text="two")  # the reply in flight
    meta, messages = repositories.conversation_history(conversation_id, limit=10)
    assert meta.owner == person
    assert [m.content for m in messages] == ["one", "Echo: one", "two", "Echo: two"]


def test_a_first_message_the_old_session_answers_after_the_move_starts_a_conversation_of_the_person() -> None:
    owner, person = "session:eeeeeeeeffffffff", "user:9"
    conversations_transfer(owner=owner, successor=person)

    conversation_id = str(uuid.uuid4())
    stored_exchange(owner, conversation_id=conversation_id, title="late", text="three")
    assert repositories.conversation_meta(conversation_id).owner == person
    assert repositories.conversations_page(owner, limit=10, after=None)[0] == []


def test_another_session_still_cannot_write_into_a_moved_conversation() -> None:
    owner, person = "session:gggggggghhhhhhhh", "user:10"
    conversation_id = str(uuid.uuid4())
    stored_exchange(owner, conversation_id=conversation_id, title="mine", text="one")
    conversations_transfer(owner=owner, successor=person)
    with pytest.raises(repositories.ConversationGone):
        stored_exchange("session:iiiiiiiijjjjjjjj", conversation_id=conversation_id, title=None, text="intruder")


@pytest.mark.parametrize("follow_up", [False, True], ids=["first message", "follow-up"])
def test_a_reply_being_written_while_the_person_signs_in_is_kept(bedrock, follow_up: bool) -> None:
    make_person("ida@example.com")
    person = Person()
    conversation_id = person.chat("Earlier").json()["conversation_id"] if follow_up else None
    signed_in, answered = threading.Event(), []

    def chat_model_waits_for_the_sign_in(model_id, call):
        if model_id == CHAT:
            assert signed_in.wait(timeout=10)
            return text_answer("Written while you signed in")
        return bedrock_default(model_id, call)

    bedrock_default, bedrock.default = bedrock.default, chat_model_waits_for_the_sign_in
    other_tab = ApiClient(same_session_as=person)  # the anonymous page, mid-reply
    body = {"conversation_id": conversation_id} if conversation_id else {}
    chat = threading.Thread(target=lambda: answered.append(other_tab.chat("In flight", **body)))
    chat.start()
    while not bedrock.calls_to(CHAT)[1 if follow_up else 0 :]:
        threading.Event().wait(0.02)  # the reply is being written: its history was read already
    person.sign_in("ida@example.com")
    signed_in.set()
    chat.join(timeout=20)

    assert answered[0].status_code == 200
    moved = answered[0].json()["conversation_id"]
    detail = person.get(f"/api/v1/conversations/{moved}").json()
    assert detail["messages"][-1]["content"] == "Written while you signed in"
    assert len(conversation_titles(person)) == 1


def test_the_session_keeps_a_consistent_list_of_the_conversations_it_started() -> None:
    """The by_owner index is eventually consistent; the move reads the session's own list, which is not."""
    owner = "session:kkkkkkkkllllllll"
    started = {str(uuid.uuid4()) for _ in range(3)}
    for conversation_id in started:
        stored_exchange(owner, conversation_id=conversation_id, title="mine", text="hi")
    stored_exchange(owner, conversation_id=sorted(started)[0], title=None, text="a follow-up adds nothing")
    now = datetime.now(tz=UTC)
    assert repositories.owner_successor_set(owner, successor="user:11", now=now) == started


def test_a_conversation_from_before_sessions_kept_their_list_still_moves() -> None:
    owner, conversation_id = "session:mmmmmmmmnnnnnnnn", str(uuid.uuid4())
    now = datetime.now(tz=UTC).isoformat()
    repositories.ConversationMeta(
        repositories.conversation_pk(conversation_id),
        repositories.META_SK,
        owner=owner,
        updated_at=now,
        title="old",
        created_at=now,
    ).save()
    assert conversations_transfer(owner=owner, successor="user:12") == 1
    assert repositories.conversation_meta(conversation_id).owner == "user:12"
