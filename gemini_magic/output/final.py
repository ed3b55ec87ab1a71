"""The output a saved notebook keeps for one answer: inert Markdown with its sections and footer, plain text, provenance."""

from __future__ import annotations

from ..render import inert_markdown
from ..response import GeminiResponse
from .escape import md, one_line
from .sections import sources_markdown, thoughts_markdown


def final_bundle(response: GeminiResponse, *, allow_images: bool = False) -> tuple[dict, dict]:
    """The output a saved notebook keeps: inert Markdown, plain text, provenance."""
    markdown = final_markdown(inert_markdown(response.text, allow_images=allow_images), response)
    plain = response.text + ("\n\n" if response.text else "") + one_line(response.footer())
    if response.error:
        plain += f"\n{one_line(response.error)}"
    metadata = {
        "gemini_magic": {
            "model": response.model,
            "finish_reason": response.finish_reason,
            "usage": vars(response.usage),
            "elapsed": round(response.elapsed, 3),
            "interrupted": response.interrupted,
            "error": response.error,
            "cost": response.cost,
            "replayed_at": response.replayed_at,
        }
    }
    return {"text/markdown": markdown, "text/plain": plain}, metadata


def final_markdown(safe_markdown: str, response: GeminiResponse) -> str:
    """The saved output: thoughts (folded), the (already inert) answer, its sources,
    its error if any, and the footer."""
    pieces = [thoughts_markdown(response.thoughts)] if response.thoughts.strip() else []
    if safe_markdown.strip():
        pieces.append(safe_markdown.rstrip("\n"))
    sources = sources_markdown(response.citations, response.search_queries)
    if sources:
        pieces.append(sources)
    if response.error:
        pieces.append(f"> **⚠ {md(response.error)}**")  # our messages quote server text
    pieces.append(f"<sub>{md(response.footer())}</sub>")
    return "\n\n".join(pieces) + "\n"
