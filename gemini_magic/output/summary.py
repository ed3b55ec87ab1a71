"""The static output a saved notebook keeps for a many-prompt run: counts, tokens, time, failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..response import PENDING, GeminiResponse
from .escape import md, shown

if TYPE_CHECKING:
    from ..many.results import Outcome


def summary(outcome: Outcome, names: list[str], *, label: Callable[[int], Any] = lambda i: i) -> tuple[dict, dict]:
    """The static output a saved notebook keeps: counts, tokens, time, failures."""
    counts = outcome.counts
    results = outcome.results or []
    parts = [f"**gemini × {counts.total:,}**", f"{counts.done:,} done"]
    if counts.failed:
        parts.append(f"{counts.failed:,} failed")
    if counts.reused:
        parts.append(f"{counts.reused:,} kept from before")
    if counts.replayed:
        parts.append(f"{counts.replayed:,} replayed (nothing sent)")
    pending = sum(1 for r in results if isinstance(r, GeminiResponse) and r.finish_reason == PENDING)
    stopped = sum(1 for r in results if isinstance(r, GeminiResponse) and r.interrupted)
    if pending:
        parts.append(f"{pending:,} waiting in {md(outcome.job)}")
    if stopped:
        parts.append(f"{stopped:,} not finished (interrupted)")
    if counts.total_tokens:
        parts.append(f"{counts.total_tokens:,} tokens ({counts.prompt_tokens:,} → {counts.response_tokens:,})")
        parts.append(_cost(counts, batch=outcome.job is not None))
    parts.append(f"{outcome.elapsed:.1f} s")
    if outcome.job:
        parts.append(f"batch job {md(outcome.job)}")
    if names:
        parts.append("in " + " and ".join(f"`{n}`" for n in names))
    lines = [" · ".join(parts)]
    problems = [(i, r.error) for i, r in enumerate(results) if isinstance(r, GeminiResponse) and r.error]
    if outcome.fatal:
        lines.append(f"> **⚠ Stopped: {md(outcome.fatal)}**")
    for i, error in problems[:3]:
        lines.append(f"> ⚠ item {md(repr(label(i)), 80)}: {md(error)}")
    if len(problems) > 3:
        lines.append(f"> … and {len(problems) - 3:,} more.")
    if problems or stopped or pending:
        lines.append("> Run it again with the same output to send only what is missing or failed.")
    markdown = "\n\n".join(lines) + "\n"
    plain = shown(markdown.replace("**", "").replace("`", "").replace("> ", ""))
    metadata = {
        "gemini_magic": {
            "each": {
                "total": counts.total,
                "done": counts.done,
                "failed": counts.failed,
                "reused": counts.reused,
                "replayed": counts.replayed,
                "cost": round(counts.cost, 6),
                "tokens": counts.total_tokens,
                "elapsed": round(outcome.elapsed, 3),
                "interrupted": outcome.interrupted,
                "batch_job": outcome.job,
            }
        }
    }
    return {"text/markdown": markdown, "text/plain": plain}, metadata


def _cost(counts, *, batch: bool) -> str:
    from ..pricing import dollars

    if counts.unpriced and not counts.cost:
        return "no price for this model"
    text = dollars(counts.cost).replace("$", "\\$") + (" at batch prices" if batch else "")  # no $ math
    return text + (f" ({counts.unpriced:,} answers without a price)" if counts.unpriced else "")
