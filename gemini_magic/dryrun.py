"""``--dry-run``: what a cell would send, its tokens and its estimated cost; no generate request is sent.

The prompt tokens come from Gemini's countTokens (for many prompts: counted on a
sample and extrapolated), else, without a key, from the characters (about 4 a
token), and the output says which. The cost uses :mod:`gemini_magic.pricing`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import pricing
from .errors import GeminiError, MissingKeyError
from .output.escape import md

SAMPLE = 5  # many prompts: how many are counted
DEFAULT_ANSWER_TOKENS = 1000
SHOWN_CHARS = 4000  # of one text part in the request shown


@dataclass
class DryRun:
    """What a run would send and cost. ``cost``/``batch_cost`` are dollars (None: no price)."""

    model: str
    prompts: int
    counted: int
    prompt_tokens: int
    answer_tokens: int
    counted_by: str
    cost: float | None
    batch_cost: float | None
    request: dict
    parts: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    recorded: int = 0  # prompts the record file already holds (replay on)
    markdown: str = ""

    def _repr_markdown_(self) -> str:
        return self.markdown


def request_json(request) -> dict:
    """The request as the API would get it; file bytes and long texts summarised."""
    from .client.request import user_parts

    def part(p):
        if isinstance(p, str):
            text = p if len(p) <= SHOWN_CHARS else p[:SHOWN_CHARS] + f"… ({len(p) - SHOWN_CHARS:,} more characters)"
            return {"text": text}
        uri = getattr(p, "uri", None)
        if uri is not None:
            return {"file_data": {"file_uri": uri, "mime_type": p.mime_type}}
        if getattr(p, "data", None) is None:  # a prompt.LocalFile
            return {
                "file_data": {"file_uri": f"<{p.name}: {p.size:,} bytes, uploaded when sent>", "mime_type": p.mime_type}
            }
        return {"inline_data": {"mime_type": p.mime_type, "data": f"<{len(p.data):,} bytes>"}}

    turns = list(request.history) + [("user", user_parts(request))]
    body: dict = {
        "model": request.model,
        "contents": [{"role": role, "parts": [part(p) for p in parts]} for role, parts in turns],
    }
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    config = {
        name: value
        for name, value in (
            ("temperature", request.temperature),
            ("maxOutputTokens", request.max_tokens),
            ("responseMimeType", request.response_mime_type),
            ("responseJsonSchema", request.response_schema),
            (
                "thinkingConfig",
                {"thinkingBudget": request.thinking_budget, "includeThoughts": request.include_thoughts}
                if request.thinking_budget is not None or request.include_thoughts
                else None,
            ),
        )
        if value is not None
    }
    if config:
        body["generationConfig"] = config
    named: tuple[tuple[object, dict], ...] = (
        (request.search, {"googleSearch": {}}),
        (request.code_execution, {"codeExecution": {}}),
        (request.urls, {"urlContext": {}}),
    )
    tools = [tool for on, tool in named if on]
    if tools:
        body["tools"] = tools
    return body


def parts_by_kind(request) -> list[str]:
    from .client.request import user_parts

    parts = user_parts(request)
    return [
        f"text, {len(p):,} characters" if isinstance(p, str) else f"{p.mime_type or 'video'}, {_size(p)}" for p in parts
    ]


def _size(part) -> str:
    size = getattr(part, "size", None)
    return f"{size:,} bytes" if size is not None else "by URI"


def _count(requests: list) -> tuple[list, str, list]:
    notes: list[str] = []
    try:
        requests[0].connection.check()
        from .client import count_tokens

        return [count_tokens(r) for r in requests], "count_tokens", notes
    except MissingKeyError:
        notes.append("no API key, so countTokens was not asked: tokens estimated at about 4 characters a token")
    except GeminiError as error:
        notes.append(f"countTokens failed ({error}): tokens estimated at about 4 characters a token")
    sizes = [
        sum(len(p) if isinstance(p, str) else 258 * 4 for p in (r.parts or (r.prompt,)))
        + len(r.system or "")
        + sum(len(p) for _, ps in r.history for p in ps if isinstance(p, str))
        for r in requests
    ]
    return [max(1, s // 4) for s in sizes], "estimate", notes


def dry_run(
    settings, requests: list, *, total: int | None = None, batch: bool = False, recorded: int | None = None
) -> DryRun:
    """The dry run of ``requests`` (a sample of ``total`` prompts when given); ``recorded``:
    how many of them the record file already holds (replay on), which would be replayed for free."""
    total = total or len(requests)
    counts, counted_by, notes = _count(requests)
    per_prompt = sum(counts) / len(counts)
    prompt_tokens = round(per_prompt * total)
    first = requests[0]
    answer_each = settings.dry_run_answer_tokens or first.max_tokens or DEFAULT_ANSWER_TOKENS
    answer_tokens = answer_each * total
    if total > len(requests):
        notes.append(f"counted on {len(requests)} of {total:,} prompts and extrapolated")
    standard = pricing.cost(first.model, prompt_tokens, answer_tokens)
    cheap = pricing.cost(first.model, prompt_tokens, answer_tokens, batch=True)
    if recorded:
        notes.append(
            f"{recorded:,} of {total:,} already recorded (GeminiMagics.replay): they would be replayed "
            "and cost nothing; the estimate is for all of them"
        )
    if standard is None:
        notes.append(
            f"{first.model} is not in the price table ({pricing.source_line()}); "
            "set %config GeminiMagics.prices to estimate it"
        )
    dry = DryRun(
        first.model,
        total,
        len(requests),
        prompt_tokens,
        answer_tokens,
        counted_by,
        standard,
        cheap,
        request_json(first),
        parts_by_kind(first),
        notes,
        recorded=recorded or 0,
    )
    dry.markdown = render(dry, first, answer_each, settings, batch)
    return dry


def render(dry: DryRun, request, answer_each: int, settings, batch: bool) -> str:
    assumed = (
        "GeminiMagics.dry_run_answer_tokens"
        if settings.dry_run_answer_tokens
        else "--max-tokens"
        if request.max_tokens
        else "a guess; set GeminiMagics.dry_run_answer_tokens"
    )
    rows = [
        ("model", dry.model),
        ("prompts", f"{dry.prompts:,}"),
        ("parts (first prompt)", "; ".join(dry.parts)),
        ("system", f"{len(request.system):,} characters" if request.system else "none"),
        ("chat history", f"{len(request.history)} earlier turns" if request.history else "none"),
        ("tools", "Google Search" if request.search else "none"),
        (
            "prompt tokens",
            f"{dry.prompt_tokens:,} ({'countTokens' if dry.counted_by == 'count_tokens' else 'estimated'})",
        ),
        ("answer tokens", f"{dry.answer_tokens:,} assumed ({answer_each:,} each: {assumed}; thinking not included)"),
        (
            "estimated cost",
            f"{pricing.dollars(dry.cost)} standard · {pricing.dollars(dry.batch_cost)} with --batch"
            + (" (this run)" if batch else ""),
        ),
    ]
    lines = ["**Dry run: nothing was sent to generate an answer.**", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {md(value)} |" for name, value in rows]
    lines += ["", f"<sub>{md(pricing.source_line())}</sub>"]
    lines += [f"> {md(note)}" for note in dry.notes]
    text = json.dumps(dry.request, indent=2, ensure_ascii=False)
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    lines += ["", "The request (first prompt):", "", f"{fence}json", text, fence]
    return "\n".join(lines) + "\n"


def _longest_run(text: str, char: str) -> int:
    best = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        best = max(best, run)
    return best


def plain(dry: DryRun) -> str:
    lines = [
        f"Dry run: nothing sent. {dry.model}, {dry.prompts:,} prompt(s)",
        f"prompt tokens {dry.prompt_tokens:,} ({dry.counted_by}), answer tokens {dry.answer_tokens:,} assumed",
        f"estimated cost {pricing.dollars(dry.cost)} standard, {pricing.dollars(dry.batch_cost)} batch",
    ]
    lines += dry.notes
    lines.append(json.dumps(dry.request, indent=2, ensure_ascii=False))
    return "\n".join(lines)


def show(shell, dry: DryRun) -> None:
    """Display the dry run; it is kept in ``_gemini_dry_run``."""
    from IPython.display import display

    shell.user_ns["_gemini_dry_run"] = dry
    display({"text/markdown": dry.markdown, "text/plain": plain(dry)}, raw=True)
