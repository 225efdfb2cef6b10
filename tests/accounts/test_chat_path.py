"""Nothing new on the chat path: an anonymous chat reads no ORM table; a signed-in one reads only its user."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.support import Person, make_person

pytestmark = pytest.mark.django_db


def test_an_anonymous_chat_reads_no_orm_table(bedrock) -> None:
    person = Person()
    with CaptureQueriesContext(connection) as first:
        conversation_id = person.chat("Hello").json()["conversation_id"]
    with CaptureQueriesContext(connection) as follow_up:
        assert person.chat("And then?", conversation_id=conversation_id).status_code == 200
    assert first.captured_queries == [] and follow_up.captured_queries == []


def test_a_signed_in_chat_reads_only_the_signed_in_user(bedrock) -> None:
    make_person("joy@example.com")
    person = Person()
    person.sign_in("joy@example.com")
    with CaptureQueriesContext(connection) as chat:
        assert person.chat("Hello").status_code == 200
    # Django's AuthenticationMiddleware: the user row, whose password hash the session is checked against.
    assert len(chat.captured_queries) == 1
    assert 'FROM "auth_user"' in chat.captured_queries[0]["sql"]
