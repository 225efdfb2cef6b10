"""Reads for moderators: the queue's trend, its state, and the texts that come back most."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from security.models import BlockedPrompt


@dataclass(frozen=True)
class RepeatedText:
    text_hash: str
    text: str
    attempts: int
    last_seen_at: datetime


def blocked_prompt_daily_counts(*, days: int = 30, today: date | None = None) -> dict[date, dict[str, int]]:
    """Return, for each of the last `days` days (oldest first), blocked prompts first seen that day by category."""
    today = today or timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, int]] = {first_day + timedelta(days=n): {} for n in range(days)}
    rows = (
        BlockedPrompt.objects.filter(created_at__date__gte=first_day, created_at__date__lte=today)
        .annotate(day=TruncDate("created_at"))
        .values("day", "category")
        .annotate(count=Count("pk"))
    )
    for row in rows:
        counts[row["day"]][row["category"]] = row["count"]
    return counts


def blocked_prompt_status_counts() -> dict[str, int]:
    """Return the number of blocked prompts in each review status (every status present, zero included)."""
    counts = dict.fromkeys(BlockedPrompt.Status.values, 0)
    for row in BlockedPrompt.objects.values("status").annotate(count=Count("pk")):
        counts[row["status"]] = row["count"]
    return counts


def blocked_prompt_top_repeated(*, limit: int = 10) -> list[RepeatedText]:
    """Return the texts blocked most often (attempts summed over all their rows), most attempts first."""
    groups = list(
        BlockedPrompt.objects.values("text_hash")
        .annotate(attempts=Sum("repeat_count"), last_seen_at=Max("last_seen_at"), newest=Max("pk"))
        .order_by("-attempts", "-last_seen_at")[:limit]
    )
    texts = dict(BlockedPrompt.objects.filter(pk__in=[g["newest"] for g in groups]).values_list("pk", "text"))
    return [RepeatedText(g["text_hash"], texts[g["newest"]], g["attempts"], g["last_seen_at"]) for g in groups]
