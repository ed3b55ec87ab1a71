"""The one exception hierarchy: every failure a user is told about, in one short sentence."""

from __future__ import annotations

from typing import Optional

from .secrets import redact


class GeminiError(Exception):
    """A failure told in one short sentence: what happened and what to do."""

    def __init__(self, message: str, *, kind: str = "error", code: Optional[int] = None):
        super().__init__(redact(message))
        self.kind = kind
        self.code = code


class MissingKeyError(GeminiError):
    pass
