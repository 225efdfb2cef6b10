"""Spending in the admin: people's own ceilings, and the Usage page (/admin/usage/)."""

from datetime import UTC, date, datetime
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from billing import selectors, services
from billing.models import PersonCeiling
from billing.prices import MICRO
from core import charts

USAGE_DAYS = 30
TOP_SPENDERS = 20
SPEND_COLOURS = {"spend (US cents)": "#0072B2"}  # Okabe-Ito blue, as the moderation chart


@admin.register(PersonCeiling)
class PersonCeilingAdmin(admin.ModelAdmin):
    list_display = ["user", "daily_usd", "updated_at"]
    search_fields = ["user__email", "user__username"]
    raw_id_fields = ["user"]  # works whatever admin the user model has

    def save_model(self, request: HttpRequest, obj: PersonCeiling, form: Any, change: bool) -> None:
        """Save the ceiling and its copy in the ledger together: if the copy cannot be written, nothing is saved."""
        with transaction.atomic():
            previous = PersonCeiling.objects.filter(pk=obj.pk).values_list("user_id", flat=True).first()
            super().save_model(request, obj, form, change)
            if previous is not None and previous != obj.user_id:  # moved to another person: the first has none now
                services.person_ceiling_mirror(user_id=previous, daily_usd=None)
            services.person_ceiling_mirror(user_id=obj.user_id, daily_usd=obj.daily_usd)

    def delete_model(self, request: HttpRequest, obj: PersonCeiling) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            services.person_ceiling_mirror(user_id=obj.user_id, daily_usd=None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PersonCeiling]) -> None:
        with transaction.atomic():
            user_ids = list(queryset.values_list("user_id", flat=True))
            super().delete_queryset(request, queryset)
            for user_id in user_ids:
                services.person_ceiling_mirror(user_id=user_id, daily_usd=None)


def usage_view(request: HttpRequest) -> HttpResponse:
    """Show the service's spend per day (30 days) and, for one day (?day=), its top spenders."""
    today = datetime.now(tz=UTC).date()
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValueError:
        day = today
    daily = selectors.service_daily_spend(days=USAGE_DAYS, today=today)
    cents = {d: {"spend (US cents)": round(spend.spent / MICRO * 100) if spend else 0} for d, spend in daily.items()}
    spenders = selectors.top_spenders(day=day, limit=TOP_SPENDERS)
    emails = _emails(spenders)
    day_total = daily[day] if day in daily else selectors.service_daily_spend(days=1, today=day)[day]
    context = {
        **admin.site.each_context(request),
        "title": "Usage",
        "chart": charts.daily_chart(cents, colours=SPEND_COLOURS, nouns=("US cent", "US cents"), labels={}),
        "days": [(d, spend) for d, spend in reversed(daily.items())],
        "day": day,
        "day_total": day_total or selectors.DaySpend("service", 0, 0, 0, 0),
        "spenders": [(_spender_name(spender.key, emails=emails), spender) for spender in spenders],
        "ceilings": [(kind, _dollars(services.daily_ceiling(kind))) for kind in services.CEILING_SETTINGS],
    }
    return TemplateResponse(request, "admin/billing/usage.html", context)


def _dollars(micro: int | None) -> str:
    return "off" if micro is None else f"${micro / MICRO:,.2f}"


def _emails(spenders: list[selectors.DaySpend]) -> dict[str, str]:
    ids = [s.key.removeprefix("owner#user:") for s in spenders if s.key.startswith("owner#user:")]
    users = get_user_model().objects.filter(pk__in=ids)
    return {str(user.pk): user.email or user.get_username() for user in users}


def _spender_name(key: str, *, emails: dict[str, str]) -> str:
    if key.startswith("owner#user:"):
        user_id = key.removeprefix("owner#user:")
        return emails.get(user_id, f"deleted person #{user_id}")
    return f"anonymous session {key.removeprefix('owner#session:')[:8]}"
