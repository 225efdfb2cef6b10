"""Leaving: /accounts/delete/, re-checked by password, or for a single-sign-on account by a fresh sign-in."""

import time

from allauth.account import app_settings as account_settings
from allauth.account.authentication import get_authentication_records
from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.services import account_delete


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):  # type: ignore[attr-defined]
            raise forms.ValidationError("That is not your password.")
        return password


def signed_in_recently(request: HttpRequest) -> bool:
    """Return True when this session signed in (by any method) within ACCOUNT_REAUTHENTICATION_TIMEOUT."""
    records = get_authentication_records(request, request.user)
    latest = max((record.get("at", 0) for record in records), default=0)
    return time.time() - latest < account_settings.REAUTHENTICATION_TIMEOUT


@login_required
@require_http_methods(["GET", "POST"])
def account_delete_page(request: HttpRequest) -> HttpResponse:
    """Ask for the password (or a fresh single sign-on) and, on a POST that passes, delete the account."""
    user = request.user
    by_password = user.has_usable_password()
    form = AccountDeleteForm(request.POST or None, user=user) if by_password else None
    confirmed = form.is_valid() if form is not None else signed_in_recently(request)
    if request.method == "POST" and confirmed:
        account_delete(user=user)
        logout(request)
        return redirect("chat-page")
    context = {"form": form, "needs_sign_in": not by_password and not confirmed}
    return render(request, "account/account_delete.html", context, status=400 if request.method == "POST" else 200)
