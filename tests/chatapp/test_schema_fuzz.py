"""Schemathesis against the live API: no server errors, and every answer matches the OpenAPI document.

The live server runs in this process, so it shares moto's DynamoDB and the fake Bedrock. Requests carry a
real session cookie and CSRF token, so generated bodies reach validation instead of stopping at CSRF.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALLS: list[int] = []


@pytest.fixture
def api_schema(live_server, bedrock):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema")


@pytest.fixture
def browser_session(live_server, settings) -> requests.Session:
    """A requests session holding the session cookie, with the CSRF token as a default header."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    session = requests.Session()
    token = session.get(f"{live_server.url}/api/v1/session", timeout=10).json()["csrf_token"]
    session.headers["X-CSRFToken"] = token
    session.headers["Referer"] = live_server.url  # Django's CSRF check wants a same-origin Referer/Origin
    return session


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, suppress_health_check=list(HealthCheck))
def test_api_answers_match_the_schema_and_never_fail_on_the_server(case, live_server, browser_session):
    response = case.call(base_url=live_server.url, session=browser_session, timeout=30)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code != 503, response.text  # with the fakes, no dependency is unavailable
    CALLS.append(response.status_code)


def test_the_fuzzer_exercised_success_and_error_answers():
    """Runs after the fuzz test (file order): the statuses it saw include successes and contract errors."""
    if not CALLS:
        pytest.skip("the fuzz test did not run in this session")
    assert 200 in CALLS and any(400 <= status < 500 for status in CALLS)
    print(f"schemathesis: {len(CALLS)} calls, statuses {sorted(set(CALLS))}")  # noqa: T201
