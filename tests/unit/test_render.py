"""How model output is made safe to show, at once and while it streams."""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_magic.render import IncrementalRenderer, inert_markdown, render_html

MARKDOWN_TAGS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "pre",
    "code",
    "blockquote",
    "em",
    "strong",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "br",
    "del",
    "sup",
    "sub",
    "img",
}


def tags(html):
    """The (tag, attributes) of every element in html, as a browser would parse it."""
    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


# --------------------------------------------------------------------------- raw HTML is text


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        '<iframe src="https://evil.example"></iframe>',
        '<form action="https://evil.example"><input name=p></form>',
        "<style>body { display: none }</style>",
        "<!-- hidden --><object data=x></object>",
        "para\n\n<div onclick=alert(1)>\nblock html\n</div>",
        "\\<script>alert(1)</script>",
    ],
)
def test_raw_html_is_shown_as_text(attack):
    markdown = inert_markdown(attack)
    assert not re.search(r"<[A-Za-z/!?]", markdown)  # no tag can start anywhere
    html = render_html(attack)
    assert [tag for tag, _ in tags(html)] == ["p"] * html.count("<p>")  # only paragraphs of text
    assert "&lt;" in html  # ...showing the HTML as text


def test_plain_comparisons_and_ampersands_are_untouched():
    assert inert_markdown("if a < b & b > c: x <= 3") == "if a < b & b > c: x <= 3"
    assert render_html("a < b & c") == "<p>a &lt; b &amp; c</p>"


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1) )",
        "[x](java&#x09;script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](file:///etc/passwd)",
        "[x](\njavascript:alert(1))",
        "> [x](java\n> script:alert(1))",
        "[x][id]\n\n[id]: javascript:alert(1)",
        "[x][id]\n\n[id]:\n  <javascript:alert(1)>",
        "- [id]: data:text/html,hi\n\n[id]",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_neutralized(text):
    html = render_html(text)
    urls = [attrs.get("href") or "" for _, attrs in tags(html)]
    assert all(url == "" or url.startswith("#") for url in urls)
    markdown = inert_markdown(text)
    assert not re.search(r"\]\(\s*<?(java|vb)script|\]:\s*<?(java|data)", markdown, re.I)


def test_neutralized_link_keeps_its_text():
    assert inert_markdown("[click me](javascript:alert(1))") == "[click me](#alert(1))"
    assert ">click me</a>" in render_html("[click me](javascript:alert(1))")


def test_safe_links_are_kept_with_rel():
    html = render_html("See [docs](https://example.com/a?b=1&c=2) or [mail](mailto:a@b.c) or [rel](page.html).")
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">docs</a>' in html
    assert 'href="mailto:a@b.c"' in html
    assert 'href="page.html"' in html


def test_http_autolinks_still_link():
    assert render_html("<https://example.com/a_b>") == (
        '<p><a href="https://example.com/a_b" rel="noopener noreferrer nofollow">https://example.com/a_b</a></p>'
    )


def test_reference_links_work():
    html = render_html("Read [the docs][d].\n\n[d]: https://example.com")
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">the docs</a>' in html


def test_prose_with_brackets_and_colons_is_left_alone():
    text = "Note: x[0]: first item, see [1]. Ratio: 3:1"
    assert inert_markdown(text) == text


# --------------------------------------------------------------------------- images


def test_remote_images_become_links_by_default():
    text = "![a chart](http://evil.example/x.png?secret=1)"
    assert inert_markdown(text) == "[🖼 a chart](http://evil.example/x.png?secret=1)"
    html = render_html(text)
    assert "<img" not in html
    assert '<a href="http://evil.example/x.png?secret=1" rel="noopener noreferrer nofollow">🖼 a chart</a>' in html


def test_reference_images_become_links_too():
    html = render_html("![a][i]\n\n[i]: http://evil.example/x.png", allow_images=True)
    assert "<img" not in html and "🖼 a" in html


def test_allow_images_keeps_only_http_images():
    assert render_html("![a](https://example.com/x.png)", allow_images=True) == (
        '<p><img alt="a" src="https://example.com/x.png"></p>'
    )
    for src in ("data:image/png;base64,AAAA", "x.png", "javascript:alert(1)"):
        html = render_html(f"![a]({src})", allow_images=True)
        assert "<img" not in html and "🖼 a" in html


# --------------------------------------------------------------------------- code


def test_html_in_a_fenced_block_is_displayed_as_code():
    html = render_html("```html\n<script>alert(1)</script>\n```")
    assert html == '<pre><code class="language-html">&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>'


def test_html_in_an_indented_block_is_displayed_as_code():
    assert (
        render_html("Example:\n\n    <b>bold</b>")
        == "<p>Example:</p>\n<pre><code>&lt;b&gt;bold&lt;/b&gt;\n</code></pre>"
    )


def test_inline_code_with_html_is_shown_literally():
    assert render_html("Use `<b>` for bold.") == "<p>Use <code>&lt;b&gt;</code> for bold.</p>"
    assert render_html("Index `a[0]` and `x < y`.") == "<p>Index <code>a[0]</code> and <code>x &lt; y</code>.</p>"


def test_unclosed_fence_is_code_to_the_end():
    assert render_html("```python\nprint('<b>')") == (
        "<pre><code class=\"language-python\">print('&lt;b&gt;')\n</code></pre>"
    )


def test_fence_nested_in_a_list_stays_code():
    html = render_html("*   Install:\n    ```bash\n    pip install <pkg>\n    ```")
    assert '<pre><code class="language-bash">pip install &lt;pkg&gt;\n</code></pre>' in html


def test_code_in_text_positions_does_not_hide_links():
    # A backtick inside a link destination must not start code that hides what follows.
    html = render_html("[a](x`y) <b>`")
    assert "<b>" not in html


# --------------------------------------------------------------------------- ordinary Markdown


def test_ordinary_markdown_renders_as_expected():
    text = (
        "# Title\n\n"
        "Some *emphasis*, **strong** and `code`.\n\n"
        "- one\n- two\n\n"
        "Then:\n\n"
        "1. first\n2. second\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        "```python\nx = 1\n```\n\n"
        "> quoted\n\n"
        "---\n"
    )
    assert render_html(text) == (
        "<h1>Title</h1>\n"
        "<p>Some <em>emphasis</em>, <strong>strong</strong> and <code>code</code>.</p>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        "<p>Then:</p>\n"
        "<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n"
        '<table>\n<thead>\n<tr>\n<th align="left">a</th>\n<th align="right">b</th>\n</tr>\n</thead>\n'
        '<tbody>\n<tr>\n<td align="left">1</td>\n<td align="right">2</td>\n</tr>\n</tbody>\n</table>\n'
        '<pre><code class="language-python">x = 1\n</code></pre>\n'
        "<blockquote>\n<p>quoted</p>\n</blockquote>\n"
        "<hr>"
    )


def test_line_endings_do_not_matter():
    assert render_html("a\r\n\r\nb\rc") == render_html("a\n\nb\nc")


# --------------------------------------------------------------------------- streaming

PIECES = [
    "# Head",
    "## Sub",
    "- item",
    "* star item",
    "1. item",
    "2) item",
    "  - nested",
    "    indented",
    "        deeper",
    "```python",
    "```",
    "````",
    "~~~",
    "  ```",
    "    ```js",
    "| a | b |",
    "|---|:-:|",
    "> quote",
    "> ```",
    "",
    "",
    "",
    "   ",
    "\t",
    "\tcode",
    "text with *em* and `code`",
    "`a <b> c`",
    "``x`` and `` ` ``",
    "[l](http://x)",
    "[l](http://x",
    "![img](http://x/i.png)",
    "[id]: http://x",
    "[id]",
    "[t][id]",
    "- [ ] task",
    "[x]: javascript:y",
    "<b>raw</b>",
    "<https://x.org>",
    "a < b & c",
    "é漢字😀",
    "\u00a0",
    "---",
    "===",
    "plain words",
    "\\[not a link]",
    "tab\there",
]


@st.composite
def markdownish(draw):
    lines = draw(st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map(" ".join), max_size=25))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline]))


@st.composite
def split(draw, text):
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def text_and_chunks(draw):
    text = draw(markdownish())
    return text, draw(split(text))


def stream(chunks, allow_images=False, poll_every=1):
    """Feed chunks like the live view does; return (renderer, every piece it was handed)."""
    renderer = IncrementalRenderer(allow_images=allow_images)
    pieces = []
    for i, chunk in enumerate(chunks):
        renderer.feed(chunk)
        if i % poll_every == 0:
            pieces.append(renderer.take_frozen())
            renderer.tail_html()
    renderer.finish()
    return renderer, pieces


@settings(max_examples=300, deadline=None)
@given(text_and_chunks(), st.booleans(), st.integers(1, 3))
def test_streaming_gives_the_one_shot_html(case, allow_images, poll_every):
    text, chunks = case
    renderer, pieces = stream(chunks, allow_images, poll_every)
    expected = render_html(text, allow_images=allow_images)
    assert renderer.text == text
    assert renderer.html() == expected
    assert "".join(pieces) + renderer.tail_html() == expected
    assert "".join(pieces) + renderer.take_frozen() == expected  # or take the rest as frozen
    assert renderer.tail_html() == ""


# --------------------------------------------------------------------------- inert without a sanitizer

NASTY = [
    "<",
    ">",
    "`",
    "``",
    "```",
    "~~~",
    "[",
    "]",
    "(",
    ")",
    "![",
    "](",
    "]:",
    "\\",
    ":",
    "!",
    "*",
    "_",
    "|",
    '"',
    "'",
    "&",
    "&#x09;",
    "&#106;",
    "&colon;",
    "&lt;",
    "javascript",
    "JaVa",
    "script",
    "data",
    "vbscript",
    "b",
    "img src=x onerror=alert(1)",
    "http://x",
    "https://x/y",
    "mailto:m",
    " ",
    "\t",
    "\n",
    "\n\n",
    "\n> ",
    "\n- ",
    "\n1) ",
    "\n    ",
    "\n  ",
    "x",
]

SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def unsafe_url(url):
    url = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(33))))  # what a browser ignores
    m = SCHEME.match(url)
    return m is not None and m.group(1).lower() not in ("http", "https", "mailto")


def assert_inert(html, allow_images):
    for tag, attrs in tags(html):
        assert tag in MARKDOWN_TAGS, html
        assert set(attrs) <= {"href", "title", "src", "alt", "class", "align", "rel"}, html
        assert not any(unsafe_url(attrs.get(name) or "") for name in ("href", "src")), html
        if tag == "img":
            assert allow_images and attrs["src"].startswith(("http://", "https://")), html


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(NASTY), max_size=40).map("".join), st.booleans())
def test_inert_markdown_needs_no_sanitizer(text, allow_images):
    # Rendered by Python-Markdown, which does not sanitize: still only Markdown's own
    # tags, no event handlers, no dangerous URLs, no images unless allowed.
    import markdown

    inert = inert_markdown(text, allow_images=allow_images)
    assert_inert(markdown.markdown(inert, extensions=["fenced_code", "tables"]), allow_images)
    assert_inert(render_html(text, allow_images=allow_images), allow_images)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NASTY), max_size=40).map("".join), st.booleans())
def test_inert_markdown_is_inert_for_mistune_too(text, allow_images):
    mistune = pytest.importorskip("mistune")  # nbconvert's renderer
    inert = inert_markdown(text, allow_images=allow_images)
    render = mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])
    assert_inert(render(inert), allow_images)


@pytest.mark.parametrize(
    ("text", "written_as"),
    [
        # A definition whose address would be the next line: marked and mistune take the fence line.
        ("[id]:\n```\n<b>x</b>\n```", "[id]&#58;\n```"),
        # A title running on over lines (marked) or starting on the next line.
        ('[id]: /url "\n\n```\nx"\n<b>x</b>\n```', "[id]: /url &quot;"),
        ("[id]: /url\n(t\n```\n<b>x</b>)\n```", "\n&#40;t\n"),
        # A label running on over lines (marked) or blank lines (mistune): the fence is not trusted.
        ("[\n~~~\n]: x\n<b>x</b>\n~~~", "&#126;~~\n]: x\n&lt;b>"),
        ("![a\n\n```\n]: x\n<b>x</b>\n```", "&#96;&#96;&#96;\n]: x\n&lt;b>"),
        # U+2028 is blank to marked (JavaScript's \s): the list goes on, the tab line is no code.
        ("1) item\n\n\u2028\n\t<b>x</b>", "\t&lt;b>x"),
        # "!" before a link we wrote would make it an image.
        ("!![a](http://x/i.png)", "&#33;[🖼 a]"),
        ("x!<https://x.org>", "x&#33;[https"),
    ],
)
def test_fences_and_images_cannot_be_smuggled_past_other_renderers(text, written_as):
    # Found by fuzzing against marked (JupyterLab), markdown-it and mistune (nbconvert).
    inert = inert_markdown(text)
    assert written_as in inert
    mistune = pytest.importorskip("mistune")
    assert_inert(mistune.create_markdown(escape=False)(inert), allow_images=False)


def test_a_carriage_return_split_from_its_newline_is_one_line_break():
    renderer, _ = stream(["para one\r", "\n\r", "\npara two\r"])
    assert renderer.text == "para one\r\n\r\npara two\r"
    assert renderer.html() == "<p>para one</p>\n<p>para two</p>"


def test_finished_blocks_are_frozen_while_streaming():
    text = "".join(f"Paragraph {i} with *some* words and a [link](https://x.org/{i}).\n\n" for i in range(20))
    renderer = IncrementalRenderer()
    frozen = []
    for i in range(0, len(text), 7):
        renderer.feed(text[i : i + 7])
        frozen.append(renderer.take_frozen())
    assert sum(piece.count("<p>") for piece in frozen) == 19  # all but the last paragraph
    assert (
        renderer.tail_html() == "\n<p>Paragraph 19 with <em>some</em> words and a "
        '<a href="https://x.org/19" rel="noopener noreferrer nofollow">link</a>.</p>'
    )
    renderer.finish()
    assert "".join(frozen) + renderer.tail_html() == render_html(text)


def test_a_late_reference_definition_still_links_earlier_text():
    text = "See [the docs][d].\n\nMore text.\n\nAnd more.\n\n[d]: https://example.com\n"
    renderer = IncrementalRenderer()
    frozen = []
    for line in text.splitlines(keepends=True):
        renderer.feed(line)
        frozen.append(renderer.take_frozen())
    # The block that may use a reference was held back, not frozen too early.
    assert "the docs" not in "".join(frozen)
    assert 'href="https://example.com"' in renderer.tail_html()
    renderer.finish()
    assert "".join(frozen) + renderer.tail_html() == render_html(text)


def test_feed_after_finish_is_an_error():
    renderer = IncrementalRenderer()
    renderer.finish()
    with pytest.raises(RuntimeError):
        renderer.feed("x")
