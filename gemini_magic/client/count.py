"""Counting a request's prompt tokens with Gemini's countTokens (sends no generate request)."""

from __future__ import annotations

from .connection import get_client
from .errors import describe_error
from .request import Request, plain_contents


def count_tokens(request: Request) -> int:
    """The prompt tokens of ``request``: the conversation, and the system instruction counted
    as text (the Gemini API's countTokens takes no system instruction)."""
    client = get_client(request.connection)
    contents = plain_contents(request)
    if request.system:
        contents = [{"role": "user", "parts": [{"text": request.system}]}] + contents
    try:
        result = client.models.count_tokens(model=request.model, contents=contents)
    except Exception as error:
        raise describe_error(error, request) from None
    return result.total_tokens or 0
