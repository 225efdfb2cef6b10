"""Managing conversations through the API: rename, title search, delete all, export; owner isolation."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chatapp import repositories
from chatapp.history import repositories as history
from fakes.history import SEEDED_AT, dynamodb_calls, seed_conversation, seed_conversation_in_bulk, seed_turn
from tests.support import ApiClient

LIST = "/api/v1/conversations"


def owner_of(api: ApiClient) -> str:
    return f"session:{api.http.cookies[settings.SESSION_COOKIE_NAME].value}"


def start(api: ApiClient, text: str, **fields) -> str:
    response = api.chat(text, **fields)
    assert response.status_code == 200, response.content
    return response.json()["conversation_id"]


def rename(api: ApiClient, conversation_id: str, body) -> object:
    return api.http.patch(
        f"{LIST}/{conversation_id}",
        json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": api.csrf_token},
    )


def search(api: ApiClient, q: str, **params) -> dict:
    response = api.http.get(LIST, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def search_all(api: ApiClient, q: str, limit: int) -> list[list[str]]:
    """Follow `next` of a title search to its end; return each page's titles."""
    pages, cursor = [], None
    while True:
        body = search(api, q, limit=limit, **({"cursor": cursor} if cursor else {}))
        pages.append([c["title"] for c in body["conversations"]])
        cursor = body["next"]
        if cursor is None:
            return pages


def titles(api: ApiClient) -> list[str]:
    return [c["title"] for c in api.get(LIST).json()["conversations"]]


# ---------------------------------------------------------------- rename


def test_rename_gives_the_conversation_a_new_title_everywhere(api, bedrock):
    conversation_id = start(api, "first question")
    before = api.get(f"{LIST}/{conversation_id}").json()
    response = rename(api, conversation_id, {"title": "Holiday plans"})
    assert response.status_code == 200
    body = response.json()
    assert body == {**{k: before[k] for k in ("id", "created_at", "updated_at")}, "title": "Holiday plans"}
    assert titles(api) == ["Holiday plans"]
    assert api.get(f"{LIST}/{conversation_id}").json()["title"] == "Holiday plans"
    assert response["Cache-Control"] == "no-store"


def test_a_rename_does_not_move_the_conversation_up_the_list(api, bedrock):
    older = start(api, "older")
    start(api, "newer")
    assert rename(api, older, {"title": "renamed"}).status_code == 200
    assert titles(api) == ["newer", "renamed"]


def test_a_title_is_cleaned_and_counted_after_cleaning(api, bedrock):
    conversation_id = start(api, "hello")
    # Fullwidth letters become ASCII (NFKC), the zero-width space goes, whitespace runs become one space.
    assert rename(api, conversation_id, {"title": "  Ｐｌａｎ\u200b  for\n\tMay  "}).json()["title"] == "Plan for May"
    assert rename(api, conversation_id, {"title": "x" * 200}).status_code == 200
    for bad in ("", "   ", "\u200b\u200b", "x" * 201, 42, None):
        response = rename(api, conversation_id, {"title": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_request"
        assert "title" in response.json()["error"]["fields"]
    assert rename(api, conversation_id, {}).status_code == 400
    assert titles(api) == ["x" * 200]


def test_renaming_another_owners_conversation_is_not_found_and_changes_nothing(api, other_api, bedrock):
    conversation_id = start(api, "private")
    response = rename(other_api, conversation_id, {"title": "mine now"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert rename(other_api, str(uuid.uuid4()), {"title": "nothing"}).status_code == 404
    assert titles(api) == ["private"]


def test_rename_needs_the_csrf_token_and_a_json_body(api, bedrock):
    conversation_id = start(api, "hello")
    response = api.http.patch(f"{LIST}/{conversation_id}", json.dumps({"title": "x"}), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    response = api.http.patch(
        f"{LIST}/{conversation_id}", "title=x", content_type="text/plain", headers={"X-CSRFToken": api.csrf_token}
    )
    assert response.status_code == 415
    assert titles(api) == ["hello"]


# ---------------------------------------------------------------- search


def test_search_finds_titles_containing_the_text_in_any_case(api, bedrock):
    for text in ("Trip to Lisbon", "lisbon food", "Paris museums", "Straße names"):
        start(api, text)
    assert [c["title"] for c in search(api, "LISBON")["conversations"]] == ["lisbon food", "Trip to Lisbon"]
    assert [c["title"] for c in search(api, "strasse")["conversations"]] == ["Straße names"]
    assert [c["title"] for c in search(api, "ｍｕｓｅｕｍ")["conversations"]] == ["Paris museums"]  # cleaned as titles
    assert search(api, "berlin") == {"conversations": [], "next": None}
    assert len(search(api, "   ")["conversations"]) == 4  # nothing to look for: the whole list


def test_search_shows_only_the_callers_conversations(api, other_api, bedrock):
    start(api, "secret plans")
    start(other_api, "other plans")
    assert [c["title"] for c in search(other_api, "plans")["conversations"]] == ["other plans"]
    assert ApiClient().get(f"{LIST}?q=plans").json() == {"conversations": [], "next": None}


def test_a_renamed_conversation_is_found_by_its_new_title(api, bedrock):
    conversation_id = start(api, "untitled thoughts")
    rename(api, conversation_id, {"title": "Garden Ideas"})
    assert [c["id"] for c in search(api, "garden")["conversations"]] == [conversation_id]
    assert search(api, "untitled")["conversations"] == []


def test_following_search_cursors_reaches_every_match_once_in_order(api):
    owner = owner_of(api)
    for n in range(40):
        at = SEEDED_AT + timedelta(minutes=n)
        seed_conversation_in_bulk(owner, turns=1, title=f"{'Match' if n % 3 == 0 else 'other'} {n}", at=at)
    pages = search_all(api, "match", limit=4)
    found = [title for page in pages for title in page]
    assert found == [f"Match {n}" for n in range(39, -1, -1) if n % 3 == 0]
    assert all(len(page) == 4 for page in pages[:-1])


def test_search_reads_a_bounded_number_of_conversations_per_request(api, monkeypatch):
    monkeypatch.setattr(history, "SEARCH_PAGE_ITEMS", 10)
    monkeypatch.setattr(history, "SEARCH_MAX_READS", 25)
    owner = owner_of(api)
    for n in range(80):  # the only two matches are the oldest and one in the middle
        title = "needle" if n in (0, 41) else f"hay {n}"
        seed_conversation_in_bulk(owner, turns=1, title=title, at=SEEDED_AT + timedelta(minutes=n))
    with dynamodb_calls() as calls:
        pages = search_all(api, "NEEDLE", limit=5)
    assert [title for page in pages for title in page] == ["needle", "needle"]
    assert [] in pages  # a request that read its share without a match still hands on a cursor
    assert "Scan" not in calls.operations
    queries = [c for c in calls.calls if c.operation == "Query"]
    assert all(c.request["IndexName"] == "by_owner" and c.request["Limit"] <= 10 for c in queries)
    per_request = sum(c.response["ScannedCount"] for c in queries) / len(pages)
    assert per_request <= 25


def test_a_search_cursor_works_only_for_the_same_text_and_owner(api, other_api):
    owner = owner_of(api)
    for n in range(6):
        seed_conversation_in_bulk(owner, turns=1, title=f"topic {n}", at=SEEDED_AT + timedelta(minutes=n))
    cursor = search(api, "topic", limit=2)["next"]
    assert cursor
    for client, params in (
        (api, {"q": "other", "cursor": cursor}),
        (api, {"cursor": cursor}),
        (other_api, {"q": "topic", "cursor": cursor}),
    ):
        response = client.http.get(LIST, params)
        assert response.status_code == 400
        assert "cursor" in response.json()["error"]["fields"]


def test_titles_stored_before_search_existed_are_found_as_typed(api):
    owner = owner_of(api)
    conversation_id = seed_conversation(owner, turns=1, title="Old Title")
    meta = repositories.conversation_meta(conversation_id)
    meta.update(actions=[repositories.ConversationMeta.title_search.remove()])
    assert [c["id"] for c in search(api, "Old")["conversations"]] == [conversation_id]


def test_search_text_longer_than_200_characters_is_refused(api):
    response = api.http.get(LIST, {"q": "x" * 201})
    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


# ---------------------------------------------------------------- delete all


def owner_items(owner: str) -> list[dict]:
    """Every item of the owner's conversations and requests (a Scan: tests only)."""
    from core.dynamodb import dynamodb_client

    client = dynamodb_client()
    items = client.scan(TableName=repositories.ConversationItem.Meta.table_name)["Items"]
    mine = {i["pk"]["S"] for i in items if i.get("owner", {}).get("S") == owner}
    return [i for i in items if i["pk"]["S"] in mine or i["pk"]["S"].startswith(f"req#{owner}#")]


def test_delete_all_removes_every_conversation_message_and_request_marker(api, other_api, bedrock):
    first = start(api, "one", request_id="r-1")
    api.chat("two", conversation_id=first, request_id="r-2")
    start(api, "three", request_id="r-3")
    kept = start(other_api, "not theirs", request_id="r-1")
    assert len(owner_items(owner_of(api))) == 2 + 4 + 2 + 3  # conversations, messages, markers

    response = api.delete(LIST)
    assert response.status_code == 204
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert api.get(LIST).json() == {"conversations": [], "next": None}
    assert api.get(f"{LIST}/{first}").status_code == 404
    assert owner_items(owner_of(api)) == []
    assert list(repositories.conversation_items(first)) == []
    # A replayed request_id is answered afresh, never with the deleted reply.
    replay = api.chat("one again", request_id="r-1")
    assert replay.status_code == 200 and replay.json()["conversation_id"] != first
    assert [c["id"] for c in other_api.get(LIST).json()["conversations"]] == [kept]
    assert len(other_api.get(f"{LIST}/{kept}").json()["messages"]) == 2


def test_delete_all_goes_in_batches_of_25_and_never_scans(api):
    owner = owner_of(api)
    for n in range(30):
        seed_conversation_in_bulk(owner, turns=2, title=f"chat {n}", at=SEEDED_AT + timedelta(minutes=n))
    with dynamodb_calls() as calls:
        assert api.delete(LIST).status_code == 204
    batches = [c for c in calls.calls if c.operation == "BatchWriteItem"]
    sizes = [len(next(iter(c.request["RequestItems"].values()))) for c in batches]
    assert sum(sizes) == 30 * 5 and max(sizes) == 25
    assert "Scan" not in calls.operations
    assert all_items() == []  # this owner's were the only ones


def all_items() -> list[dict]:
    from core.dynamodb import dynamodb_client

    return dynamodb_client().scan(TableName=repositories.ConversationItem.Meta.table_name)["Items"]


def test_a_reply_stored_while_delete_all_runs_is_deleted_too(api, monkeypatch):
    owner = owner_of(api)
    conversation_id = seed_conversation(owner, turns=1, title="busy")
    delete_batch, late = history._batch_delete, []

    def reply_lands_first(keys):
        if not late:  # another tab's reply is stored after its conversation's messages were listed
            late.append(seed_turn(owner, conversation_id, "late question", SEEDED_AT + timedelta(hours=1)))
        delete_batch(keys)

    monkeypatch.setattr(history, "_batch_delete", reply_lands_first)
    assert api.delete(LIST).status_code == 204
    assert late and owner_items(owner) == []
    assert list(repositories.conversation_items(conversation_id)) == []  # no message left behind, listed or not


def test_delete_all_without_a_session_creates_none(db):
    client = ApiClient.__new__(ApiClient)
    from django.test import Client

    client.http = Client()
    response = client.http.delete(LIST)
    assert response.status_code == 204
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_delete_all_needs_the_csrf_token(api, bedrock):
    start(api, "keep me")
    response = api.http.delete(LIST)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert titles(api) == ["keep me"]


# ---------------------------------------------------------------- export


def export(api: ApiClient, conversation_id: str, file_format: str | None):
    params = {"format": file_format} if file_format is not None else {}
    return api.http.get(f"{LIST}/{conversation_id}/export", params)


def test_export_as_markdown_downloads_every_message_in_order(api):
    conversation_id = seed_conversation(owner_of(api), turns=70, title="Long talk")  # 140 messages: 2 pages and more
    response = export(api, conversation_id, "md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="long-talk-{conversation_id[:8]}.md"'
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert text.startswith("# Long talk\n")
    positions = [text.index(f"Long talk question {n}\n") for n in range(70)]
    assert positions == sorted(positions)
    assert text.count("## You (") == 70 and text.count("## Assistant (") == 70


def test_export_as_json_holds_the_api_messages_oldest_first(api, bedrock):
    conversation_id = start(api, "Grüße an alle")
    api.chat("second", conversation_id=conversation_id)
    detail = api.get(f"{LIST}/{conversation_id}").json()
    response = export(api, conversation_id, "json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    # A title beyond ASCII keeps its letters, in the RFC 6266 form every browser reads.
    filename = f"gr%C3%BC%C3%9Fe-an-alle-{conversation_id[:8]}.json"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{filename}"
    body = json.loads(response.content)
    assert {k: body[k] for k in ("id", "title", "created_at", "updated_at")} == {
        k: detail[k] for k in ("id", "title", "created_at", "updated_at")
    }
    assert body["messages"] == detail["messages"]


def test_export_marks_a_cut_reply_as_not_complete(api, bedrock):
    conversation_id = start(api, "hello")
    reply = repositories.messages_page(conversation_id, limit=2, before=None)[1][1]
    reply.update(actions=[repositories.MessageItem.stop_reason.set("max_tokens")])
    assert "> Cut off: the reply reached its length limit." in export(api, conversation_id, "md").content.decode()


@pytest.mark.parametrize("file_format", [None, "", "pdf", "MD", "html"])
def test_export_in_an_unknown_format_is_invalid_request(api, bedrock, file_format):
    conversation_id = start(api, "hello")
    response = export(api, conversation_id, file_format)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "format" in error["fields"]


def test_exporting_another_owners_conversation_is_not_found(api, other_api, bedrock):
    conversation_id = start(api, "private")
    for client, target in ((other_api, conversation_id), (api, str(uuid.uuid4())), (ApiClient(), conversation_id)):
        response = export(client, target, "md")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "Content-Disposition" not in response


# ---------------------------------------------------------------- the schema


def test_the_schema_documents_every_management_operation(api):
    schema = api.get("/api/v1/schema").json()
    paths = schema["paths"]
    listing = paths["/api/v1/conversations"]
    assert {"get", "delete"} <= set(listing)
    assert "q" in [p["name"] for p in listing["get"]["parameters"]]
    detail = paths["/api/v1/conversations/{conversation_id}"]
    assert "patch" in detail and {"400", "404"} <= set(detail["patch"]["responses"])
    export_op = paths["/api/v1/conversations/{conversation_id}/export"]["get"]
    assert {"text/markdown", "application/json"} <= set(export_op["responses"]["200"]["content"])
    assert {"400", "404"} <= set(export_op["responses"])
    feedback = paths["/api/v1/conversations/{conversation_id}/messages/{message_id}/feedback"]
    assert {"put", "delete"} <= set(feedback)
    assert {"400", "404"} <= set(feedback["put"]["responses"])


def test_no_session_is_created_to_answer_a_caller_without_one(api, bedrock):
    from django.test import Client

    conversation_id = start(api, "someone's chat")
    stranger = Client()  # no CSRF enforcement, as for a caller that is not a browser: the owner check answers
    answers = [
        (stranger.get(LIST, {"q": "chat"}), 200),
        (stranger.get(f"{LIST}/{conversation_id}/export", {"format": "md"}), 404),
        (stranger.patch(f"{LIST}/{conversation_id}", '{"title": "x"}', content_type="application/json"), 404),
        (stranger.delete(LIST), 204),
    ]
    for response, status in answers:
        assert response.status_code == status, response.content
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert response["Cache-Control"] == "no-store"
    assert answers[0][0].json() == {"conversations": [], "next": None}
    assert titles(api) == ["someone's chat"]


# Each example is a new session, so a new owner: examples never see each other's conversations.
@hypothesis_settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    matches=st.lists(st.booleans(), max_size=30),
    limit=st.integers(min_value=1, max_value=6),
    page_items=st.integers(min_value=1, max_value=8),
    max_reads=st.integers(min_value=1, max_value=12),
)
def test_search_cursors_reach_every_match_once_in_order_whatever_the_bounds(
    db, monkeypatch, matches, limit, page_items, max_reads
):
    monkeypatch.setattr(history, "SEARCH_PAGE_ITEMS", page_items)
    monkeypatch.setattr(history, "SEARCH_MAX_READS", max_reads)
    api = ApiClient()
    owner = owner_of(api)
    for n, match in enumerate(matches):
        title = f"{'Needle' if match else 'hay'} {n}"
        seed_conversation_in_bulk(owner, turns=1, title=title, at=SEEDED_AT + timedelta(minutes=n))
    pages = search_all(api, "needle", limit=limit)
    assert [t for page in pages for t in page] == [f"Needle {n}" for n in reversed(range(len(matches))) if matches[n]]
    assert all(len(page) <= limit for page in pages)
    # Each request reads at most its bound, so a search needs at most one request per `max_reads` conversations.
    assert len(pages) <= len(matches) // max_reads + sum(matches) // limit + 2
