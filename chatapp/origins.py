"""Which pages may open the chat's WebSocket: the site's own and CORS_ALLOWED_ORIGINS, matched exactly.

Any site can open a WebSocket to any host, and a browser sends no CORS preflight for it; the Origin header it
always sends is the one thing $connect can judge (tickets stop reading chats, not sending them). "The site's
own" is a host the site is configured to serve, never the `.execute-api.<region>.amazonaws.com` wildcard that
ALLOWED_HOSTS may hold on Lambda: that would admit every site hosted on API Gateway.
"""

import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def socket_origin_allowed(*, event: dict[str, Any]) -> bool:
    """Tell whether the $connect `event` comes from a page allowed to chat (or from a client that is no browser)."""
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    if origin is None:  # not a browser, so no visitor's page is acting: its ticket decides, as for any client
        return True
    domain_name = (event.get("requestContext") or {}).get("domainName", "")
    if origin in socket_origins(domain_name=domain_name):
        return True
    logger.info("socket refused", extra={"event": "socket_origin_refused", "record": {"origin": str(origin)[:200]}})
    return False


def socket_origins(*, domain_name: str) -> set[str]:
    """Return the exact origins allowed to open the socket served at `domain_name`."""
    hosts = [*settings.ALLOWED_HOSTS, domain_name]
    own = {f"https://{host}" for host in hosts if host and not host.startswith((".", "*"))}
    # CSRF_TRUSTED_ORIGINS: the site's origins as deployed (https://CUSTOM_DOMAIN, DJANGO_CSRF_TRUSTED_ORIGINS), which
    # include CORS_ALLOWED_ORIGINS; a wildcard entry there never equals an origin, so it admits nothing here.
    return own | set(settings.CSRF_TRUSTED_ORIGINS) | set(settings.CORS_ALLOWED_ORIGINS)
