"""`manage.py spend_release`: refund reservations left by invocations that died (for a schedule; optional)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand

from billing.services import holds_release_overdue, period_of


class Command(BaseCommand):
    help = "Refund today's and yesterday's reservations whose invocation can no longer be running."

    def handle(self, *args: Any, **options: Any) -> None:
        now = datetime.now(tz=UTC)
        for period in (period_of(now - timedelta(days=1)), period_of(now)):
            released = holds_release_overdue(period=period)
            self.stdout.write(f"{period}: {'released' if released else 'nothing overdue'}")
