"""The moderation queue: BlockedPrompt's changelist and detail page, its decisions, and the overview page."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from security import charts, selectors
from security.exceptions import DecisionNotApplicable, ModerationUnavailable
from security.models import BlockedPrompt
from security.services import moderation

Decision = Callable[..., BlockedPrompt]

# action name → (service, what it did for messages and the admin log, the status it leaves)
DECISIONS: dict[str, tuple[Decision, str, str]] = {
    "mark_false_positive": (
        moderation.blocked_prompt_mark_false_positive,
        "Marked false positive: text now passes",
        BlockedPrompt.Status.FALSE_POSITIVE,
    ),
    "confirm_block": (
        moderation.blocked_prompt_confirm_block,
        "Confirmed block: text now always blocked",
        BlockedPrompt.Status.CONFIRMED,
    ),
    "acknowledge": (
        moderation.blocked_prompt_acknowledge,
        "Acknowledged: withheld reply reviewed, nothing pinned",
        BlockedPrompt.Status.ACKNOWLEDGED,
    ),
    "reopen": (
        moderation.blocked_prompt_reopen,
        "Reopened: decision removed, text screened again",
        BlockedPrompt.Status.PENDING,
    ),
}
# A withheld model reply is not a message anyone sent: it is never pinned as an input verdict.
DECISIONS_BY_KIND = {
    BlockedPrompt.Kind.INPUT: ("mark_false_positive", "confirm_block", "reopen"),
    BlockedPrompt.Kind.OUTPUT: ("acknowledge", "reopen"),
}

# The queue has seven columns and a filter panel: the navigation sidebar (one link for a moderator, the same as
# the breadcrumbs) would push the repeat count and reviewer out of sight at ordinary widths.
FULL_WIDTH = {"is_nav_sidebar_enabled": False}


@admin.register(BlockedPrompt)
class BlockedPromptAdmin(admin.ModelAdmin):
    list_display = ["created_at", "excerpt", "category", "verdict_source", "status", "repeat_count", "reviewed_by"]
    list_filter = ["status", "kind", "category", "verdict_source", "created_at"]
    search_fields = ["text", "reason"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_select_related = ["reviewed_by"]
    actions = ["mark_false_positive", "confirm_block", "acknowledge", "reopen"]
    readonly_fields = [f.name for f in BlockedPrompt._meta.fields] + [
        "full_text",
        "context_turns",
        "other_attempts",
        "reviewer",
    ]
    fieldsets = [
        ("Message", {"fields": ["full_text", "context_turns", "other_attempts", "kind"]}),
        ("Screening verdict", {"fields": ["category", "reason", "verdict_source", "model_id"]}),
        ("Attempts", {"fields": ["created_at", "last_seen_at", "repeat_count", "owner_hash", "text_hash"]}),
        ("Review", {"fields": ["status", "reviewer", "reviewed_at"]}),
    ]

    @admin.display(description="Text")
    def excerpt(self, obj: BlockedPrompt) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description="Text")
    def full_text(self, obj: BlockedPrompt) -> str:
        return format_html('<div class="blocked-text">{}</div>', obj.text)

    @admin.display(description="Judged after")
    def context_turns(self, obj: BlockedPrompt) -> str:
        """Show the earlier user turns the text was judged with, oldest first: the decision is about this context."""
        if not obj.context:
            return "Nothing: the text was judged alone."
        turns = format_html_join("", '<li class="blocked-text">{}</li>', ((turn,) for turn in obj.context))
        return format_html('<ol class="context-turns">{}</ol>', turns)

    @admin.display(description="Same text")
    def other_attempts(self, obj: BlockedPrompt) -> str:
        others = BlockedPrompt.objects.filter(text_hash=obj.text_hash).exclude(pk=obj.pk).count()
        url = reverse("admin:security_blockedprompt_changelist") + f"?text_hash={obj.text_hash}"
        return format_html('<a href="{}">All attempts of this text</a> ({} other row(s))', url, others)

    @admin.display(description="Reviewed by")
    def reviewer(self, obj: BlockedPrompt) -> str:
        # Plain text: the default is a link to the user's admin page, which moderators may not open.
        return str(obj.reviewed_by) if obj.reviewed_by else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from screening only

    @admin.action(permissions=["change"], description="Mark false positive (let this text through)")
    def mark_false_positive(self, request: HttpRequest, queryset: QuerySet[BlockedPrompt]) -> None:
        self._decide(request, queryset, "mark_false_positive")

    @admin.action(permissions=["change"], description="Confirm block (always block this text)")
    def confirm_block(self, request: HttpRequest, queryset: QuerySet[BlockedPrompt]) -> None:
        self._decide(request, queryset, "confirm_block")

    @admin.action(permissions=["change"], description="Acknowledge (withheld model replies; pins nothing)")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[BlockedPrompt]) -> None:
        self._decide(request, queryset, "acknowledge")

    @admin.action(permissions=["change"], description="Reopen (remove the decision, screen again)")
    def reopen(self, request: HttpRequest, queryset: QuerySet[BlockedPrompt]) -> None:
        self._decide(request, queryset, "reopen")

    def _decide(self, request: HttpRequest, queryset: QuerySet[BlockedPrompt], action: str) -> None:
        """Apply one decision to each row it fits; stop at the first storage failure and say what was done."""
        service, done, _ = DECISIONS[action]
        decided = 0
        skipped = 0
        for blocked_prompt in queryset:
            try:
                service(blocked_prompt=blocked_prompt, reviewer=request.user)
            except DecisionNotApplicable:
                skipped += 1
                continue
            except ModerationUnavailable:
                self.message_user(
                    request,
                    f"The verdict store is unavailable: {decided} row(s) decided, the rest left unchanged. Retry.",
                    messages.ERROR,
                )
                return
            self.log_change(request, blocked_prompt, done)
            decided += 1
        if skipped:
            label = self.get_action(action)[2]
            self.message_user(request, f"{skipped} row(s) skipped: “{label}” does not apply.", messages.WARNING)
        self.message_user(request, f"{done} ({decided} row(s)).", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("overview/", view(self.overview_view), name="security_blockedprompt_overview"),
            path("<path:object_id>/decide/", view(self.decide_view), name="security_blockedprompt_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Apply the decision posted from a row's detail page (POST with CSRF), then show the row again."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        blocked_prompt = self.get_object(request, object_id)
        if blocked_prompt is None:
            raise Http404
        action = request.POST.get("action", "")
        if action not in DECISIONS:
            return HttpResponseBadRequest("Unknown decision.")
        self._decide(request, BlockedPrompt.objects.filter(pk=blocked_prompt.pk), action)
        return HttpResponseRedirect(reverse("admin:security_blockedprompt_change", args=[blocked_prompt.pk]))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**FULL_WIDTH, **(extra_context or {})})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Every field is evidence, so there is nothing to save: decisions are the buttons above the form.
        no_save_buttons = dict.fromkeys(["show_save", "show_save_and_continue", "show_save_and_add_another"], False)
        row = self.get_object(request, object_id)
        applicable = DECISIONS_BY_KIND[BlockedPrompt.Kind(row.kind)] if row else ()
        decisions = [(name, self.get_action(name)[2], DECISIONS[name][2]) for name in applicable]
        context = {**FULL_WIDTH, **no_save_buttons, "decisions": decisions}
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Show the trend of blocked prompts over 30 days, the queue's state and the most repeated texts."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        status_counts = selectors.blocked_prompt_status_counts()
        context = {
            **self.admin_site.each_context(request),
            **FULL_WIDTH,
            "title": "Moderation overview",
            "opts": self.opts,
            "chart": charts.daily_chart(selectors.blocked_prompt_daily_counts(days=30)),
            "statuses": [(s, label, status_counts[s]) for s, label in BlockedPrompt.Status.choices],
            "top_texts": selectors.blocked_prompt_top_repeated(limit=10),
            "changelist_url": reverse("admin:security_blockedprompt_changelist"),
        }
        return TemplateResponse(request, "admin/security/blockedprompt/overview.html", context)
