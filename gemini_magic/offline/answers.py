"""The offline server's answers, as pure functions (request body in, events out):
the demo text, benchmark filler and schema examples, cut into streamed events with
usage and grounding, and merged into one ``generateContent`` answer."""

from __future__ import annotations

import json
import re
from typing import Any

from .media import add_media, prompt_text, url_context
from .request import estimate_tokens, field_of


def demo_answer(prompt: str, model: str, notes: tuple = ()) -> str:
    """The deterministic Markdown demo answer for ``prompt``; ``notes`` are extra
    list items (what else the request carried: images, earlier turns, search)."""
    if prompt:
        shown = prompt[:300] + ("…" if len(prompt) > 300 else "")
        lines = shown.splitlines()[:6]
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
    else:
        quoted = "> *(no text in the prompt)*"
    words = len(prompt.split())
    snippet = " ".join(prompt.split())[:40]
    return (
        "## Offline demo answer\n\n"
        "This is an **offline demo answer** from gemini_magic's local server. It does"
        f" not come from Gemini: `{model}` was never asked. You wrote:\n\n"
        f"{quoted}\n\n"
        "A real answer would take that on. Meanwhile, this is what the live view"
        " renders as the text streams in:\n\n"
        "- a heading, this list and a code block, arriving in small chunks;\n"
        f"- your prompt had {words} words, about {estimate_tokens(len(prompt))} tokens;\n"
        + "".join(f"- {note};\n" for note in notes)
        + "- the same prompt always gets the same answer.\n\n"
        "```python\n"
        "def ask(prompt: str) -> str:\n"
        '    """Offline stand-in for a call to Gemini."""\n'
        f"    return {snippet!r}\n"
        "```\n\n"
        "*Offline demo. Run `%%gemini` without `--offline`, with `GEMINI_API_KEY`"
        " set, for a real answer.*\n"
    )


_PIECE_SIZES = (24, 31, 37, 22, 28, 40, 20, 34, 26, 38)


def split_words(text: str) -> list[str]:
    """Split ``text`` into chunks of whole words, about 20-40 characters each."""
    pieces: list[str] = []
    current = ""
    for match in re.finditer(r"\S+\s*|\s+", text):
        current += match.group()
        if len(current) >= _PIECE_SIZES[len(pieces) % len(_PIECE_SIZES)]:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


_FILLER_BLOCKS = (
    "Streaming keeps the notebook responsive while the model writes; every chunk"
    " extends the answer in place, and the view re-renders only what changed.\n\n",
    "### Step {n}\n\n",
    "- first point about step {n}, with `inline code`\n- a second point with"
    " **bold** and *italic* text\n- a third point linking to [the docs](https://"
    "ai.google.dev/gemini-api/docs)\n\n",
    "```python\ndef step_{n}(values):\n    total = sum(v * {n} for v in values)\n"
    "    return total / max(len(values), 1)\n```\n\n",
    "| step | square | note |\n|-----:|-------:|------|\n| {n} | {sq} | fine |\n| {n1} | {sq1} | also fine |\n\n",
    "1. Read the question.\n2. Think it through.\n3. Answer in Markdown.\n\n",
    "> A quoted remark for step {n}: chunks may end mid-word, mid-line or mid-fence.\n\n",
)
_FILLER_WORDS = (
    "the answer keeps streaming with plain words so that the count of characters comes out exact for benchmarks "
)


def filler(total: int) -> str:
    """Exactly ``total`` characters (ASCII) of Markdown: paragraphs, lists, code
    fences and tables in turn, closed off by a plain paragraph."""
    out = ["## Offline benchmark answer\n\n"] if total >= 40 else []
    size = sum(map(len, out))
    i = 0
    while True:
        n = i // len(_FILLER_BLOCKS) + 1
        block = _FILLER_BLOCKS[i % len(_FILLER_BLOCKS)].format(n=n, n1=n + 1, sq=n * n, sq1=(n + 1) ** 2)
        if size + len(block) > total:
            break
        out.append(block)
        size += len(block)
        i += 1
    rest = total - size
    out.append((_FILLER_WORDS * (rest // len(_FILLER_WORDS) + 1))[:rest])
    return "".join(out)


def _candidate_event(parts: list | None, model: str, **extra: Any) -> dict:
    candidate: dict[str, Any] = {}
    if parts:
        candidate["content"] = {"parts": parts, "role": "model"}
    candidate["index"] = 0
    candidate.update(extra)
    return {"candidates": [candidate], "modelVersion": f"{model}-offline"}


SAFETY_RATINGS = [
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
]


_THOUGHTS = (
    "**Reading the prompt**\n\nThis is the offline demo server, so there is no model"
    " to think; this thought summary only shows how thoughts stream.\n\n",
    "**Planning the answer**\n\nA heading, an echo of the prompt, a list and a code"
    " block will exercise the live Markdown view.\n\n",
)


def answer_events(body: dict, model: str, d: dict, prompt: str, prompt_tokens: int) -> list:
    """The events of an answer that ends normally or with ``finish=``."""
    config = field_of(body, "generationConfig")
    finish = "STOP"
    if d.get("echo"):
        text = prompt
        size = d.get("chunk_chars")
        pieces = [text[i : i + size] for i in range(0, len(text), size)] if size else split_words(text)
    elif "chunks" in d:
        size = d.get("chunk_chars", 20)
        text = filler(d["chunks"] * size)
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
    else:
        schema = field_of(config, "responseJsonSchema") or field_of(config, "responseSchema")
        if field_of(config, "responseMimeType") == "application/json" and isinstance(schema, dict):
            text = json.dumps(schema_example(schema), ensure_ascii=False)
        elif field_of(config, "responseMimeType") == "application/json":
            text = json.dumps(
                {"demo": True, "offline": True, "model": model, "prompt": prompt[:200]}, ensure_ascii=False
            )
        else:
            text = demo_answer(prompt, model, _request_notes(body))
        limit = field_of(config, "maxOutputTokens")
        if isinstance(limit, int) and limit > 0 and len(text) > limit * 4:
            text, finish = text[: limit * 4], "MAX_TOKENS"
        pieces = split_words(text)

    thoughts = _THOUGHTS if d.get("thoughts") or field_of(field_of(config, "thinkingConfig"), "includeThoughts") else ()
    events = [_candidate_event([{"text": t, "thought": True}], model) for t in thoughts]
    events += [_candidate_event([{"text": p}], model) for p in pieces]
    events = add_media(events, body, model, d, prompt, lambda parts: _candidate_event(parts, model))

    if d.get("finish"):
        events = events[: d.get("after", 0)]
        extra: dict[str, Any] = {"finishReason": d["finish"]}
        if d["finish"] == "SAFETY":
            extra["safetyRatings"] = SAFETY_RATINGS
        elif d["finish"] == "RECITATION":
            extra["citationMetadata"] = {
                "citationSources": [
                    {"startIndex": 0, "endIndex": 120, "uri": "https://example.com/offline-demo-source"}
                ]
            }
        events.append(_candidate_event(None, model, **extra))
    else:
        if not events:
            events = [_candidate_event(None, model)]
        events[-1]["candidates"][0]["finishReason"] = finish
    if _searches(body):
        events[-1]["candidates"][0]["groundingMetadata"] = _grounding(prompt)
    pages = url_context(body, prompt_text(body))
    if pages is not None:
        events[-1]["candidates"][0]["urlContextMetadata"] = pages
    events[-1]["usageMetadata"] = _usage(events, prompt_tokens)
    return events


def _searches(body: dict) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        isinstance(t, dict) and ("googleSearch" in t or "google_search" in t) for t in tools
    )


def _grounding(prompt: str) -> dict:
    """Demo Google Search grounding: two example.com sources and the query."""
    query = " ".join(prompt.split())[:60] or "offline demo"
    return {
        "webSearchQueries": [query],
        "groundingChunks": [
            {"web": {"uri": "https://example.com/offline-demo/search-1", "title": "example.com"}},
            {"web": {"uri": "https://example.org/offline-demo/search-2", "title": "example.org"}},
        ],
        "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": 24}, "groundingChunkIndices": [0, 1]}],
    }


def _request_notes(body: dict) -> tuple:
    """What the demo answer says the request carried besides the prompt text."""
    contents = [c for c in body.get("contents") or () if isinstance(c, dict)]
    notes = []
    last = contents[-1] if contents else {}
    images = [
        p.get("inlineData") or p.get("inline_data")
        for p in last.get("parts") or ()
        if isinstance(p, dict) and ("inlineData" in p or "inline_data" in p)
    ]
    for inline in images:
        mime = field_of(inline, "mimeType") if isinstance(inline, dict) else None
        size = len(str(field_of(inline, "data") or "")) * 3 // 4
        what = "an image" if str(mime or "image").startswith("image/") else "a file"
        notes.append(f"it carried {what} ({mime or 'image'}, about {size:,} bytes)")
    files = [p.get("fileData") or p.get("file_data") for p in last.get("parts") or () if isinstance(p, dict)]
    for file in (f for f in files if isinstance(f, dict)):
        notes.append(f"it carried a file by URI ({field_of(file, 'mimeType') or 'video'})")
    if len(contents) > 1:
        notes.append(f"it continued a conversation: {(len(contents) - 1) // 2} earlier turn(s) were sent")
    if _searches(body):
        notes.append("it asked for Google Search grounding: the sources below are demo links")
    return tuple(notes)


def schema_example(schema: Any, name: str = "value", index: int = 0, defs: dict | None = None, depth: int = 0) -> Any:
    """A small value that fits a JSON schema (or Gemini's OpenAPI-style Schema):
    arrays get three items, strings say which field they fill."""
    if not isinstance(schema, dict) or depth > 10:
        return None
    if defs is None:
        defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return schema_example(defs.get(ref.rsplit("/", 1)[-1], {}), name, index, defs, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key) or () if isinstance(s, dict) and str(s.get("type", "")).lower() != "null"]
        if options:
            return schema_example(options[0], name, index, defs, depth + 1)
    if schema.get("enum"):
        return schema["enum"][index % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        return {
            key: schema_example(sub, key, index, defs, depth + 1)
            for key, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = min(max(3, int(schema.get("minItems") or 0)), int(schema.get("maxItems") or 3))
        return [schema_example(schema.get("items") or {}, name, i, defs, depth + 1) for i in range(count)]
    if kind == "integer":
        return int(schema.get("minimum") or 0) + index + 1
    if kind == "number":
        return round((index + 1) * 1.5, 2)
    if kind == "boolean":
        return index % 2 == 0
    if kind == "null":
        return None
    return f"{name} {index + 1}"


def _usage(events: list, prompt_tokens: int) -> dict:
    parts = [p for e in events for p in e["candidates"][0].get("content", {}).get("parts", [])]
    answer = estimate_tokens(sum(len(p.get("text", "")) for p in parts if not p.get("thought")))
    answer += 258 * sum(1 for p in parts if "inlineData" in p)  # an image's tokens, as Gemini counts them
    thought = estimate_tokens(sum(len(p.get("text", "")) for p in parts if p.get("thought")))
    usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": answer}
    if thought:
        usage["thoughtsTokenCount"] = thought
    usage["totalTokenCount"] = prompt_tokens + answer + thought
    return usage


def merge_events(events: list, model: str) -> dict:
    """One generateContent answer from the events of a stream."""
    last = events[-1]
    if "promptFeedback" in last:
        return last
    parts = [p for e in events for c in e.get("candidates", []) for p in c.get("content", {}).get("parts", [])]
    thought = "".join(p["text"] for p in parts if p.get("thought"))
    merged: list = [{"text": thought, "thought": True}] if thought else []
    for part in parts:  # consecutive text joined; images and code stay where they are
        if part.get("thought"):
            continue
        if "text" in part and merged and "text" in merged[-1] and not merged[-1].get("thought"):
            merged[-1] = {"text": merged[-1]["text"] + part["text"]}
        else:
            merged.append(dict(part))
    extra = {k: v for k, v in last["candidates"][0].items() if k not in ("content", "index")}
    answer = _candidate_event(merged, model, **extra)
    answer["usageMetadata"] = last["usageMetadata"]
    return answer
