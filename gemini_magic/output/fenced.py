"""Answers shown as a fenced block (``-f text`` and ``-f json``): the text as written, nothing rendered."""

from __future__ import annotations

import json
import re

from ..formats import parse_json
from ..response import GeminiResponse


class FencedView:
    """Wraps a view so the final output shows the answer as a fenced block.

    Used for ``text`` and ``json`` in a notebook. Only ``finish`` differs: ``add``
    is the wrapped view's own bound method, so streaming costs nothing extra.
    """

    def __init__(self, view, language: str):
        self._view = view
        self._language = language
        self.start = view.start
        self.add = view.add
        self.retrying = view.retrying
        self.add_image = view.add_image

    def finish(self, response) -> None:
        text = response.text
        if self._language == "json":
            text = _pretty_json(text)
        shown = GeminiResponse(fenced(text, self._language) if text else "")
        shown.__dict__.update(response.__dict__)
        shown.inserts = [(0, part) for _, part in response.inserts]  # before the block: the text is the value
        self._view.finish(shown)


def _pretty_json(text: str) -> str:
    """Indented for reading when it parses (the answer's own text is kept as sent)."""
    try:
        return json.dumps(parse_json(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text


def fenced(text: str, language: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}\n"
