"""The live view looks like the final output: math typeset, code highlighted, no raw Markdown
markers in the open tail, and all of it as inert as the rest."""

import re

import pytest

from gemini_magic.render import IncrementalRenderer, inert_markdown, render_html, settle_open_tail


def live_html(text: str) -> str:
    renderer = IncrementalRenderer(typeset=True)
    renderer.feed(text)
    return renderer.html()


def test_math_is_typeset_while_streaming():
    html = live_html("The square $x^2$ and\n\n$$\\frac{a}{b}$$\n\nmore")
    assert html.count("<math") == 2 and "<msup>" in html and "<mfrac>" in html
    assert "$" not in html


@pytest.mark.parametrize("text", ["costs $5 and $10", "`$x$` in code", "a \\$ sign"])
def test_what_is_not_math_stays_text(text):
    assert "<math" not in live_html(text)


def test_code_is_highlighted_while_streaming_even_before_its_fence_closes():
    html = live_html("```python\nimport os\nx = '<b>'\n")
    assert '<span class="kn">import</span>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html


@pytest.mark.parametrize(
    "text, shown, hidden",
    [
        ("Some **bol", "<strong>bol</strong>", "**"),
        ("a `co", "<code>co</code>", "`"),
        ("see [the docs](https://exa", "the docs", "]("),
        ("text\n\n| a | b |\n", "text", "|"),
        ("end **", "end", "**"),
    ],
)
def test_the_open_tail_shows_no_raw_markers(text, shown, hidden):
    html = live_html(text)
    assert shown in html and hidden not in html


def test_a_table_shows_once_its_separator_row_is_there():
    assert "<table>" in live_html("| a | b |\n|---|---|\n| 1 |")


def test_settling_is_for_display_only_the_finished_answer_is_as_written():
    renderer = IncrementalRenderer(typeset=True)
    renderer.feed("Some **bol")
    renderer.finish()
    assert "**bol" in renderer.take_frozen()
    assert settle_open_tail("done.\n") == "done.\n"


@pytest.mark.parametrize(
    "evil",
    [
        "$\\href{javascript:alert(1)}{x}$",
        "$x$<img src=x onerror=alert(1)>",
        "$\\style{background:url(http://e/)}{x}$",
        "```python\n</code></pre><script>alert(1)</script>\n```",
        "```html\n<span onclick=alert(1) class=k>x</span>\n```",
    ],
)
def test_math_and_highlighting_stay_inert(evil):
    html = live_html(evil).lower()
    assert not re.search(r"<(script|img|style|iframe)\b", html), html
    assert not re.search(r"<[^>]*\s(on\w+|href|style|src)=", html), html  # no handlers, links or styles in tags


def test_the_final_output_keeps_its_tex_for_the_front_end_to_typeset():
    text = "A $x$ and\n```python\nx = 1\n```\n"
    assert "<span" not in render_html(text) and "<math" not in render_html(text)
    assert inert_markdown(text).count("$x$") == 1
