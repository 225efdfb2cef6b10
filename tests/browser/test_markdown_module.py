"""The Markdown renderer (static/chatapp/markdown.js) on its own: imported into the page as the module it is."""

import pytest
from django.templatetags.static import static

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = 'rel="noopener noreferrer nofollow" target="_blank"'
RENDER = """async ([url, texts]) => {
    const { renderMarkdown } = await import(url);
    return texts.map((text) => {
        const box = document.createElement("div");
        box.append(renderMarkdown(text));
        return box.innerHTML;
    });
}"""
# Everything the renderer may ever produce; no attribute beyond these (no on* handler, no style, no src).
ALLOWED_TAGS = {
    "h3", "h4", "h5", "h6", "p", "br", "strong", "em", "s", "code", "pre", "a", "ul", "ol", "li", "blockquote",
    "hr", "div", "span", "button", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"class", "href", "rel", "target", "start", "type", "aria-label", "tabindex"}
HOSTILE = [
    '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>',
    "<svg onload=window.__xss=3>",
    "# <iframe src=javascript:window.__xss=4>",
    "- <a href=javascript:window.__xss=5>x</a>\n- **<b onclick=window.__xss=6>**",
    "[click](javascript:window.__xss=7) [data](data:text/html,hi) [vb](vbscript:msgbox)",
    '[a](https://x.example/"onmouseover="window.__xss=8)',
    "```\n</code></pre><script>window.__xss=9</script>\n```",
    "| <img src=x onerror=window.__xss=10> | b |\n|---|---|\n| `<script>` | [x](javascript:y) |",
    "> <style>body{display:none}</style>\n> &lt;escaped&gt; &amp;",
    "`" * 3000 + "*" * 3000 + "[" * 3000,
]


@pytest.fixture
def chat_page(page):
    """The chat page, whose CSP and static files the module is imported under."""
    page.goto("/")
    return page


@pytest.fixture
def render(chat_page):
    """Render Markdown texts with the page's own module; return each one's HTML."""
    return lambda *texts: chat_page.evaluate(RENDER, [static("chatapp/markdown.js"), list(texts)])


def test_headings_sit_below_the_page_headings(render):
    assert render("# Title\n\n###### Six") == ["<h3>Title</h3><h6>Six</h6>"]


def test_lists_nest_and_keep_their_numbering(render):
    bullets, numbered = render("- a\n- b\n  - nested", "3. c\n4. d")
    assert bullets == "<ul><li><p>a</p></li><li><p>b</p><ul><li><p>nested</p></li></ul></li></ul>"
    assert numbered == '<ol start="3"><li><p>c</p></li><li><p>d</p></li></ol>'


def test_code_keeps_markup_as_text_and_gets_a_copy_button(render):
    block, inline = render("```html\n<script>alert(1)</script>\n```", "`<b>` **bold** *em* ~~gone~~")
    assert block == (
        '<div class="code-block"><div class="code-header"><span class="code-language">html</span>'
        '<button class="code-copy" type="button" aria-label="Copy html code">Copy</button></div>'
        '<pre tabindex="0"><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre></div>'
    )
    assert inline == "<p><code>&lt;b&gt;</code> <strong>bold</strong> <em>em</em> <s>gone</s></p>"


def test_only_web_and_mail_links_become_links(render):
    (html,) = render(
        "[docs](https://example.com/docs) [mail](mailto:a@example.com) [x](javascript:window.__xss=1) "
        "[y](JaVaScRiPt:window.__xss=2) see https://example.com/a?b=1."
    )
    assert html == (
        f'<p><a href="https://example.com/docs" {LINK}>docs</a> <a href="mailto:a@example.com" {LINK}>mail</a> '
        f'x y see <a href="https://example.com/a?b=1" {LINK}>https://example.com/a?b=1</a>.</p>'
    )


def test_html_in_the_text_is_shown_as_text(render):
    (html,) = render('<img src=x onerror="window.__xss=1"> & <b>not bold</b>')
    assert html == '<p>&lt;img src=x onerror="window.__xss=1"&gt; &amp; &lt;b&gt;not bold&lt;/b&gt;</p>'


def test_hostile_input_builds_only_the_renderers_own_elements_and_runs_nothing(chat_page):
    found = chat_page.evaluate(
        """async ([url, texts]) => {
            const { renderMarkdown } = await import(url);
            const box = document.createElement("div");
            for (const text of texts) box.append(renderMarkdown(text));
            document.body.append(box);  // connected, so anything that could run or load would
            await new Promise((resolve) => setTimeout(resolve, 200));
            const elements = [...box.querySelectorAll("*")];
            const links = [...box.querySelectorAll("a")].map((a) => new URL(a.href).protocol);
            return {
                tags: [...new Set(elements.map((e) => e.localName))],
                attributes: [...new Set(elements.flatMap((e) => e.getAttributeNames()))],
                protocols: [...new Set(links)],
                xss: typeof window.__xss,
            };
        }""",
        [static("chatapp/markdown.js"), HOSTILE],
    )
    assert set(found["tags"]) <= ALLOWED_TAGS, found
    assert set(found["attributes"]) <= ALLOWED_ATTRIBUTES, found
    assert set(found["protocols"]) <= {"https:"}, found
    assert found["xss"] == "undefined"
