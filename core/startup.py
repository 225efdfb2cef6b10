"""Load during init everything a request needs, so that no request, the first after a restore included, pays it.

Lambda's init phase is where cost belongs: with SnapStart it runs once per published version and every
restored environment starts with its result; without, it still runs before the first event. Django imports
views and compiles URL patterns on the first request, and PynamoDB builds its connections on first use, so
`StartupMiddleware` (the last middleware) does that work while the WSGI handler is built, during init.
"""

import functools

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.urls import URLResolver, get_resolver
from django.utils.module_loading import import_string

from core import snapstart  # registers the SnapStart runtime hooks during init
from core.dynamodb import dynamodb_warm, registered_tables


@functools.cache
def environment_prepare() -> None:
    """Load the URLconf (every view and serializer), every table's connection, each DynamoDB operation (stubbed).

    Both model clients are built, and warmed the same way, by the chat app's `ready()` (WARM_MODELS_AT_STARTUP).
    """
    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 - imports every URLconf and view, and compiles every pattern
    _patterns_compile(resolver)
    # What Django's middleware imports on the first request that reads messages or a session.
    import_string(settings.MESSAGE_STORAGE)
    import_string(settings.SESSION_SERIALIZER)
    for model in registered_tables():
        for table in [model, *model.__subclasses__()]:
            table._get_connection()  # noqa: SLF001 - the table's connection, on the shared client
    dynamodb_warm()
    snapstart.register_after_restore(dynamodb_warm)  # again after a restore: it pages in what the calls use


def _patterns_compile(resolver: URLResolver) -> None:
    """Compile every pattern's regex for resolving (reverse_dict compiles those for reversing; these, on first use)."""
    for entry in resolver.url_patterns:
        entry.pattern.regex  # noqa: B018 - a cached, compiled-on-first-access property
        if isinstance(entry, URLResolver):
            _patterns_compile(entry)


class StartupMiddleware:
    """Prepare the environment when Django builds the middleware chain (init), then leave the chain.

    Django's pattern for start-up work: a middleware whose constructor raises MiddlewareNotUsed costs no
    request anything. Before Django finishes setting up, the URLconf cannot be loaded safely (the admin
    registers its models in its own `ready()`), so an AppConfig's `ready()` would be too early.
    """

    def __init__(self, get_response: object) -> None:
        if settings.PREPARE_AT_STARTUP:
            environment_prepare()
        raise MiddlewareNotUsed
