"""Parsing the ``[[offline key=value ...]]`` directives in a prompt to the offline server.

Which keys exist and what they do is documented in :mod:`gemini_magic.offline`.
"""

from __future__ import annotations

import math
import re
from typing import Any

_BLOCK_REASONS = ("SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY")
_FINISH_REASONS = (
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
)
_INT_KEYS = frozenset(
    {
        "chunks",
        "chunk_chars",
        "status",
        "fail_times",
        "drop_after",
        "after",
        "malformed_after",
        "error_after",
        "stall_after",
        "echo_key",
        "thoughts",
        "echo",
        "image",
    }
)
_FLOAT_KEYS = frozenset({"delay", "retry_after", "stall", "stall_headers", "latency"})
_JOB_STATES = ("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED")
_OUTCOMES = ("OK", "FAILED", "DEADLINE_EXCEEDED")
_WORD_KEYS = {
    "block": _BLOCK_REASONS,
    "finish": _FINISH_REASONS,
    "tag": None,
    "job": _JOB_STATES,
    "outcome": _OUTCOMES,
}
FAULT_KEYS = frozenset(
    {
        "status",
        "retry_after",
        "echo_key",
        "block",
        "finish",
        "drop_after",
        "malformed_after",
        "error_after",
        "stall_after",
        "stall_headers",
    }
)
_KNOWN_KEYS = _INT_KEYS | _FLOAT_KEYS | set(_WORD_KEYS)

_DIRECTIVE = re.compile(r"\[\[\s*offline\b([^\]]*)\]\]", re.IGNORECASE)


class DirectiveError(ValueError):
    """A ``[[offline ...]]`` directive that cannot be honoured (answered with a 400)."""


def parse_directives(text: str) -> tuple[dict, str]:
    """Return ``(directives, text_without_them)`` for one piece of prompt text."""
    found: dict[str, Any] = {}
    for match in _DIRECTIVE.finditer(text):
        for token in match.group(1).split():
            key, sep, raw = token.partition("=")
            key = key.lower()
            if not sep or not raw:
                raise DirectiveError(f"[[offline]] expects key=value, got {token!r}.")
            if key not in _KNOWN_KEYS:
                raise DirectiveError(
                    f"Unknown [[offline]] key {key!r}. Known keys: " + ", ".join(sorted(_KNOWN_KEYS)) + "."
                )
            found[key] = _directive_value(key, raw)
    return found, _DIRECTIVE.sub("", text)


def _directive_value(key: str, raw: str) -> Any:
    try:
        if key in _INT_KEYS:
            value: Any = int(raw)
            if value < 0:
                raise ValueError
        elif key in _FLOAT_KEYS:
            value = float(raw)
            if not value >= 0 or math.isinf(value):
                raise ValueError
        else:
            allowed = _WORD_KEYS[key]
            value = raw.upper() if allowed else raw
            if allowed and value not in allowed:
                raise DirectiveError(f"[[offline]] {key}= must be one of {', '.join(allowed)}; got {raw!r}.")
    except ValueError as exc:
        if isinstance(exc, DirectiveError):
            raise
        raise DirectiveError(f"[[offline]] {key}= needs a non-negative number, got {raw!r}.") from None
    if key == "status" and not 400 <= value <= 599:
        raise DirectiveError(f"[[offline]] status= must be 400-599, got {value}.")
    if key == "image" and value > 16:
        raise DirectiveError("[[offline]] image= gives at most 16 images.")
    if key == "chunk_chars" and value < 1:
        raise DirectiveError("[[offline]] chunk_chars= must be at least 1.")
    return value
