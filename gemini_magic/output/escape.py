"""Text from a server or a record file, made inert for a Markdown (and HTML) output line.

One small function, to be swapped for the shared escape helper when it lands.
"""

from __future__ import annotations

import re

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Emphasis, code, links and images, strikethrough, $ math; "_" only where it could open or close
# emphasis (snake_case stays as written); "|" for table cells.
_MARKDOWN = re.compile(r"([\\`*\[\]~$|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def inline_text(text: str) -> str:
    """``text`` on one line, shown as written: HTML entities for ``& < > "``, a backslash
    before the Markdown punctuation that could act (links, emphasis, code, ``$`` math)."""
    flat = " ".join(str(text).split())
    flat = _MARKDOWN.sub(r"\\\1", flat)
    return "".join(_HTML.get(c, c) for c in flat)
