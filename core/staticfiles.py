"""Static file URLs that follow the request's script prefix (the API Gateway stage, or none on a custom domain).

Django's `StaticFilesStorage` fixes its base URL once per process, the first time it is used, so on Lambda
every later page would keep whatever prefix the first request had: `/dev/static/...` links on a custom
domain, or `/static/...` under the stage. Here `STATIC_URL` stays `/static/` and each URL gets the current
request's prefix (Zappa sets SCRIPT_NAME to `/<stage>` on the execute-api host and to nothing on a custom
domain), so one deployment serves correct links on both. WhiteNoise matches `PATH_INFO`, which never
carries the prefix, so it keeps serving `/static/`.
"""

from django.contrib.staticfiles.storage import StaticFilesStorage
from django.urls import get_script_prefix


class ScriptPrefixStaticFilesStorage(StaticFilesStorage):
    """Serve `STATIC_URL` paths under the current request's script prefix."""

    def url(self, name: str | None) -> str:
        url = super().url(name)
        if not url.startswith("/") or url.startswith("//"):
            return url  # an absolute URL (a CDN) needs no prefix
        return get_script_prefix().rstrip("/") + url
