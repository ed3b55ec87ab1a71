"""The sections around an answer: its thoughts (folded) and its sources."""

from __future__ import annotations

import re

from ..render import inert_markdown
from .escape import md


def thoughts_markdown(thoughts: str) -> str:
    """Thought summaries folded in a <details> block; the model's text made inert."""
    inner = _close_fences(inert_markdown(thoughts).strip("\n"))
    return f"<details><summary>Thoughts</summary>\n\n{inner}\n\n</details>"


def _close_fences(markdown: str) -> str:
    # An unclosed code fence would swallow </details> and everything after it.
    fence = None
    for line in markdown.splitlines():
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        mark = match.group(1)
        if fence is None:
            fence = mark
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip()[len(mark) :].strip():
            fence = None
    return markdown if fence is None else f"{markdown}\n{fence}"


_FENCE_LINE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")


def sources_markdown(citations, search_queries=()) -> str:
    """A "Sources" list of Markdown links (http/https only) and the searches made."""
    from urllib.parse import quote_plus

    links = [(title, uri) for title, uri in citations if _is_web(uri)]
    lines = []
    if links:
        lines.append("**Sources**")
        lines.extend(f"{n}. [{md(title or uri, 100)}]({_link_target(uri)})" for n, (title, uri) in enumerate(links, 1))
    if search_queries:
        searches = " · ".join(
            f"[{md(q, 100)}](https://www.google.com/search?q={quote_plus(q)})" for q in search_queries if q.strip()
        )
        lines.append(("\n" if lines else "") + f"Google Search: {searches}")
    return "\n".join(lines)


def _is_web(uri) -> bool:
    return isinstance(uri, str) and uri.lower().startswith(("https://", "http://")) and len(uri) > 8


def _link_target(uri: str) -> str:
    """The URI with anything that could end or break a Markdown link percent-encoded."""
    from urllib.parse import quote

    return quote(uri, safe=":/?#@!$&*+,;=%~-._[]")


def pages_markdown(pages) -> str:
    """A "Pages read" list for ``--url``: each page (http/https only) with its retrieval status."""
    lines = [
        f"{n}. [{md(url, 100)}]({_link_target(url)}) · {md(status)}"
        for n, (url, status) in enumerate(((u, s) for u, s in pages if _is_web(u)), 1)
    ]
    return "\n".join(["**Pages read**", *lines]) if lines else ""
