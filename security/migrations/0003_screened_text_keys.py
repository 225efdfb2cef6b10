"""Key moderation on the exact screened text, as screening now does (security.policy).

Rows are regrouped by the digest of their screened text, and every moderator decision on a user message is
pinned again under the new key. Pins under the old, casefolded key are deleted: left alone they would never
be read again, but a decision must not linger where it could be mistaken for a live one. Decisions on model
replies (kind "output") are not pinned: a reply is not a message anyone sends. Idempotent, so a run that
DynamoDB interrupted can simply be repeated (`zappa manage <stage> migrate`).
"""

import hashlib

from django.db import migrations, models

DECIDED = {
    "false_positive": ("safe", "A moderator marked this a false positive."),
    "confirmed": ("malicious", "A moderator confirmed this block."),
}


def rekey_decisions(apps, schema_editor):
    from security.policy import normalise, pin_key, screened_text, text_hash
    from security.repositories import intent_verdict_delete, intent_verdict_put

    BlockedPrompt = apps.get_model("security", "BlockedPrompt")
    for row in BlockedPrompt.objects.all().iterator():
        screened = screened_text(row.text)
        if row.text_hash != text_hash(screened):
            BlockedPrompt.objects.filter(pk=row.pk).update(text_hash=text_hash(screened))
        if row.status not in DECIDED:
            continue
        intent_verdict_delete(f"pin#{hashlib.sha256(normalise(row.text).encode()).hexdigest()}")
        if row.kind != "input":
            continue
        verdict, reason = DECIDED[row.status]
        intent_verdict_put(
            key=pin_key(screened),
            verdict=verdict,
            category="none" if verdict == "safe" else row.category,
            reason=f"{reason} (blocked prompt #{row.pk})",
            source="moderator",
            model_id="",
            ttl=None,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0002_moderators_group"),
    ]

    operations = [
        migrations.AlterField(
            model_name="blockedprompt",
            name="text_hash",
            field=models.CharField(db_index=True, help_text="SHA-256 of the screened text.", max_length=64),
        ),
        migrations.RunPython(rekey_decisions, migrations.RunPython.noop),
    ]
