"""Turning SDK and transport exceptions into one actionable sentence."""

from __future__ import annotations

import difflib

from ..errors import GeminiError
from .connection import get_client
from .request import Request


def describe_error(error: BaseException, request: Request) -> GeminiError:
    """Turn an SDK or transport exception into one actionable sentence."""
    from google.genai import errors

    if isinstance(error, GeminiError):
        return error
    if isinstance(error, errors.APIError):
        return describe_api_error(error, request)
    name = type(error).__name__
    # Transport errors come from httpx or httpx2 (the SDK uses either): match by meaning.
    if "Timeout" in name:
        limit = f" in {request.connection.timeout:g} s" if request.connection.timeout else ""
        return GeminiError(
            f"Gemini did not answer{limit} ({name}); try again, or raise the limit with "
            "%config GeminiMagics.timeout = 300.",
            kind="timeout",
        )
    if name in ("RemoteProtocolError", "ReadError", "ConnectError", "ConnectionError", "NetworkError", "WriteError") or isinstance(
        error, OSError
    ):
        return GeminiError(
            f"The connection to Gemini failed ({name}: {error}); check the network and run the cell again.",
            kind="network",
        )
    if name in ("UnknownApiResponseError", "JSONDecodeError"):
        return GeminiError(
            "Gemini sent a response that could not be read (malformed data); run the cell again.",
            kind="protocol",
        )
    return GeminiError(f"Gemini request failed: {name}: {error}", kind="error")


def describe_api_error(error, request: Request) -> GeminiError:
    code = error.code
    message = " ".join(str(error.message or error.status or "").split())
    if len(message) > 200:
        message = message[:197] + "..."
    if code == 404:
        hint = close_model_names(request)
        return GeminiError(
            f"Model '{request.model}' was not found (404).{hint} "
            "Pick one with -m NAME or %config GeminiMagics.model = 'NAME'.",
            kind="model",
            code=code,
        )
    if code == 429:
        return GeminiError(
            f"Gemini quota or rate limit reached (429: {message}). Wait a minute and run the cell again, "
            "or lower the request rate; see your limits at https://aistudio.google.com.",
            kind="quota",
            code=code,
        )
    if code in (401, 403) or (code == 400 and "API key" in message):
        return GeminiError(
            f"Gemini rejected the API key ({code}: {message}). Check GEMINI_API_KEY (or GOOGLE_API_KEY) "
            "and restart the kernel after changing it.",
            kind="key",
            code=code,
        )
    if code == 400:
        return GeminiError(f"Gemini rejected the request (400: {message}). Check the options and the prompt.", kind="request", code=code)
    if code and code >= 500:
        return GeminiError(
            f"Gemini had a server error ({code}: {message}). This is usually temporary: run the cell again in a moment.",
            kind="server",
            code=code,
        )
    return GeminiError(f"Gemini returned an error ({code}: {message}).", kind="error", code=code)


def close_model_names(request: Request) -> str:
    """' Did you mean: a, b?' from the server's model list, or '' if it cannot tell."""
    try:
        client = get_client(request.connection)
        names = [model.name.removeprefix("models/") for model in client.models.list(config={"page_size": 200})]
    except Exception:
        return ""
    matches = difflib.get_close_matches(request.model.removeprefix("models/"), names, n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


# -- many prompts at once (used by many.py) -----------------------------------
