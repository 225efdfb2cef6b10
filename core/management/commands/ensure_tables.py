from typing import Any

from django.core.management.base import BaseCommand

from core.dynamodb import ensure_table, registered_tables


class Command(BaseCommand):
    help = "Create the DynamoDB tables that are missing (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for model in registered_tables():
            created = ensure_table(model)
            state = "created" if created else "exists"
            self.stdout.write(f"{model.Meta.table_name}: {state}")
