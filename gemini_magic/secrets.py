"""Keep the API key out of everything we show, store or log."""

from __future__ import annotations

import os
import re

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
REDACTED = "<redacted>"

# Google API keys look like AIza + 35 characters; also catch ?key=... in URLs.
_KEY_PATTERNS = re.compile(r"AIza[0-9A-Za-z_\-]{35}|(?<=[?&]key=)[^&\s'\"]+")


def _known_keys() -> list[str]:
    keys = [os.environ.get(name, "") for name in KEY_VARIABLES]
    # Short values (e.g. "x" in a test) would mangle ordinary text; real keys are long.
    return sorted({key for key in keys if len(key) >= 8}, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every API key it contains replaced by ``<redacted>``."""
    if not text:
        return text
    for key in _known_keys():
        if key in text:
            text = text.replace(key, REDACTED)
    return _KEY_PATTERNS.sub(REDACTED, text)
