"""The output a saved notebook keeps for one answer: inert Markdown with its sections and footer, plain text, provenance.

An answer with images keeps several outputs, in the order Gemini sent them:
Markdown, the image as its own ``image/png`` (or JPEG, WebP, GIF) output,
Markdown..., the last one with the sources and the footer. A saved notebook
shows them without a kernel, on GitHub and in nbconvert alike.
"""

from __future__ import annotations

from ..answer_parts import AnswerImage, part_markdown
from ..render import inert_markdown
from ..response import GeminiResponse
from .escape import md, one_line
from .sections import pages_markdown, sources_markdown, thoughts_markdown


def final_outputs(response: GeminiResponse, *, allow_images: bool = False) -> list[tuple[dict, dict]]:
    """Every output of the answer, in order, as ``(bundle, metadata)``; the last holds the footer."""
    if not any(isinstance(part, AnswerImage) for _, part in response.inserts):
        return [final_bundle(response, allow_images=allow_images)]
    segments = answer_segments(response)
    outputs: list[tuple[dict, dict]] = []
    first = True
    for segment in segments[:-1]:
        if isinstance(segment, AnswerImage):
            outputs.append(image_output(segment))
        elif segment.strip() or (first and response.thoughts.strip()):
            markdown = inert_markdown(segment, allow_images=allow_images).rstrip("\n")
            if first and response.thoughts.strip():
                markdown = thoughts_markdown(response.thoughts) + "\n\n" + markdown
            outputs.append(({"text/markdown": markdown + "\n", "text/plain": segment}, {}))
        first = False
    last = segments[-1]
    assert isinstance(last, str)
    outputs.append(_bundle(response, last, allow_images, thoughts=first))
    return outputs


def final_bundle(response: GeminiResponse, *, allow_images: bool = False) -> tuple[dict, dict]:
    """The whole answer as one output (an image as a line saying where it is kept)."""
    return _bundle(response, display_text(response), allow_images, thoughts=True)


def _bundle(response: GeminiResponse, text: str, allow_images: bool, *, thoughts: bool) -> tuple[dict, dict]:
    markdown = final_markdown(inert_markdown(text, allow_images=allow_images), response, thoughts=thoughts)
    plain = text + ("\n\n" if text else "") + one_line(response.footer())
    if response.error:
        plain += f"\n{one_line(response.error)}"
    fields = {
        "model": response.model,
        "finish_reason": response.finish_reason,
        "usage": vars(response.usage),
        "elapsed": round(response.elapsed, 3),
        "interrupted": response.interrupted,
        "error": response.error,
        "cost": response.cost,
        "replayed_at": response.replayed_at,
    }
    if response.inserts or response.url_context:
        fields["images"] = sum(isinstance(part, AnswerImage) for _, part in response.inserts)
        fields["executed"] = len(response.executed)
        fields["url_context"] = len(response.url_context)
    return {"text/markdown": markdown, "text/plain": plain}, {"gemini_magic": fields}


def final_markdown(safe_markdown: str, response: GeminiResponse, *, thoughts: bool = True) -> str:
    """The saved output: thoughts (folded), the (already inert) answer, its sources,
    the pages it read, its error if any, and the footer."""
    pieces = [thoughts_markdown(response.thoughts)] if thoughts and response.thoughts.strip() else []
    if safe_markdown.strip():
        pieces.append(safe_markdown.rstrip("\n"))
    sources = sources_markdown(response.citations, response.search_queries)
    if sources:
        pieces.append(sources)
    pages = pages_markdown(response.url_context)
    if pages:
        pieces.append(pages)
    if response.error:
        pieces.append(f"> **⚠ {md(response.error)}**")  # our messages quote server text
    pieces.append(f"<sub>{md(response.footer())}</sub>")
    return "\n\n".join(pieces) + "\n"


def answer_segments(response: GeminiResponse) -> list:
    """The answer as shown, in order: Markdown source (its text with the code Gemini ran
    written in) and images between; always starts and ends with a str."""
    text = response.text
    segments: list = []
    current: list[str] = []
    position = 0
    for offset, part in response.inserts:
        offset = min(max(offset, position), len(text))
        current.append(text[position:offset])
        position = offset
        if isinstance(part, AnswerImage):
            segments.append("".join(current))
            segments.append(part)
            current = []
        else:
            current.append(part_markdown(part))
    current.append(text[position:])
    segments.append("".join(current))
    return segments


def display_text(response: GeminiResponse) -> str:
    """The answer as one Markdown source: images become a line saying where they are kept."""
    if not response.inserts:
        return response.text
    return "".join(
        segment if isinstance(segment, str) else image_note(segment) for segment in answer_segments(response)
    )


def image_output(image: AnswerImage) -> tuple[dict, dict]:
    """One image as its own output; one that is not PNG, JPEG, WebP or GIF only says it is there."""
    kind = image.kind
    if kind is None:
        plain = f"[{image.describe()}, kept in .images (not shown: only PNG, JPEG, WebP and GIF images are)]"
        return {"text/markdown": image_note(image).strip() + "\n", "text/plain": plain}, {}
    return {kind: image.base64(), "text/plain": f"<{image.describe()}>"}, {}


def image_note(image: AnswerImage) -> str:
    """A line for an image where it cannot be shown (a terminal, a single Markdown output)."""
    shown = "" if image.kind else " (not shown: only PNG, JPEG, WebP and GIF images are)"
    return f"\n\n*\\[{md(image.describe())}, kept in `.images`{md(shown)}\\]*\n\n"
