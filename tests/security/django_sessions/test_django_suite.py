"""Django's session-backend suite (vendored, see __init__.py) against the DynamoDB engine, on moto.

Run: every test of `SessionTestsMixin` (the contract all of Django's backends pass), the overlong-key test that
Django's cache backends add, and `SessionMiddlewareTests` (Django's session middleware over SESSION_ENGINE,
which is `security.sessions` here). Left out, with the reason:
- DatabaseSessionTests / CustomDatabaseSessionTests: they read Django's Session ORM model (`__str__`,
  `get_decoded`, its manager) and count its rows; the clearsessions and aclear_expired tests expect
  `clear_expired()` to delete rows, which Django documents as a no-op for a store with its own expiry
  (DynamoDB's TTL here; reads already ignore expired items).
- CacheSessionTests / CacheDBSessionTests, apart from test_load_overlong_key: they check Django's cache
  framework (SESSION_CACHE_ALIAS, a failing cache, lookups served from the cache).
- FileSessionTests / FileSessionPathLibTests: session files and SESSION_FILE_PATH.
- CookieSessionTests: the signed-cookie backend's own behaviour.
- ClearSessionsCommandTests: an engine without clear_expired(); this one has it.
- SessionBaseTests: SessionBase's abstract methods raising NotImplementedError.
The two middleware tests that build their session from Django's db backend or its ORM model are replaced by
the same checks on this engine below.
"""

import asyncio
import unittest
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, SimpleTestCase

from security.repositories import SessionItem
from security.sessions import SessionStore
from tests.security.django_sessions.sessions_tests import tests as upstream


class DynamoDBSessionTests(upstream.SessionTestsMixin, SimpleTestCase):
    backend = SessionStore

    # Django's cache backends add it; every backend should pass it.
    test_load_overlong_key = upstream.CacheSessionTests.test_load_overlong_key

    def _callTestMethod(self, method):
        """Run the test on a thread of its own when an event loop runs on this one.

        Playwright's sync API (the browser tests' session-scoped browser) keeps a loop running on the main
        thread, where the async_to_sync that Django wraps `async def` tests in refuses to start.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return super()._callTestMethod(method)
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(super()._callTestMethod, method).result()


class DynamoDBSessionMiddlewareTests(upstream.SessionMiddlewareTests):
    @unittest.skip("builds its session from Django's db backend: test_session_deleted_mid_request_is_interrupted")
    def test_session_update_error_redirect(self):
        pass

    @unittest.skip("reads Django's Session ORM model: test_emptied_session_is_saved_and_keeps_its_cookie")
    def test_empty_session_saved(self):
        pass


def test_session_deleted_mid_request_is_interrupted(db):
    """Django's test_session_update_error_redirect, with this engine's session instead of the db backend's."""

    def view_deleting_its_session(request):
        request.session = SessionStore()
        request.session.save(must_create=True)
        request.session.delete()
        return HttpResponse()

    with SimpleTestCase().assertRaisesMessage(SessionInterrupted, "session was deleted before the request"):
        SessionMiddleware(view_deleting_its_session)(RequestFactory().get("/foo/"))


def test_emptied_session_is_saved_and_keeps_its_cookie(db):
    """Django's test_empty_session_saved, reading the stored item instead of Django's Session model."""

    def view_setting_data(request):
        request.session["foo"] = "bar"
        return HttpResponse()

    request = RequestFactory().get("/")
    middleware = SessionMiddleware(view_setting_data)
    response = middleware(request)
    key = request.session.session_key
    assert f"Set-Cookie: {settings.SESSION_COOKIE_NAME}={key}" in str(response.cookies)

    del request.session["foo"]
    response = middleware.process_response(request, HttpResponse())
    assert SessionStore().decode(SessionItem.get(key).data) == {}
    assert f"Set-Cookie: {settings.SESSION_COOKIE_NAME}={key}" in str(response.cookies)
    assert response.headers["Vary"] == "Cookie"
