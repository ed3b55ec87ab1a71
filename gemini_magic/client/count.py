"""Counting a request's prompt tokens with Gemini's countTokens (sends no generate request)."""

from __future__ import annotations

import json

from .connection import get_client
from .errors import describe_error
from .request import Request, plain_contents


class TokenCount(int):
    """A prompt's tokens (an int), and how many of them each kind of part takes (``.by_kind``,
    from Gemini's ``promptTokensDetails``: text, image, audio, video, document)."""

    by_kind: dict

    def __new__(cls, total: int, by_kind: dict | None = None) -> TokenCount:
        self = super().__new__(cls, total)
        self.by_kind = dict(by_kind or {})
        return self

    def __repr__(self) -> str:
        noun = "token" if self == 1 else "tokens"
        kinds = " · ".join(f"{kind} {tokens:,}" for kind, tokens in self.by_kind.items())
        return f"{int(self):,} {noun}" + (f": {kinds}" if kinds else "")

    __str__ = __repr__

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


def count_tokens(request: Request) -> int:
    """The prompt tokens of ``request`` (see :func:`count_prompt`)."""
    return int(count_prompt(request, upload=False))


def count_prompt(request: Request, *, upload: bool = True) -> TokenCount:
    """The prompt tokens of ``request`` by kind of part: the conversation, and the system
    instruction counted as text (the Gemini API's countTokens takes no system instruction,
    tools or generation config). With ``upload``, files too large to send inline are uploaded
    first (or reused), as they would be for the answer."""
    from ..errors import GeminiError
    from ..prompt import LocalFile
    from .files import send_with_files
    from .transport import keep_bodies

    if not upload and any(isinstance(p, LocalFile) for p in request.parts):
        raise GeminiError("a file too large to send inline is counted only once uploaded (--count uploads it)")
    client = get_client(request.connection)

    def ask(sent: Request):
        contents = plain_contents(sent)
        if request.system:
            contents = [{"role": "user", "parts": [{"text": request.system}]}] + contents
        with keep_bodies() as pieces:
            result = client.models.count_tokens(model=request.model, contents=contents)
        return TokenCount(result.total_tokens or 0, _by_kind(b"".join(pieces)))

    try:
        return send_with_files(request, ask) if upload else ask(request)
    except Exception as error:
        raise describe_error(error, request) from None


def _by_kind(body: bytes) -> dict:
    try:
        details = json.loads(body).get("promptTokensDetails") or []
    except (ValueError, AttributeError):
        return {}
    kinds: dict = {}
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and isinstance(detail.get("tokenCount"), int):
            kind = str(detail.get("modality") or "other").lower()
            kinds[kind] = kinds.get(kind, 0) + detail["tokenCount"]
    return kinds
