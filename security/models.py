from django.conf import settings
from django.db import models


class BlockedPrompt(models.Model):
    """A message screening blocked: one row per distinct text (in its context) while it is pending review."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        CONFIRMED = "confirmed", "Confirmed malicious"
        FALSE_POSITIVE = "false_positive", "False positive"
        ACKNOWLEDGED = "acknowledged", "Acknowledged (model reply)"

    class Kind(models.TextChoices):
        INPUT = "input", "User message"
        OUTPUT = "output", "Model reply"

    text = models.TextField()
    text_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the screened text.")
    context = models.JSONField(
        default=list, blank=True, help_text="The earlier user turns the text was judged with, oldest first."
    )
    context_digest = models.CharField(
        max_length=64, blank=True, default="", help_text="Digest of the context; empty when judged alone."
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INPUT)
    category = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    verdict_source = models.CharField(max_length=16)
    model_id = models.CharField(max_length=200, blank=True)
    owner_hash = models.CharField(max_length=32, help_text="Keyed hash of the session or user; not reversible.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    repeat_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:60]
