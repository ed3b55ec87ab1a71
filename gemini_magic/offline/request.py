"""What the offline server reads from a generate request body: the prompt, its
``[[offline]]`` directives and a rough token count."""

from __future__ import annotations

import math
import re
from typing import Any

from .directives import parse_directives


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def read_prompt(body: dict) -> tuple[str, dict, int]:
    """The last user turn's text (directives removed), the directives, and a
    rough prompt token count."""
    contents = body.get("contents")
    contents = contents if isinstance(contents, list) else []
    system = _texts(field_of(body, "systemInstruction"))
    directives, _ = parse_directives("\n".join(system))
    last_user = next(
        (c for c in reversed(contents) if isinstance(c, dict) and c.get("role", "user") == "user"),
        None,
    )
    user_directives, prompt = parse_directives("\n".join(_texts(last_user)))
    directives.update(user_directives)

    chars = sum(len(t) for c in contents for t in _texts(c))
    chars += sum(len(t) for t in system)
    images = sum(
        1
        for c in contents
        if isinstance(c, dict)
        for p in (c.get("parts") or [])
        if isinstance(p, dict) and ("inlineData" in p or "fileData" in p)
    )
    return prompt.strip(), directives, max(1, estimate_tokens(chars) + 258 * images)


def field_of(obj: Any, name: str) -> Any:
    """``obj[name]``, also under its snake_case spelling, which Google accepts too
    (and which the SDK uses inside ``thinkingConfig``)."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())


def estimate_tokens(chars: int) -> int:
    return math.ceil(chars / 4)
