"""The DynamoDB session engine against Django's SessionBase contract (after django/tests/sessions_tests)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.utils import timezone

from security.repositories import SessionItem
from security.sessions import SessionStore


@pytest.fixture
def session() -> SessionStore:
    return SessionStore()


def test_new_session_is_empty_and_unsaved(session):
    assert session.is_empty()
    assert session.session_key is None
    assert not session.exists("a" * 32)


def test_save_then_load_round_trips_data(session):
    session["cart"] = {"items": [1, 2]}
    session.save()
    reloaded = SessionStore(session.session_key)
    assert reloaded["cart"] == {"items": [1, 2]}
    assert session.exists(session.session_key)


def test_create_gives_a_fresh_stored_key(session):
    session.create()
    assert session.session_key
    assert session.exists(session.session_key)
    assert session.modified


def test_save_must_create_refuses_an_existing_live_key(session):
    session["a"] = 1
    session.save()
    clash = SessionStore(session.session_key)
    clash["b"] = 2
    with pytest.raises(CreateError):
        clash.save(must_create=True)
    assert SessionStore(session.session_key)["a"] == 1  # nothing overwritten


def test_save_of_a_deleted_session_raises_update_error(session):
    session["a"] = 1
    session.save()
    key = session.session_key
    SessionStore(key).delete()
    stale = SessionStore(key)
    stale._session_cache = {"a": 2}
    with pytest.raises(UpdateError):
        stale.save()
    assert not session.exists(key)


def test_delete_removes_the_session(session):
    session["a"] = 1
    session.save()
    key = session.session_key
    session.delete()
    assert not session.exists(key)
    session.delete(key)  # deleting twice is fine


def test_flush_removes_data_and_the_old_key(session):
    session["a"] = 1
    session.save()
    key = session.session_key
    session.flush()
    assert not session.exists(key)
    assert session.session_key is None
    assert "a" not in session


def test_cycle_key_keeps_data_under_a_new_key(session):
    session["a"] = 1
    session.save()
    old_key = session.session_key
    session.cycle_key()
    assert session.session_key != old_key
    assert not session.exists(old_key)
    assert SessionStore(session.session_key)["a"] == 1


def test_unknown_key_loads_empty_and_is_replaced_on_save():
    session = SessionStore("x" * 32)
    assert session.load() == {}
    session["a"] = 1
    session.save()
    assert session.session_key != "x" * 32
    assert SessionStore(session.session_key)["a"] == 1


def test_expired_session_reads_as_empty_before_ttl_deletes_it(session):
    session["a"] = 1
    session.set_expiry(60)
    session.save()
    item = SessionItem.get(session.session_key)
    item.expires_at = timezone.now() - timedelta(seconds=1)
    item.save()
    assert not session.exists(session.session_key)
    assert SessionStore(session.session_key).load() == {}


def test_expired_key_can_be_created_again(session):
    session.save()
    key = session.session_key
    item = SessionItem.get(key)
    item.expires_at = timezone.now() - timedelta(seconds=1)
    item.save()
    reuse = SessionStore(key)
    reuse._session_cache = {"fresh": True}
    reuse.save(must_create=True)
    assert SessionStore(key)["fresh"] is True


def test_item_expiry_follows_the_session_expiry(session):
    session.set_expiry(300)
    session.save()
    item = SessionItem.get(session.session_key)
    assert abs((item.expires_at - timezone.now()).total_seconds() - 300) < 5


def test_corrupt_data_reads_as_empty(session):
    session.save()
    item = SessionItem.get(session.session_key)
    item.data = "not-a-signed-session"
    item.save()
    assert SessionStore(session.session_key).load() == {}


# What a client can put in the session cookie: every one of these is no session, and never a DynamoDB call
# (DynamoDB refuses an empty key or one over 2,048 bytes with ValidationException; moto would not).
JUNK_KEYS = [
    pytest.param("", id="empty"),
    pytest.param("1234567", id="too-short"),
    pytest.param("a" * 65, id="longer-than-issued"),
    pytest.param("a" * 2049, id="over-dynamodb-key-limit"),
    pytest.param("x" * 100_000, id="huge"),
    pytest.param("é" * 32, id="non-ascii"),
    pytest.param("ABCDEFGHABCDEFGHABCDEFGHABCDEFGH", id="upper-case"),
    pytest.param("abcd efgh;ijkl=mnop", id="separators"),
    pytest.param("abcdefgh\x00ijklmnop", id="nul"),
    pytest.param("abcdefgh\ud800ijklmnop", id="lone-surrogate"),
    pytest.param("../../etc/passwd", id="path"),
]


@pytest.fixture
def dynamodb_calls() -> list[str]:
    """The DynamoDB operations the shared client sends during the test."""
    from core.dynamodb import dynamodb_client

    calls: list[str] = []
    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb", lambda model, **kwargs: calls.append(model.name), unique_id="spy")
    yield calls
    events.unregister("before-call.dynamodb", unique_id="spy")


@pytest.mark.parametrize("key", [None, ""])
def test_exists_of_no_key_is_false(session, key):
    assert session.exists(key) is False


@pytest.mark.parametrize("key", JUNK_KEYS)
def test_junk_key_is_no_session_and_never_reaches_dynamodb(key, dynamodb_calls):
    session = SessionStore(key)
    assert session.session_key is None
    assert session.load() == {}
    assert session.exists(key) is False
    session.delete(key)
    assert dynamodb_calls == []


@pytest.mark.parametrize("key", JUNK_KEYS)
def test_junk_key_is_replaced_by_a_fresh_key_on_save(key):
    session = SessionStore(key)
    session["a"] = 1
    session.save()
    assert session.session_key != key
    assert len(session.session_key) == 32
    assert SessionStore(session.session_key)["a"] == 1


def test_keys_django_issues_and_accepts_are_looked_up(session, dynamodb_calls):
    session.save()
    dynamodb_calls.clear()
    assert len(session.session_key) == 32
    assert session.exists(session.session_key)
    assert SessionStore("12345678").load() == {}  # Django's shortest valid key: looked up, not found
    assert dynamodb_calls == ["GetItem", "GetItem"]
