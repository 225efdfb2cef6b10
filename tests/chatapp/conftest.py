from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

CHAT_URL = "/api/v1/ai/chat"


class ApiClient:
    """A cookie client like the page: gets a session and CSRF token, then sends JSON with X-CSRFToken."""

    def __init__(self, *, same_session_as: "ApiClient | None" = None) -> None:
        self.http = Client(enforce_csrf_checks=True)
        if same_session_as is not None:  # another tab: same cookies, its own (thread-confined) client
            self.http.cookies = same_session_as.http.cookies.__class__(same_session_as.http.cookies)
            self.csrf_token = same_session_as.csrf_token
            return
        session = self.http.get("/api/v1/session")
        assert session.status_code == 200
        self.csrf_token = session.json()["csrf_token"]

    def chat(self, message: Any = None, **fields: Any) -> Any:
        body = {"message": message, **fields} if message is not None else fields
        return self.post(CHAT_URL, body)

    def post(self, url: str, body: Any) -> Any:
        return self.http.post(url, body, content_type="application/json", headers={"X-CSRFToken": self.csrf_token})

    def get(self, url: str) -> Any:
        return self.http.get(url)

    def delete(self, url: str) -> Any:
        return self.http.delete(url, headers={"X-CSRFToken": self.csrf_token})


@pytest.fixture
def api(db: None) -> ApiClient:
    return ApiClient()


@pytest.fixture
def other_api(db: None) -> ApiClient:
    return ApiClient()


@pytest.fixture
def moderator_client(db: None) -> Client:
    """An admin client logged in as a member of the moderators group."""
    user = User.objects.create_user("mod", password="mod-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    client = Client()
    client.force_login(user)
    return client
