from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from core.cloudwatch import cloudwatch_ensure


class Command(BaseCommand):
    help = "Set the stage's log retention, alarms and dashboard in CloudWatch (idempotent; deployer credentials)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--stage", help="the Zappa stage (default: STAGE, which Zappa sets on Lambda)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcomes = cloudwatch_ensure(stage=options["stage"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        for outcome in outcomes:
            self.stdout.write(f"{outcome.kind} {outcome.name}: {outcome.state}")
