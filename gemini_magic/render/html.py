"""Inert Markdown to sanitized HTML: Python-Markdown, then an nh3 allow-list of Markdown's own tags."""

from __future__ import annotations

import re
import threading

import markdown
import nh3
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension

from .enrich import highlight_code, put_math, take_math
from .inert import inert_markdown
from .inline import SAFE_SCHEMES

_BLOCK_TAGS = {
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
    "blockquote",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_INLINE_TAGS = {"code", "em", "strong", "a", "del", "sup", "sub"}
_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}
_LANGUAGE_CLASS = re.compile(r"language-[\w#+.-]+")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":  # only fenced_code's class="language-python"
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    if tag == "img" and attribute == "src":  # no relative (server-side) image sources
        return value if value[:8].lower().startswith(("http://", "https://")) else None
    return value


def _cleaner(allow_images: bool) -> nh3.Cleaner:
    tags, attributes = _BLOCK_TAGS | _INLINE_TAGS, dict(_ATTRIBUTES)
    if allow_images:
        tags, attributes["img"] = tags | {"img"}, {"src", "alt", "title"}
    return nh3.Cleaner(
        tags=tags,
        attributes=attributes,
        attribute_filter=_attribute_filter,
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )


_CLEANERS = {False: _cleaner(False), True: _cleaner(True)}
_local = threading.local()  # one Markdown instance per thread: reset() is ~3x cheaper than a new one


def to_html(
    md_text: str, allow_images: bool, references: dict | None = None, *, typeset: bool = False
) -> tuple[str, dict]:
    """Sanitized HTML for inert Markdown, and the link references defined by then.

    ``references`` seeds definitions from earlier blocks rendered separately. ``typeset``
    also turns math into MathML and highlights fenced code (the live view's look).
    """
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(
            # Extension objects, not names: names cost a scan of installed packages.
            extensions=[FencedCodeExtension(), TableExtension(use_align_attribute=True), SaneListExtension()]
        )
    md.reset()
    if references:
        md.references.update(references)
    maths: list = []
    if typeset:
        md_text, maths = take_math(md_text)
    raw = md.convert(md_text)
    if not raw:
        return "", dict(md.references)
    clean = _CLEANERS[allow_images].clean(raw)
    if typeset:  # as the front end typesets the final output, here for the live one
        clean = put_math(highlight_code(clean), maths)
    return clean, dict(md.references)


def render_html(text: str, *, allow_images: bool = False) -> str:
    """Sanitized HTML for untrusted Markdown: :func:`inert_markdown`, Python-Markdown
    (``fenced_code``, ``tables``), then nh3 with an allow-list of Markdown's own tags."""
    return to_html(inert_markdown(text, allow_images=allow_images), allow_images)[0]
