"""The one way a string that is not the model's answer reaches an output.

Names, states, reasons, error messages, labels from the user's data: anything a
server or a dataset controls is shown as plain text. :func:`md` writes it so that
no Markdown renderer (marked in JupyterLab, mistune in nbconvert, Python-Markdown)
and no HTML parser reads anything in it: no tags, no links or autolinks, no
images, no emphasis, no block structure. The answer itself is made inert by
:mod:`gemini_magic.render`, which keeps its Markdown.
"""

from __future__ import annotations

import re

from ..secrets import redact

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Every ASCII punctuation character is escaped: backslash escapes display as the
# character itself in CommonMark, and HTML's specials become entities.
_MARKDOWN = str.maketrans(
    {c: "\\" + c for c in "!#$%()*+,-./:;=?@[\\]^_`{|}~"}
    | {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
)


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as one line of plain text: redacted, control and direction characters
    removed, whitespace collapsed, cut to ``limit`` characters (after redacting)."""
    flat = " ".join(_CONTROL.sub("", redact(str(text))).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat


def md(text: object, limit: int | None = None) -> str:
    """``text`` as inert Markdown (and HTML) that shows exactly :func:`one_line` of it."""
    return one_line(text, limit).translate(_MARKDOWN)


def code(text: object, limit: int | None = None) -> str:
    """``text`` as an inline code span (for names the user will type again), inert anywhere."""
    shown = one_line(text, limit)
    return "<code>" + shown.translate(_MARKDOWN) + "</code>"


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """What a reader sees of Markdown written with :func:`md`: escapes and entities undone."""
    import html

    return html.unescape(_ESCAPED.sub(r"\1", markdown))
