"""Reading google-genai answers (streamed chunks or whole) into plain :class:`Delta` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class Delta:
    """What one streamed chunk adds. Fields are None when the chunk did not say."""

    text: str = ""
    thought: str = ""
    finish_reason: Optional[str] = None
    block_reason: Optional[str] = None
    model_version: Optional[str] = None
    usage: object = None  # the SDK's usage metadata, read by Usage.from_metadata
    safety: Optional[str] = None  # the blocking category, when a safety stop says which
    citations: Optional[list] = None  # [(title, uri)] from grounding metadata
    search_queries: Optional[list] = None  # the Google Search queries the answer used


def chunk_delta(chunk) -> Delta:
    # Read the parts directly: chunk.text warns on non-text parts and skips thoughts.
    delta = Delta(model_version=chunk.model_version, usage=chunk.usage_metadata)
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason:
        delta.block_reason = enum_name(feedback.block_reason)
    candidates = chunk.candidates
    if candidates:
        candidate = candidates[0]
        if candidate.finish_reason:
            delta.finish_reason = enum_name(candidate.finish_reason)
            if delta.finish_reason != "STOP":
                delta.safety = blocking_category(candidate)
        grounding = candidate.grounding_metadata
        if grounding is not None:
            read_grounding(grounding, delta)
        content = candidate.content
        if content is not None and content.parts:
            for part in content.parts:
                if part.text:
                    if part.thought:
                        delta.thought += part.text
                    else:
                        delta.text += part.text
    return delta


def read_grounding(grounding, delta: Delta) -> None:
    """Cited web sources and search queries from a chunk's grounding metadata."""
    citations = [
        (chunk.web.title or chunk.web.uri, chunk.web.uri)
        for chunk in grounding.grounding_chunks or ()
        if chunk.web is not None and chunk.web.uri
    ]
    if citations:
        delta.citations = citations
    if grounding.web_search_queries:
        delta.search_queries = list(grounding.web_search_queries)


def enum_name(value) -> str:
    return getattr(value, "name", None) or str(value)


def blocking_category(candidate) -> Optional[str]:
    for rating in candidate.safety_ratings or ():
        if rating.blocked:
            return enum_name(rating.category).replace("HARM_CATEGORY_", "").replace("_", " ").lower()
    return None
