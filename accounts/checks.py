"""A deployment without EMAIL_URL sends no account mail: say so wherever `manage.py check` runs."""

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility, deploy=True)
def email_url_set(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report (as information: a stage may use single sign-on alone) that no mail goes out without EMAIL_URL."""
    if settings.EMAIL_URL:
        return []
    hint = "Set EMAIL_URL (smtp+tls://user:password@host:587, see DEPLOY.md) or people cannot confirm sign-ups."
    return [checks.Info("EMAIL_URL is not set: no account mail is sent.", hint=hint, id="accounts.I001")]
