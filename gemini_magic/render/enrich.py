"""What the front end adds to the final Markdown output, done in the kernel for the live view:
typeset math (TeX to MathML, which browsers render natively) and highlighted code (Pygments
token classes, coloured by the live view's CSS with JupyterLab's CodeMirror theme variables).

Both run on untrusted text, so both outputs pass an nh3 allow-list of their own: MathML
elements with presentation attributes only (no ``href``, no event handlers), and ``span``
elements whose only attribute is a Pygments token class.
"""

from __future__ import annotations

import functools
import html
import re

import nh3

# $$...$$, \[...\], \(...\) and $...$ (no space inside the dollars, no digit after the
# closing one: "$5 and $10" is not math), outside code spans.
_MATH = re.compile(
    r"(?P<code>(`+).*?\2)"
    r"|\$\$(?P<display>.+?)\$\$|\\\[(?P<bracket>.+?)\\\]|\\\((?P<paren>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<inline>[^\s$`](?:[^$\n`]*?[^\s$\\`])?)\$(?!\d)",
    re.S,
)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")

_MATHML_TAGS = {
    "math",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "semantics",
    "annotation",
}
_MATHML_ATTRIBUTES = {
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "lspace",
    "rspace",
    "accent",
    "accentunder",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "form",
    "minsize",
    "maxsize",
    "movablelimits",
    "largeop",
    "symmetric",
    "width",
    "height",
    "depth",
    "notation",
    "linethickness",
    "scriptlevel",
    "displaystyle",
    "encoding",
}
_MATHML = nh3.Cleaner(
    tags=_MATHML_TAGS, attributes=dict.fromkeys(_MATHML_TAGS, _MATHML_ATTRIBUTES), link_rel=None, url_schemes=set()
)

_TOKEN_CLASS = re.compile(r"[a-z]{1,3}\d?")
_CODE_BLOCK = re.compile(r'<pre><code class="language-([\w#+.-]+)">(.*?)</code></pre>', re.S)
_SPANS = nh3.Cleaner(
    tags={"span"},
    attributes={"span": {"class"}},
    link_rel=None,
    url_schemes=set(),
    attribute_filter=lambda tag, name, value: value if _TOKEN_CLASS.fullmatch(value) else None,
)


def take_math(markdown: str) -> tuple[str, list[str]]:
    """``markdown`` with each math span replaced by a placeholder, and the spans' MathML."""
    maths: list[str] = []

    def replace(match: re.Match) -> str:
        if match.group("code"):
            return match.group(0)
        tex = match.group("inline") or match.group("paren")
        display = tex is None
        tex = html.unescape(tex if tex is not None else match.group("display") or match.group("bracket"))
        mathml = _to_mathml(tex, display)
        if mathml is None:
            return match.group(0)
        maths.append(mathml)
        return f"\ue000{len(maths) - 1}\ue001"

    if "$" not in markdown and "\\(" not in markdown and "\\[" not in markdown:
        return markdown, maths
    return _MATH.sub(replace, markdown), maths


def put_math(html_text: str, maths: list[str]) -> str:
    if not maths:
        return html_text
    return _PLACEHOLDER.sub(lambda m: maths[int(m.group(1))] if int(m.group(1)) < len(maths) else "", html_text)


def _to_mathml(tex: str, display: bool) -> str | None:
    try:
        from latex2mathml.converter import convert

        mathml = convert(tex, display="block" if display else "inline")
    except Exception:  # TeX it cannot read stays as written, like a TeX error in MathJax
        return None
    return _MATHML.clean(mathml)


def highlight_code(html_text: str) -> str:
    """Fenced code blocks with a known language get Pygments token spans."""
    if "<pre><code class=" not in html_text:
        return html_text
    return _CODE_BLOCK.sub(_highlighted, html_text)


def _highlighted(match: re.Match) -> str:
    from pygments import highlight

    language, escaped = match.groups()
    lexer = _lexer(language.lower())
    if lexer is None:
        return match.group(0)
    spans = highlight(html.unescape(escaped), lexer, _formatter()).rstrip("\n")
    if escaped.endswith("\n"):
        spans += "\n"
    return f'<pre><code class="language-{language}">{_SPANS.clean(spans)}</code></pre>'


# Looking a lexer up by name and building a formatter (its style sheet) cost more than
# highlighting a short block; both hold no state between calls, so each is made once.
@functools.lru_cache(maxsize=64)
def _lexer(language: str):
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


@functools.cache
def _formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)
