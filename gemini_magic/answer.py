"""The one place an answer is built: deltas in (streamed, whole or from a batch), a GeminiResponse out.

Every path (a streamed cell, ``--no-stream``, ``--each`` and ``map``, Batch API
results) feeds its deltas to an :class:`AnswerBuilder`, so what an answer keeps
(text, thoughts, citations, searches, usage, how it ended) and what counts as
complete are decided once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Optional

from .errors import GeminiError, ProtocolError
from .response import GeminiResponse, Usage
from .secrets import StreamRedactor, redact

# Finish reasons that mean Gemini cut the answer short on purpose.
POLICY_STOPS = {
    "SAFETY": "for safety",
    "RECITATION": "because it was reciting a source verbatim (recitation)",
    "PROHIBITED_CONTENT": "for prohibited content",
    "BLOCKLIST": "because it hit a blocklisted term",
    "SPII": "because it contained sensitive personal information",
    "IMAGE_SAFETY": "for image safety",
    "OTHER": "for an unspecified reason",
}

INCOMPLETE = "INCOMPLETE"  # the stream ended without a finish reason


class AnswerBuilder:
    """Collects what deltas say; :meth:`response` makes the GeminiResponse.

    ``add`` is on the streaming hot path: it only appends and notes fields.
    """

    __slots__ = (
        "model",
        "max_chars",
        "size",
        "texts",
        "thoughts",
        "citations",
        "search_queries",
        "usage",
        "finish_reason",
        "block_reason",
        "safety",
        "error",
        "interrupted",
        "full",
        "redactor",
        "inserts",
        "url_context",
        "pending",
    )

    def __init__(self, model: str, max_chars: int = 10_000_000):
        self.model = model
        self.max_chars = max_chars
        self.size = 0
        self.texts: list[str] = []
        self.thoughts: list[str] = []
        self.citations: list = []
        self.search_queries: list = []
        self.usage = None
        self.finish_reason: Optional[str] = None
        self.block_reason: Optional[str] = None
        self.safety: Optional[str] = None
        self.error: Optional[str] = None
        self.interrupted = False
        self.full = False  # the answer reached max_chars: stop reading
        self.redactor = StreamRedactor()  # a server may echo the key, even split across chunks
        self.inserts: list = []  # [(offset in the text, image / code run / result)]
        self.url_context: list = []
        self.pending: list = []  # what a delta with parts shows, in order (see take_pending)

    def add(self, delta) -> str:
        """Take one delta; return its answer text (what to show). A delta with images or
        code returns "" and leaves what to show, in order, for :meth:`take_pending`."""
        text = delta.text
        if delta.parts is not None:
            text = self._add_parts(delta.parts)
        if text:
            self.size += len(text)
            if self.size > self.max_chars:
                text = text[: len(text) - (self.size - self.max_chars)]
                self.size = self.max_chars
                self._too_long()
            text = self.redactor.feed(text)
            self.texts.append(text)
        if delta.thought:
            self.thoughts.append(delta.thought)
            self.size += len(delta.thought)
            if self.size > self.max_chars:
                self._too_long()
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.model_version:
            self.model = delta.model_version
        if delta.finish_reason:
            self.finish_reason, self.safety = delta.finish_reason, delta.safety
        if delta.block_reason:
            self.block_reason = delta.block_reason
        if delta.citations:
            self.citations.extend(delta.citations)
        if delta.search_queries:
            self.search_queries = delta.search_queries
        if delta.url_context:
            self.url_context.extend(delta.url_context)
        return text

    def _add_parts(self, parts: list) -> str:
        """Text and other parts in order: text is kept as usual, the others where they sit."""
        from .answer_parts import AnswerImage, CodeResult, CodeRun, part_markdown

        shown = self.pending
        for piece in parts:
            if self.full:
                break
            if isinstance(piece, str):
                text = self.add(_Text(piece))
                if text:
                    shown.append(text)
                continue
            rest = self.redactor.flush()  # what came before the part is whole now
            if rest:
                self.texts.append(rest)
                shown.append(rest)
            if isinstance(piece, AnswerImage):
                self.size += len(piece.data)
                index = sum(isinstance(p, AnswerImage) for _, p in self.inserts) + 1
                piece = AnswerImage(piece.data, redact(piece.mime_type), index)
            elif isinstance(piece, CodeRun):
                self.size += len(piece.code)
                piece = CodeRun(redact(piece.code), piece.language)
            elif isinstance(piece, CodeResult):
                self.size += len(piece.output)
                piece = CodeResult(piece.outcome, redact(piece.output))
            if self.size > self.max_chars:
                self.size = self.max_chars
                self._too_long()
                break
            self.inserts.append((sum(map(len, self.texts)), piece))
            shown.append(piece if isinstance(piece, AnswerImage) else part_markdown(piece))
        return ""

    def take_pending(self) -> list:
        """What the last delta with parts shows, in order: text and code as Markdown, images as they are."""
        pending, self.pending = self.pending, []
        return pending

    def _too_long(self) -> None:
        self.full = True
        self.fail(
            ProtocolError(
                f"Gemini sent more than {self.max_chars:,} characters, so the answer was cut off there "
                "(GeminiMagics.max_answer_chars)."
            )
        )

    def fail(self, error: GeminiError | str) -> None:
        if self.error is None:
            self.error = str(error)

    def interrupt(self) -> None:
        self.interrupted = True

    def response(self, elapsed: float = 0.0) -> GeminiResponse:
        finish = self.finish_reason
        error = self.error
        if self.interrupted:
            finish = "INTERRUPTED"
        elif error is not None:
            finish = "ERROR"
        elif self.block_reason:
            error = policy_message(None, self.block_reason, None)
            finish = f"BLOCKED:{self.block_reason}"
        elif finish is None:
            finish = INCOMPLETE
            error = (
                "Gemini's answer ended without saying it was finished (no finish reason), so it may be cut "
                "short; run the cell again."
            )
        else:
            error = policy_message(finish, None, self.safety)
        rest = self.redactor.flush()
        if rest:
            self.texts.append(rest)
        # Everything a server said is redacted too: names, reasons, sources, searches.
        return GeminiResponse(
            "".join(self.texts),
            model=sys.intern(redact(self.model)),  # one copy for thousands of answers
            usage=Usage.from_metadata(self.usage),
            finish_reason=redact(finish),
            elapsed=elapsed,
            interrupted=self.interrupted,
            error=redact(error) if error else error,
            thoughts=redact("".join(self.thoughts)),
            citations=[(redact(str(title)), redact(str(uri))) for title, uri in dict.fromkeys(self.citations)],
            search_queries=[redact(str(query)) for query in self.search_queries],
            inserts=self.inserts,
            url_context=[(redact(url), redact(status)) for url, status in dict.fromkeys(self.url_context)],
        )


class _Text:
    """A text piece of a delta with parts, fed through :meth:`AnswerBuilder.add` like any text."""

    __slots__ = ("text",)
    thought = usage = model_version = finish_reason = block_reason = citations = search_queries = None
    parts = url_context = None

    def __init__(self, text: str):
        self.text = text


def build_response(
    deltas: Iterable = (),
    *,
    model: str,
    elapsed: float = 0.0,
    error: GeminiError | str | None = None,
    max_chars: int = 10_000_000,
) -> GeminiResponse:
    """A GeminiResponse from whole deltas (a non-streamed or batch answer), or a failure."""
    builder = AnswerBuilder(model, max_chars)
    for delta in deltas:
        builder.add(delta)
        if builder.full:
            break
    if error is not None:
        builder.fail(error)
    return builder.response(elapsed)


def policy_message(finish_reason, block_reason, safety) -> Optional[str]:
    """A short message for answers Gemini refused or cut, else None."""
    if block_reason:
        return (
            f"Gemini blocked the prompt ({block_reason.lower().replace('_', ' ')}); nothing was generated. "
            "Rephrase the prompt."
        )
    if finish_reason in POLICY_STOPS:
        category = f" (category: {safety})" if safety else ""
        return (
            f"Gemini stopped the answer {POLICY_STOPS[finish_reason]}{category}; the partial answer is kept. "
            "Rephrase the prompt to continue."
        )
    return None
