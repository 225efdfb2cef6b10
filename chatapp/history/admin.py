"""The admin's feedback page: ratings of replies per day, and the way to the replies reported harmful."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from chatapp.history import selectors
from core import charts

DAYS = 30
# Moderators see it: the replies reported harmful are theirs to review.
PERMISSION = "security.view_blockedprompt"


def feedback_overview(request: HttpRequest) -> HttpResponse:
    """Show the standing ratings given per day over DAYS days, by rating and reason, with their totals."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    counts = selectors.feedback_daily_counts(days=DAYS)
    totals = dict.fromkeys(selectors.FEEDBACK_BUCKETS, 0)
    for by_bucket in counts.values():
        for bucket, count in by_bucket.items():
            totals[bucket] += count
    chart = charts.daily_chart(
        counts, colours=selectors.FEEDBACK_BUCKETS, nouns=("rating", "ratings"), labels=selectors.FEEDBACK_LABELS
    )
    reported = "?kind__exact=output&verdict_source__exact=user_feedback"
    context = {
        **admin.site.each_context(request),
        "title": "Feedback on replies",
        "days": DAYS,
        "chart": chart,
        "totals": [(bucket, selectors.FEEDBACK_LABELS[bucket], totals[bucket]) for bucket in totals],
        "reported_url": reverse("admin:security_blockedprompt_changelist") + reported,
    }
    return TemplateResponse(request, "admin/feedback_overview.html", context)
