"""allauth's adapters: the project's sign-up rules and its client IP (API Gateway's, never X-Forwarded-For)."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django import forms
from django.conf import settings
from django.http import HttpRequest

from core.observability import client_ip


def email_domain_allowed(email: str) -> bool:
    """Return True when ACCOUNT_ALLOWED_EMAIL_DOMAINS is empty or names the domain of `email`."""
    allowed = settings.ACCOUNT_ALLOWED_EMAIL_DOMAINS
    return not allowed or email.rpartition("@")[2].lower() in allowed


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up open or closed by ACCOUNT_SIGNUP_OPEN, to the domains of ACCOUNT_ALLOWED_EMAIL_DOMAINS."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_SIGNUP_OPEN)

    def clean_email(self, email: str) -> str:
        if not email_domain_allowed(email):
            raise forms.ValidationError("Sign-up is limited to addresses at this organisation's domains.")
        return super().clean_email(email)

    def get_client_ip(self, request: HttpRequest) -> str:
        """Return the IP rate limits count: API Gateway's, as for every other limit of this service."""
        return client_ip(request) or "unknown"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on creates accounts even when ACCOUNT_SIGNUP_OPEN is false: the identity provider decides."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        email = sociallogin.user.email or ""
        return email_domain_allowed(email)
