"""The answer as a notebook value: a ``str`` that also knows how it was made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from .answer_parts import url_status

# A fenced block: ``` or ~~~ (3 or more), an optional info string, up to the same fence.
_CODE_BLOCK = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n`]*\n(?P<code>.*?)^[ ]{0,3}(?P=fence)[`~]*[ \t]*$", re.MULTILINE | re.DOTALL
)


PENDING = "BATCH_PENDING"  # the finish reason of a placeholder waiting for its Batch API job


@dataclass(frozen=True)
class Usage:
    """Token counts Gemini reported for one answer (0 when it did not say)."""

    prompt_tokens: int = 0
    response_tokens: int = 0
    thinking_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_metadata(cls, metadata) -> Usage:
        """Build from a google-genai ``usage_metadata`` object (or None)."""
        if metadata is None:
            return cls()

        def count(name):
            return getattr(metadata, name, None) or 0

        prompt = count("prompt_token_count")
        response = count("candidates_token_count")
        thinking = count("thoughts_token_count")
        total = count("total_token_count") or prompt + response + thinking
        return cls(prompt, response, thinking, total)


class GeminiResponse(str):
    """A Gemini answer: equal to its full text, with what the run reported.

    ``len(answer)``, ``print(answer)`` and every ``str`` method work on the text.
    Extra attributes:

    - ``text``: the full text as a plain ``str``
    - ``model``: the model that answered (its reported version when known)
    - ``usage``: a :class:`Usage` with prompt, response, thinking and total tokens
    - ``finish_reason``: ``"STOP"`` for a complete answer, else why it ended
      (``"MAX_TOKENS"``, ``"SAFETY"``, ``"INTERRUPTED"``, ``"ERROR"``, ...)
    - ``elapsed``: seconds from sending the request to the end of the answer
    - ``interrupted``: True when the stream was stopped by Interrupt (Ctrl-C)
    - ``error``: None, or a short message saying what went wrong and what to do
    - ``thoughts``: the thought summaries (``--show-thoughts``), else ""
    - ``citations``: ``[(title, uri), ...]`` the sources a ``--search`` answer cited
    - ``search_queries``: the Google Search queries behind a ``--search`` answer
    - ``images``: the images in the answer, in order: PIL images when Pillow reads
      them, else ``AnswerImage`` values (``.data`` bytes, ``.mime_type``)
    - ``executed``: ``[(code, outcome, output), ...]`` the code Gemini ran
      (``--code-execution``); outcome ``"OUTCOME_OK"``, ``"OUTCOME_FAILED"``...
    - ``url_context``: ``[(url, status), ...]`` the pages ``--url`` had Gemini
      read; status ``"read"``, ``"failed"``, ``"paywall"``, ``"unsafe"``...
    - ``inserts``: ``[(offset, part), ...]`` the images, code runs and results,
      each at the offset in ``text`` where it came
    - ``parsed``: for ``-f json``, the parsed value (a pydantic model with ``--schema``)
    - ``code``: the first fenced code block of the answer, or None
    - ``cost``: dollars the reported usage cost (the package's price table), None
      when the model has no price; 0.0 for an answer replayed from a record file
    - ``replayed_at``: when a replayed answer was recorded (UTC, ISO 8601), else None
    """

    model: str
    usage: Usage
    finish_reason: Optional[str]
    elapsed: float
    interrupted: bool
    error: Optional[str]
    thoughts: str
    citations: list
    search_queries: list
    parsed: Any
    inserts: list
    url_context: list

    def __new__(
        cls,
        text: str = "",
        *,
        model: str = "",
        usage: Optional[Usage] = None,
        finish_reason: Optional[str] = None,
        elapsed: float = 0.0,
        interrupted: bool = False,
        error: Optional[str] = None,
        thoughts: str = "",
        citations: Optional[list] = None,
        search_queries: Optional[list] = None,
        parsed: Any = None,
        inserts: Optional[list] = None,
        url_context: Optional[list] = None,
    ):
        self = super().__new__(cls, text)
        self.model = model
        self.usage = usage or Usage()
        self.finish_reason = finish_reason
        self.elapsed = elapsed
        self.interrupted = interrupted
        self.error = error
        self.thoughts = thoughts
        self.citations = list(citations or ())
        self.search_queries = list(search_queries or ())
        self.parsed = parsed
        self.inserts = list(inserts or ())
        self.url_context = [(url, url_status(status)) for url, status in url_context or ()]
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)

    @property
    def images(self) -> list:
        from .answer_parts import AnswerImage

        return [part.value() for _, part in self.inserts if isinstance(part, AnswerImage)]

    @property
    def executed(self) -> list:
        from .answer_parts import executed

        return executed(part for _, part in self.inserts)

    @property
    def code(self) -> Optional[str]:
        """The content of the first fenced code block (```), or None if there is none."""
        match = _CODE_BLOCK.search(self.text)
        code = match.group("code").rstrip("\n") if match else ""
        return code if code.strip() else None

    @property
    def cost(self) -> Optional[float]:
        known = self.__dict__.get("_cost", _UNPRICED)
        if known is not _UNPRICED:
            return known
        from .pricing import usage_cost

        return usage_cost(self.model, self.usage)

    @cost.setter
    def cost(self, value: Optional[float]) -> None:
        self._cost = value

    @property
    def replayed_at(self) -> Optional[str]:
        return self.__dict__.get("_replayed_at")

    @replayed_at.setter
    def replayed_at(self, value: Optional[str]) -> None:
        self._replayed_at = value

    @property
    def complete(self) -> bool:
        """True when Gemini finished the answer normally."""
        return self.error is None and not self.interrupted and self.finish_reason in (None, "STOP")

    def footer(self) -> str:
        """One compact line: model, tokens in/out, seconds, and how it ended."""
        parts = [self.model or "gemini"]
        if self.usage.total_tokens:
            tokens = f"{self.usage.prompt_tokens} → {self.usage.response_tokens} tokens"
            if self.usage.thinking_tokens:
                tokens += f" (+{self.usage.thinking_tokens} thinking)"
            parts.append(tokens)
            if self.replayed_at is None:
                from .pricing import dollars

                parts.append(dollars(self.cost))
        parts.append(f"{self.elapsed:.1f} s")
        if self.replayed_at is not None:
            parts.append(f"replayed, recorded {self.replayed_at.replace('T', ' ').replace('Z', ' UTC')}; nothing sent")
        if self.interrupted:
            parts.append("interrupted")
        elif self.finish_reason not in (None, "STOP"):
            parts.append(f"stopped: {self.finish_reason}")
        return " · ".join(parts)

    def _repr_markdown_(self) -> str:
        from .output.final import display_text, final_markdown
        from .render import inert_markdown

        return final_markdown(inert_markdown(display_text(self)), self)

    def __repr__(self) -> str:
        preview = self.text if len(self) <= 60 else self.text[:57] + "..."
        return f"GeminiResponse({preview!r}, model={self.model!r}, finish_reason={self.finish_reason!r})"

    # A str subclass pickles as a plain str unless told otherwise; keep the fields.
    def __reduce__(self):
        return (_rebuild, (self.text, self.__dict__.copy()))


_UNPRICED = object()


def _rebuild(text, fields):
    response = GeminiResponse(text)
    response.__dict__.update(fields)
    return response
