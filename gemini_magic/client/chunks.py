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
    # Set only when the chunk has more than text: its pieces in order, text (str) and
    # answer_parts values (images, code runs, results); ``text`` still joins the text.
    parts: Optional[list] = None
    url_context: Optional[list] = None  # [(url, retrieval status)] the URL-context tool read


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
        if candidate.url_context_metadata is not None:
            read_url_context(candidate.url_context_metadata, delta)
        content = candidate.content
        if content is not None and content.parts:
            for part in content.parts:
                if part.text:
                    if part.thought:
                        delta.thought += part.text
                    else:
                        delta.text += part.text
                        if delta.parts is not None:
                            delta.parts.append(part.text)
                elif not part.thought:
                    piece = answer_part(part)
                    if piece is not None:
                        if delta.parts is None:
                            delta.parts = [delta.text] if delta.text else []
                        delta.parts.append(piece)
    return delta


def answer_part(part):
    """An image, a code run or its result from one SDK part; None for anything else."""
    from ..answer_parts import AnswerImage, CodeResult, CodeRun

    if part.inline_data is not None:
        blob = part.inline_data
        return AnswerImage(bytes(blob.data or b""), str(blob.mime_type or "application/octet-stream"))
    if part.executable_code is not None:
        code = part.executable_code
        return CodeRun(str(code.code or ""), enum_name(code.language) if code.language else "python")
    if part.code_execution_result is not None:
        result = part.code_execution_result
        return CodeResult(
            enum_name(result.outcome) if result.outcome else "OUTCOME_UNSPECIFIED", str(result.output or "")
        )
    return None


def read_url_context(metadata, delta: Delta) -> None:
    """The pages the URL-context tool read, with their retrieval status."""
    pages = [
        (str(page.retrieved_url), enum_name(page.url_retrieval_status) if page.url_retrieval_status else "")
        for page in metadata.url_metadata or ()
        if page.retrieved_url
    ]
    if pages:
        delta.url_context = pages


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
