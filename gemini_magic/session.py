"""One run: stream an answer into a view and keep all of it, whatever happens."""

from __future__ import annotations

import time
from typing import Optional

from .client import Request, stream_answer
from .errors import GeminiError
from .response import GeminiResponse, Usage

# Finish reasons that mean Gemini cut the answer short on purpose.
_POLICY_STOPS = {
    "SAFETY": "for safety",
    "RECITATION": "because it was reciting a source verbatim (recitation)",
    "PROHIBITED_CONTENT": "for prohibited content",
    "BLOCKLIST": "because it hit a blocklisted term",
    "SPII": "because it contained sensitive personal information",
    "IMAGE_SAFETY": "for image safety",
    "OTHER": "for an unspecified reason",
}


def run(request: Request, view, *, stream: bool = True) -> GeminiResponse:
    """Stream ``request`` into ``view`` and return the whole answer as a GeminiResponse.

    An interrupt or a failure ends the stream early; the text received so far
    is kept and the response says what happened (``.interrupted``, ``.error``).
    """
    texts: list[str] = []
    thoughts: list[str] = []
    citations: list = []
    search_queries: list = []
    model = request.model
    usage = None
    finish_reason: Optional[str] = None
    block_reason: Optional[str] = None
    safety: Optional[str] = None
    error: Optional[str] = None
    interrupted = False
    add = view.add
    append = texts.append

    started = time.perf_counter()
    view.start(request.model)
    deltas = stream_answer(request, stream=stream, on_retry=view.retrying)
    try:
        for delta in deltas:  # the hot path: keep it to appends
            if delta.text:
                append(delta.text)
                add(delta.text)
            if delta.thought:
                thoughts.append(delta.thought)
            if delta.usage is not None:
                usage = delta.usage
            if delta.model_version:
                model = delta.model_version
            if delta.finish_reason:
                finish_reason, safety = delta.finish_reason, delta.safety
            if delta.block_reason:
                block_reason = delta.block_reason
            if delta.citations:
                citations.extend(delta.citations)
            if delta.search_queries:
                search_queries = delta.search_queries
    except KeyboardInterrupt:
        interrupted = True
        finish_reason = "INTERRUPTED"
    except GeminiError as failure:
        error = str(failure)
        finish_reason = "ERROR"
    finally:
        deltas.close()

    if error is None and not interrupted:
        error = policy_message(finish_reason, block_reason, safety)
        if block_reason:
            finish_reason = f"BLOCKED:{block_reason}"

    response = GeminiResponse(
        "".join(texts),
        model=model,
        usage=Usage.from_metadata(usage),
        finish_reason=finish_reason,
        elapsed=time.perf_counter() - started,
        interrupted=interrupted,
        error=error,
        thoughts="".join(thoughts),
        citations=list(dict.fromkeys(citations)),  # in order, without repeats
        search_queries=search_queries,
    )
    view.finish(response)
    return response


def policy_message(finish_reason, block_reason, safety) -> Optional[str]:
    """A short message for answers Gemini refused or cut, else None."""
    if block_reason:
        return (
            f"Gemini blocked the prompt ({block_reason.lower().replace('_', ' ')}); nothing was generated. "
            "Rephrase the prompt."
        )
    if finish_reason in _POLICY_STOPS:
        category = f" (category: {safety})" if safety else ""
        return (
            f"Gemini stopped the answer {_POLICY_STOPS[finish_reason]}{category}; the partial answer is kept. "
            "Rephrase the prompt to continue."
        )
    return None


def incomplete_message(response: GeminiResponse, names: list[str]) -> Optional[str]:
    """The one line a user sees when the answer did not complete, naming where it is kept."""
    kept = " and ".join(names)
    size = f"{len(response):,} characters"
    if response.interrupted:
        return f"Interrupted: the partial answer ({size}) is kept in {kept}."
    if response.error:
        return f"{response.error} (Partial answer, {size}, kept in {kept}.)" if len(response) else response.error
    return None
