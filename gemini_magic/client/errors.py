"""Turning SDK and transport exceptions into one actionable sentence."""

from __future__ import annotations

import difflib

from ..errors import (
    GeminiError,
    KeyRejectedError,
    ModelNotFoundError,
    ProtocolError,
    QuotaError,
    RequestRejectedError,
    ServerError,
    TimeoutError_,
    TransportError,
)
from ..secrets import redact
from .connection import get_client
from .request import Request


def brief(text: object, limit: int = 200) -> str:
    """Server text on one line, redacted first and then cut (a cut key must not survive in part)."""
    flat = " ".join(redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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
        return TimeoutError_(
            f"Gemini did not answer{limit} ({name}); try again, or raise the limit with "
            "%config GeminiMagics.timeout = 300."
        )
    if name in _TRANSPORT or isinstance(error, OSError):
        return TransportError(
            f"The connection to Gemini failed ({name}: {brief(error)}); check the network and run the cell again."
        )
    if name in ("UnknownApiResponseError", "JSONDecodeError", "ValidationError"):
        return ProtocolError("Gemini sent a response that could not be read (malformed data); run the cell again.")
    return GeminiError(f"Gemini request failed: {name}: {brief(error)}")


_TRANSPORT = ("RemoteProtocolError", "ReadError", "ConnectError", "ConnectionError", "NetworkError", "WriteError")


def describe_api_error(error, request: Request) -> GeminiError:
    code = error.code
    message = brief(error.message or error.status or "")
    if code and 300 <= code < 400:
        return TransportError(
            f"Gemini's address answered with a redirect ({code}) to another server; gemini_magic does not follow "
            "redirects, so your key was not sent there. Check GOOGLE_GEMINI_BASE_URL (or the proxy in between).",
            code=code,
        )
    if code == 404:
        hint = close_model_names(request)
        return ModelNotFoundError(
            f"Model '{request.model}' was not found (404).{hint} "
            "Pick one with -m NAME or %config GeminiMagics.model = 'NAME'.",
            code=code,
        )
    if code == 429:
        return QuotaError(
            f"Gemini quota or rate limit reached (429: {message}). Wait a minute and run the cell again, "
            "or lower the request rate; see your limits at https://aistudio.google.com.",
            code=code,
        )
    if code in (401, 403) or (code == 400 and "API key" in message):
        return KeyRejectedError(
            f"Gemini rejected the API key ({code}: {message}). Check GEMINI_API_KEY (or GOOGLE_API_KEY) "
            "and restart the kernel after changing it.",
            code=code,
        )
    if code == 400:
        return RequestRejectedError(
            f"Gemini rejected the request (400: {message}). Check the options and the prompt.", code=code
        )
    if code and code >= 500:
        return ServerError(
            f"Gemini had a server error ({code}: {message}). This is usually temporary: run the cell again in a moment.",
            code=code,
        )
    return RequestRejectedError(f"Gemini returned an error ({code}: {message}).", code=code)


def close_model_names(request: Request) -> str:
    """' Did you mean: a, b?' from the server's model list, or '' if it cannot tell."""
    try:
        client = get_client(request.connection)
        names = [model.name.removeprefix("models/") for model in client.models.list(config={"page_size": 200})]
    except Exception:
        return ""
    matches = difflib.get_close_matches(request.model.removeprefix("models/"), names, n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
