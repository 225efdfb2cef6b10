"""The history-pages benchmark's seeding and read accounting (correctness only: timings belong to `make bench`)."""

from fakes.history import DynamoDBCall, dynamodb_calls, item_size, seed_conversation, seed_conversation_in_bulk
from tests.support import ApiClient


def test_a_bulk_seeded_conversation_reads_like_one_stored_turn_by_turn(db):
    api = ApiClient()
    owner = f"session:{api.http.cookies['sessionid'].value}"
    pages = []
    for seed in (seed_conversation, seed_conversation_in_bulk):
        conversation_id = seed(owner, turns=3, title="same")
        body = api.http.get(f"/api/v1/conversations/{conversation_id}", {"limit": 4}).json()
        before = api.http.get(f"/api/v1/conversations/{conversation_id}", {"before": body["earlier"]}).json()
        pages.append(
            [(m["role"], m["content"], m["created_at"]) for m in before["messages"] + body["messages"]]
            + [(body["title"], body["created_at"], body["updated_at"])]
        )
    assert pages[0] == pages[1]


def test_read_capacity_units_follow_dynamodb_item_size_rules():
    small = {"pk": {"S": "a" * 10}}
    assert item_size(small) == 12
    big = {"content": {"S": "é" * 2500}}  # 5,007 bytes: two 4 KB units
    consistent = DynamoDBCall("Query", {"ConsistentRead": True}, {"Items": [small, big]})
    eventual = DynamoDBCall("Query", {}, {"Items": [small, big]})
    assert (consistent.read_capacity_units, eventual.read_capacity_units) == (2, 1)
    assert DynamoDBCall("GetItem", {"ConsistentRead": True}, {}).read_capacity_units == 1  # a miss still costs


def test_the_call_log_sees_each_page_read_as_one_query(db):
    api = ApiClient()
    owner = f"session:{api.http.cookies['sessionid'].value}"
    conversation_id = seed_conversation_in_bulk(owner, turns=40, title="t")
    with dynamodb_calls() as log:
        api.http.get(f"/api/v1/conversations/{conversation_id}", {"limit": 10})
    pages = [c for c in log.calls if c.request.get("TableName", "").endswith("conversations")]
    assert [c.operation for c in pages] == ["Query"]
    assert pages[0].request["Limit"] == 12 and pages[0].request["ConsistentRead"] is True
