from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class PersonCeiling(models.Model):
    """A person's own daily spending ceiling, over the default (BUDGET_USER_DAILY_USD); 0 pauses them."""

    # The admin's record of it: the chat reads the copy that saving this writes to the ledger table (DynamoDB), so
    # a message never touches the ORM for it.

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spending_ceiling")
    daily_usd = models.DecimalField(
        "daily ceiling (USD)",
        max_digits=9,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="What this person may spend per UTC day, in place of the default; 0 pauses them.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "personal spending ceiling"

    def __str__(self) -> str:
        return f"{self.user}: ${self.daily_usd}/day"
