import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from tests.support import ApiClient


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
