import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chat_page_loads_in_chromium(page):
    page.goto("/")
    assert page.title() == "Guarded chat"
    assert page.get_by_label("Message").is_visible()
