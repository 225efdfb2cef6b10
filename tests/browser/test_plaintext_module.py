"""Plain titles (static/chatapp/plaintext.js) on their own: imported into the page as the module it is."""

import pytest
from django.templatetags.static import static

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAIN = """async ([url, texts]) => {
    const { plainText } = await import(url);
    return texts.map((text) => plainText(text));
}"""


@pytest.fixture
def plain(page):
    """Return each text as plainText makes it, with the page's own module."""
    page.goto("/")
    return lambda *texts: page.evaluate(PLAIN, [static("chatapp/plaintext.js"), list(texts)])


def test_a_title_that_starts_a_code_block_reads_without_its_fence(plain):
    assert plain("Code please ```js con…", "```python\nprint(1)\n```") == ["Code please js con…", "python print(1)"]


def test_emphasis_code_and_strike_markers_go_and_their_text_stays(plain):
    assert plain("**First** and *second*, ~~gone~~ and `code`", "***both*** __under__ _it_") == [
        "First and second, gone and code",
        "both under it",
    ]


def test_a_link_reads_as_its_text_never_its_url(plain):
    assert plain("[the docs](https://example.com/a?b=1) and ![a cat](https://x.example/cat.png)") == [
        "the docs and a cat"
    ]


def test_headings_quotes_lists_and_table_pipes_go(plain):
    assert plain("# Title", "> quoted", "- item\n2. next", "| a | b |\n|---|---|\n| 1 | 2 |") == [
        "Title",
        "quoted",
        "item next",
        "a b 1 2",
    ]


def test_words_with_underscores_and_plain_text_stay_as_they_are(plain):
    assert plain("snake_case_name stays", "Just a question? Yes: 3 > 2.", "  spaced\n\tout  ") == [
        "snake_case_name stays",
        "Just a question? Yes: 3 > 2.",
        "spaced out",
    ]


def test_nothing_gives_an_empty_title(plain):
    assert plain("", "```", None) == ["", "", ""]
