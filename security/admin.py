from django.contrib import admin

from security.models import BlockedPrompt


@admin.register(BlockedPrompt)
class BlockedPromptAdmin(admin.ModelAdmin):
    list_display = ["created_at", "excerpt", "category", "verdict_source", "status", "repeat_count", "reviewed_by"]
    list_filter = ["status", "category", "created_at"]
    search_fields = ["text", "reason"]
    readonly_fields = [field.name for field in BlockedPrompt._meta.fields]

    @admin.display(description="Text")
    def excerpt(self, obj: BlockedPrompt) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"
