from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from billing.admin import usage_view
from billing.apis import UsageGetApi
from chatapp import apis, views
from chatapp.history import admin as history_admin
from chatapp.history import apis as history_apis

api_v1 = [
    path("session", apis.SessionApi.as_view(), name="session"),
    path("ai/chat", apis.ChatApi.as_view(), name="chat"),
    path("conversations", apis.ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/<str:conversation_id>", apis.ConversationDetailApi.as_view(), name="conversation-detail"),
    path(
        "conversations/<str:conversation_id>/export",
        history_apis.ConversationExportApi.as_view(),
        name="conversation-export",
    ),
    path(
        "conversations/<str:conversation_id>/messages/<str:message_id>/feedback",
        history_apis.ReplyFeedbackApi.as_view(),
        name="reply-feedback",
    ),
    path("health", apis.HealthApi.as_view(), name="health"),
    path("usage", UsageGetApi.as_view(), name="usage"),
    path("schema", SpectacularJSONAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("", views.chat_page, name="chat-page"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("admin/usage/", admin.site.admin_view(usage_view), name="admin-usage"),
    path("admin/feedback/", admin.site.admin_view(history_admin.feedback_overview), name="feedback-overview"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
]

handler400 = "chatapp.views.bad_request"
handler404 = "chatapp.views.not_found"
