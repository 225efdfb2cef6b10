"""Pages of conversations and of messages: cursors, limits, whole pairs, owner binding, one Query per page."""

import base64
import uuid
import zlib
from datetime import timedelta

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chatapp import repositories
from fakes.history import SEEDED_AT, dynamodb_calls, seed_conversation, seed_turn
from tests.support import ApiClient

LIST = "/api/v1/conversations"


def owner_of(api: ApiClient) -> str:
    return f"session:{api.http.cookies[settings.SESSION_COOKIE_NAME].value}"


def detail_url(conversation_id: str) -> str:
    return f"{LIST}/{conversation_id}"


def all_conversations(api: ApiClient, limit: int | None = None) -> list[list[dict]]:
    """Follow `next` from the first page to the last; return the pages."""
    pages, cursor = [], None
    while True:
        params = {k: v for k, v in {"limit": limit, "cursor": cursor}.items() if v is not None}
        body = api.http.get(LIST, params).json()
        pages.append(body["conversations"])
        cursor = body["next"]
        if cursor is None:
            return pages


def all_messages(api: ApiClient, conversation_id: str, limit: int | None = None) -> list[list[dict]]:
    """Follow `earlier` from the latest page back to the first; return the pages, latest first."""
    pages, before = [], None
    while True:
        params = {k: v for k, v in {"limit": limit, "before": before}.items() if v is not None}
        body = api.http.get(detail_url(conversation_id), params).json()
        pages.append(body["messages"])
        before = body["earlier"]
        if before is None:
            return pages


def seed_many(owner: str, count: int) -> list[str]:
    """Seed `count` one-turn conversations, a minute apart; return their ids, most recent first."""
    times = [SEEDED_AT + timedelta(minutes=n) for n in range(count)]
    return [seed_conversation(owner, turns=1, title=f"chat {n}", at=at) for n, at in enumerate(times)][::-1]


def invalid_field(response, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["fields"]


def test_every_one_of_130_conversations_is_reachable_50_at_a_time(api):
    expected = seed_many(owner_of(api), 130)
    pages = all_conversations(api)
    assert [len(page) for page in pages] == [50, 50, 30]
    assert [c["id"] for page in pages for c in page] == expected
    assert [c["title"] for c in pages[0][:2]] == ["chat 129", "chat 128"]


def test_limit_sets_the_page_size_up_to_100_and_more_is_refused(api):
    expected = seed_many(owner_of(api), 12)
    pages = all_conversations(api, limit=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    assert [c["id"] for page in pages for c in page] == expected
    assert len(api.http.get(LIST, {"limit": 100}).json()["conversations"]) == 12
    for bad in ("101", "0", "-1", "ten", "2.5"):
        invalid_field(api.http.get(LIST, {"limit": bad}), "limit")


def test_a_full_last_page_says_there_is_no_next_one(api):
    expected = seed_many(owner_of(api), 4)
    body = api.http.get(LIST, {"limit": 4}).json()
    assert [c["id"] for c in body["conversations"]] == expected
    assert body["next"] is None


def test_a_tampered_or_unreadable_cursor_is_invalid_request(api):
    seed_many(owner_of(api), 3)
    cursor = api.http.get(LIST, {"limit": 1}).json()["next"]
    payload, _, signature = cursor.rpartition(":")
    for tampered in (cursor[:-1] + ("A" if cursor[-1] != "A" else "B"), "x" + cursor, "garbage", payload, "é:é"):
        invalid_field(api.http.get(LIST, {"cursor": tampered}), "cursor")


def test_another_owners_cursor_is_refused_and_shows_nothing_of_theirs(api, other_api):
    seed_many(owner_of(api), 3)
    seed_many(owner_of(other_api), 3)
    cursor = api.http.get(LIST, {"limit": 1}).json()["next"]
    response = other_api.http.get(LIST, {"cursor": cursor})
    invalid_field(response, "cursor")
    assert "chat" not in response.content.decode()


def test_cursors_carry_no_session_key_even_decoded(api):
    owner = owner_of(api)
    conversation_id = seed_conversation(owner, turns=30, title="long")
    seed_many(owner, 3)
    cursors = [
        api.http.get(LIST, {"limit": 1}).json()["next"],
        api.http.get(detail_url(conversation_id), {"limit": 10}).json()["earlier"],
    ]
    session_key = owner.removeprefix("session:")
    for cursor in cursors:
        assert session_key not in cursor
        payload = cursor.split(":")[0]
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        readable = zlib.decompress(raw) if payload.startswith(".") else raw
        assert session_key.encode() not in readable
        assert b"session" not in readable


def test_a_conversation_opens_at_its_latest_50_messages_oldest_first(api):
    conversation_id = seed_conversation(owner_of(api), turns=70, title="long talk")
    body = api.get(detail_url(conversation_id)).json()
    messages = body["messages"]
    assert len(messages) == 50
    assert messages[0] == {**messages[0], "role": "user", "content": "long talk question 45"}
    assert messages[-1]["content"] == "Echo: long talk question 69"
    assert [m["role"] for m in messages] == ["user", "assistant"] * 25
    assert body["earlier"] is not None
    assert body["title"] == "long talk" and body["id"] == conversation_id


def test_following_earlier_reads_every_message_once_in_order(api):
    conversation_id = seed_conversation(owner_of(api), turns=70, title="t")
    pages = all_messages(api, conversation_id)
    assert [len(page) for page in pages] == [50, 50, 40]
    everything = [m for page in reversed(pages) for m in page]
    expected = [text for turn in range(70) for text in (f"t question {turn}", f"Echo: t question {turn}")]
    assert [m["content"] for m in everything] == expected
    assert len({m["id"] for m in everything}) == 140


@pytest.mark.parametrize(("limit", "sizes"), [(5, [4, 4, 2]), (4, [4, 4, 2]), (2, [2] * 5), (100, [10])])
def test_message_pages_hold_whole_pairs(api, limit, sizes):
    conversation_id = seed_conversation(owner_of(api), turns=5, title="t")
    pages = all_messages(api, conversation_id, limit=limit)
    assert [len(page) for page in pages] == sizes
    for page in pages:
        assert [m["role"] for m in page] == ["user", "assistant"] * (len(page) // 2)


def test_message_limit_outside_2_to_100_is_refused(api):
    conversation_id = seed_conversation(owner_of(api), turns=1, title="t")
    for bad in ("101", "1", "0", "many"):
        invalid_field(api.http.get(detail_url(conversation_id), {"limit": bad}), "limit")


def test_a_message_cursor_works_only_for_its_own_conversation_and_owner(api, other_api):
    owner = owner_of(api)
    first = seed_conversation(owner, turns=3, title="first")
    second = seed_conversation(owner, turns=3, title="second")
    before = api.http.get(detail_url(first), {"limit": 2}).json()["earlier"]
    invalid_field(api.http.get(detail_url(second), {"before": before}), "before")
    invalid_field(api.http.get(detail_url(first), {"before": before[:-2] + "xx"}), "before")
    # Another owner learns nothing about the conversation, with its cursor or a forged one: 404 either way.
    for cursor in (before, "forged"):
        response = other_api.http.get(detail_url(first), {"before": cursor})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    own = seed_conversation(owner_of(other_api), turns=3, title="theirs")
    invalid_field(other_api.http.get(detail_url(own), {"before": before}), "before")


def test_an_earlier_page_of_a_deleted_conversation_is_not_found(api):
    conversation_id = seed_conversation(owner_of(api), turns=3, title="t")
    before = api.http.get(detail_url(conversation_id), {"limit": 2}).json()["earlier"]
    assert api.delete(detail_url(conversation_id)).status_code == 204
    assert api.http.get(detail_url(conversation_id), {"before": before}).status_code == 404


def test_assistant_messages_carry_stop_reason_and_user_messages_do_not(api, bedrock):
    conversation_id = api.chat("hello").json()["conversation_id"]
    reply = repositories.messages_page(conversation_id, limit=2, before=None)[1][1]
    seed_turn(owner_of(api), conversation_id, "cut short", SEEDED_AT.replace(year=2030))
    cut = repositories.messages_page(conversation_id, limit=2, before=None)[1][1]
    cut.update(actions=[repositories.MessageItem.stop_reason.set("max_tokens")])
    messages = api.get(detail_url(conversation_id)).json()["messages"]
    assert [m.get("stop_reason") for m in messages] == [None, "end_turn", None, "max_tokens"]
    assert "stop_reason" not in messages[0] and reply.stop_reason == "end_turn"  # stored with the reply


def test_one_query_per_page_and_never_a_scan(api):
    owner = owner_of(api)
    long_one = seed_conversation(owner, turns=150, title="long")
    seed_many(owner, 120)
    with dynamodb_calls() as first_page:
        api.http.get(detail_url(long_one), {"limit": 20})
    queries = [call for call in first_page.calls if call.operation == "Query"]
    assert len(queries) == 1
    # The page (20), the conversation item and one more to tell whether earlier messages exist.
    assert queries[0].response["ScannedCount"] == 22
    with dynamodb_calls() as paging:
        pages = all_messages(api, long_one)
        lists = all_conversations(api)
    assert "Scan" not in paging.operations
    assert paging.operations.count("Query") == len(pages) + len(lists)
    # An earlier page reads the conversation item apart (one GetItem), never the messages before it.
    assert paging.operations.count("GetItem") >= len(pages) - 1
    assert max(c.response["ScannedCount"] for c in paging.calls if c.operation == "Query") <= 52


# Each example is a new session, so a new owner: examples never see each other's conversations.
@hypothesis_settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    turns=st.integers(min_value=1, max_value=30),
    limit=st.integers(min_value=2, max_value=12),
    arrivals=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8),
)
def test_paging_back_reads_every_message_once_while_new_ones_arrive(db, turns, limit, arrivals):
    api = ApiClient()
    owner = owner_of(api)
    conversation_id = seed_conversation(owner, turns=turns, title="t")
    before, seen, clock = None, [], SEEDED_AT + timedelta(days=1)
    for page_number in range(1000):
        params = {"limit": limit, **({"before": before} if before else {})}
        body = api.http.get(detail_url(conversation_id), params).json()
        seen = body["messages"] + seen
        before = body["earlier"]
        for _ in range(arrivals[page_number % len(arrivals)]):  # new turns land between page reads
            clock += timedelta(seconds=1)
            seed_turn(owner, conversation_id, f"new {clock.isoformat()}", clock)
        if before is None:
            break
    expected = [text for turn in range(turns) for text in (f"t question {turn}", f"Echo: t question {turn}")]
    assert [m["content"] for m in seen] == expected


# Each example is a new session, so a new owner: examples never see each other's conversations.
@hypothesis_settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(min_value=1, max_value=25),
    limit=st.integers(min_value=1, max_value=7),
    changes=st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=24)), max_size=10),
)
def test_paging_conversations_reaches_every_unchanged_one_once_while_others_change(db, count, limit, changes):
    api = ApiClient()
    owner = owner_of(api)
    expected = seed_many(owner, count)
    changed, cursor, listed, clock = set(), None, [], SEEDED_AT + timedelta(days=1)
    for page_number in range(1000):
        body = api.http.get(LIST, {"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        listed += [c["id"] for c in body["conversations"]]
        cursor = body["next"]
        if page_number < len(changes):  # between page reads: a new conversation, or a turn on an old one
            new, which = changes[page_number]
            clock += timedelta(seconds=1)
            if new:
                seed_conversation(owner, turns=1, title="new", at=clock)
            else:
                changed.add(expected[which % count])
                seed_turn(owner, expected[which % count], "more", clock)
        if cursor is None:
            break
    assert len(listed) == len(set(listed))  # nothing twice
    unchanged = [c for c in expected if c not in changed]
    assert [c for c in listed if c in unchanged] == unchanged  # every unchanged one, in order


def test_a_malformed_conversation_id_with_a_cursor_is_not_found(api):
    assert api.http.get(detail_url(str(uuid.uuid4())), {"before": "x"}).status_code == 404


def test_the_schema_documents_page_parameters_and_cursors(api):
    schema = api.get("/api/v1/schema?format=json").json()
    listing = schema["paths"]["/api/v1/conversations"]["get"]
    detail = schema["paths"]["/api/v1/conversations/{conversation_id}"]["get"]
    parameters = {p["name"]: p for p in listing["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    assert "cursor" in parameters
    assert {p["name"] for p in detail["parameters"]} >= {"limit", "before"}
    components = schema["components"]["schemas"]
    assert components["ConversationList"]["properties"]["next"]["nullable"] is True
    assert components["ConversationDetail"]["properties"]["earlier"]["nullable"] is True
    assert "stop_reason" in components["Message"]["properties"]
    assert "400" in listing["responses"] and "400" in detail["responses"]


@pytest.mark.parametrize("change", ["delete", "continue"])
def test_a_cursor_still_continues_after_its_last_conversation_changes(api, change):
    expected = seed_many(owner_of(api), 6)
    first = api.http.get(LIST, {"limit": 3}).json()
    assert [c["id"] for c in first["conversations"]] == expected[:3]
    if change == "delete":
        assert api.delete(detail_url(expected[2])).status_code == 204
    else:
        seed_turn(owner_of(api), expected[2], "more", SEEDED_AT + timedelta(days=1))
    rest = api.http.get(LIST, {"limit": 3, "cursor": first["next"]}).json()
    assert [c["id"] for c in rest["conversations"]] == expected[3:]
    assert rest["next"] is None
