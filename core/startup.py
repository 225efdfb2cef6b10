"""Load during init everything a request needs, so that no request, the first after a restore included, pays it.

Lambda's init phase is where cost belongs: with SnapStart it runs once per published version and every
restored environment starts with its result; without, it still runs before the first event. Django imports
views and compiles URL patterns on the first request, and PynamoDB builds its connections on first use, so
`StartupMiddleware` (the last middleware) does that work while the WSGI handler is built, during init.
"""

import functools
import io
import logging

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.wsgi import WSGIHandler
from django.urls import URLResolver, get_resolver
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from core.dynamodb import dynamodb_warm, registered_tables

logger = logging.getLogger(__name__)

# Requests answered in process after a restore (see requests_prime): no session made, no write, no model call.
# Not the chat URL: any request to it, even OPTIONS, is a logged chat request with its metrics.
PRIMING_REQUESTS = [("GET", "/api/v1/conversations")]


@functools.cache
def environment_prepare() -> None:
    """Load the URLconf (every view and serializer), every table's connection, each DynamoDB operation (none sent)."""
    # Not the model clients: the chat app's `ready()` builds and warms both (WARM_MODELS_AT_STARTUP).
    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 - imports every URLconf and view, and compiles every pattern
    _patterns_compile(resolver)
    # What Django's middleware imports on the first request that reads messages or a session.
    import_string(settings.MESSAGE_STORAGE)
    import_string(settings.SESSION_SERIALIZER)
    for model in registered_tables():
        for table in [model, *model.__subclasses__()]:
            table._get_connection()  # noqa: SLF001 - the table's connection, on the shared client
    dynamodb_warm()  # and again after a restore (core.snapstart.AFTER_RESTORE): it pages in what the calls use


def requests_prime() -> None:
    """Answer PRIMING_REQUESTS through Django's whole request path, in process (after a restore)."""
    # A restored environment's memory is the snapshot's, paged in (or, in an emulated snapshot, copied) when
    # first touched: requests through the middleware, the URL resolver, DRF's views and renderers touch it here,
    # in Restore Duration, instead of in the first visitor's request. Nothing is stored or logged as a request.
    host = _priming_host()
    if host is None:
        return
    handler = WSGIHandler()
    statuses = {}
    for method, path in PRIMING_REQUESTS:
        statuses[f"{method} {path}"] = _answer(handler, _environ(method, path, host))
    logger.info("requests primed", extra={"event": "snapstart_requests_primed", "record": statuses})


def _answer(handler: WSGIHandler, environ: dict[str, object]) -> str:
    """Run one request through `handler` as a WSGI server would; return its status code."""
    statuses: list[str] = []
    response = handler(environ, lambda status, headers, *_: statuses.append(status))
    try:
        b"".join(response)
    finally:
        response.close()  # request_finished: what a request closes at its end, this one closes too
    return statuses[0].split(" ", 1)[0]


def _priming_host() -> str | None:
    """Return a host name ALLOWED_HOSTS admits (a request to any other would be answered 400 and logged)."""
    for allowed in settings.ALLOWED_HOSTS:
        if allowed == "*":
            return "localhost"
        return f"restore{allowed}" if allowed.startswith(".") else allowed
    return "localhost" if settings.DEBUG else None


def _environ(method: str, path: str, host: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        # A session that does not exist (a new random key): the session engine makes one real GetItem, so
        # botocore's and urllib3's whole send path is touched too, and the conversations list is empty.
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={get_random_string(32, VALID_KEY_CHARS)}",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": "0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _patterns_compile(resolver: URLResolver) -> None:
    """Compile every pattern's regex for resolving (reverse_dict compiles those for reversing; these, on first use)."""
    for entry in resolver.url_patterns:
        entry.pattern.regex  # noqa: B018 - a cached, compiled-on-first-access property
        if isinstance(entry, URLResolver):
            _patterns_compile(entry)


class StartupMiddleware:
    """Prepare the environment when Django builds the middleware chain (init), then leave the chain."""

    # Not an AppConfig's `ready()`: before Django finishes setting up, the URLconf cannot be loaded safely (the
    # admin registers its models in its own `ready()`).
    def __init__(self, get_response: object) -> None:
        if settings.PREPARE_AT_STARTUP:
            environment_prepare()
        raise MiddlewareNotUsed  # Django's pattern for start-up work: this middleware costs no request anything
