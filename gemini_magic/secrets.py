"""Keep the API key out of everything we show, store or log.

The key is looked for as set and as the SDK sends it (stripped of spaces and
newlines), and so is any piece of it from its first 8 characters on: a message
cut in the middle of a key must not show its beginning. Google-shaped keys
(``AIza`` + 35) and ``key=`` in URLs are redacted whatever the environment says.
"""

from __future__ import annotations

import os
import re
from typing import Optional

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
REDACTED = "<redacted>"
PREFIX = 8  # this many leading characters of a key are already a secret

# Google API keys look like AIza + 35 characters; also catch ?key=... in URLs.
_KEY_PATTERNS = re.compile(r"AIza[0-9A-Za-z_\-]{35}|(?<=[?&]key=)[^&\s'\"]+")

_cache: tuple = ((), None)  # (the keys, their compiled pattern)


def known_keys() -> tuple:
    """The keys in the environment, as set and stripped; short values (e.g. "x" in a
    test) would mangle ordinary text, and real keys are long."""
    keys = {os.environ.get(name, "").strip() for name in KEY_VARIABLES}  # what the SDK sends
    return tuple(sorted((key for key in keys if len(key) >= PREFIX), key=len, reverse=True))


def _pattern() -> Optional[re.Pattern]:
    """A pattern matching any run of a key from its first PREFIX characters on."""
    global _cache
    keys = known_keys()
    if _cache[0] == keys:
        return _cache[1]
    alternatives = []
    for key in keys:
        rest = "".join(f"(?:{re.escape(c)}" for c in key[PREFIX:]) + ")?" * (len(key) - PREFIX)
        alternatives.append(re.escape(key[:PREFIX]) + rest)
    pattern = re.compile("|".join(alternatives)) if alternatives else None
    _cache = (keys, pattern)
    return pattern


def redact(text: str) -> str:
    """``text`` with every API key (or its beginning) it contains replaced by ``<redacted>``."""
    if not text:
        return text
    pattern = _pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _KEY_PATTERNS.sub(REDACTED, text)


class StreamRedactor:
    """Redacts a text that arrives in pieces: a key split across two chunks is still
    caught, because the end of a piece that could begin (or continue) a key is held
    back until the next piece shows what it is. Cheap when nothing looks like a key
    (it runs once per streamed chunk)."""

    __slots__ = ("pattern", "held", "heads", "firsts", "longest", "quick")

    def __init__(self) -> None:
        self.pattern = _pattern()
        keys = known_keys()
        self.longest = max((len(key) for key in keys), default=0)
        self.heads = {key[:j] for key in keys for j in range(1, PREFIX)}  # a key's first characters
        self.firsts = "".join({key[0] for key in keys})
        prefixes = {key[:PREFIX] for key in keys} | {"AIza", "key="}
        self.quick = re.compile("|".join(re.escape(prefix) for prefix in sorted(prefixes)))
        self.held = ""

    def feed(self, text: str) -> str:
        if self.pattern is None:
            return text
        if self.held:
            text, self.held = self.held + text, ""
        n = len(text)
        cut = n
        if self.quick.search(text, max(0, n - self.longest - PREFIX)) is not None:
            # A key's run reaching the end may go on in the next piece.
            for match in self.pattern.finditer(text, max(0, n - self.longest)):
                if match.end() == n:
                    cut = match.start()
                    break
        for first in self.firsts:  # a short tail that a key begins with
            i = text.find(first, max(0, n - PREFIX + 1))
            while 0 <= i < cut:
                if text[i:] in self.heads:
                    cut = i
                    break
                i = text.find(first, i + 1)
        if cut < n:
            text, self.held = text[:cut], text[cut:]
        if self.quick.search(text) is None:
            return text  # the usual case: nothing key-like at all
        return _KEY_PATTERNS.sub(REDACTED, self.pattern.sub(REDACTED, text))

    def flush(self) -> str:
        text, self.held = self.held, ""
        return redact(text)
