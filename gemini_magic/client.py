"""The one place that talks to google-genai: client, request, stream, errors.

``google.genai`` is imported lazily (it costs about 0.4 s) so that
``%load_ext gemini_magic`` stays instant. Nothing outside this module touches
SDK types: the stream is turned into plain :class:`Delta` values and every SDK
or transport failure into a :class:`GeminiError` with a message a user can act on.
"""

from __future__ import annotations

import difflib
import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from .secrets import KEY_VARIABLES, redact

VERTEX_VARIABLE = "GOOGLE_GENAI_USE_VERTEXAI"
RETRYABLE_CODES = (429, 500, 502, 503, 504)


class GeminiError(Exception):
    """A failure told in one short sentence: what happened and what to do."""

    def __init__(self, message: str, *, kind: str = "error", code: Optional[int] = None):
        super().__init__(redact(message))
        self.kind = kind
        self.code = code


class MissingKeyError(GeminiError):
    pass


@dataclass(frozen=True)
class Connection:
    """Where requests go: the SDK's own environment, or the offline demo server."""

    offline_url: Optional[str] = None
    timeout: Optional[float] = None  # seconds to wait for each response byte
    retries: int = 0  # extra attempts for failures that happen before any text
    retry_delay: float = 1.0  # first backoff in seconds, doubled each time

    def check(self) -> None:
        """Fail early, with what to set, when no credentials are configured."""
        if self.offline_url or any(os.environ.get(name) for name in KEY_VARIABLES):
            return
        if os.environ.get(VERTEX_VARIABLE, "").lower() in ("1", "true"):
            return
        raise MissingKeyError(
            "No Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) before starting Jupyter, "
            "or for Vertex AI set GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT and "
            "GOOGLE_CLOUD_LOCATION; to try it without a key use %%gemini --offline "
            "(or %config GeminiMagics.offline = True).",
            kind="key",
        )


@dataclass(frozen=True)
class Request:
    """Everything one call sends to Gemini."""

    prompt: str
    model: str
    connection: Connection = field(default_factory=Connection)
    system: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    # The user turn as parts (str, and prompt.Image); empty: the prompt text alone.
    parts: tuple = ()
    # Earlier turns, oldest first: (role, parts) with role "user" or "model".
    history: tuple = ()
    response_mime_type: Optional[str] = None  # "application/json" for JSON mode
    response_schema: Optional[dict] = None  # a JSON schema, sent as responseJsonSchema
    thinking_budget: Optional[int] = None  # tokens; 0 off, -1 automatic
    include_thoughts: bool = False  # ask for thought summaries
    search: bool = False  # ground the answer with Google Search


@dataclass
class Delta:
    """What one streamed chunk adds. Fields are None when the chunk did not say."""

    text: str = ""
    thought: str = ""
    finish_reason: Optional[str] = None
    block_reason: Optional[str] = None
    model_version: Optional[str] = None
    usage: object = None  # the SDK's usage metadata, read by Usage.from_metadata
    safety: Optional[str] = None  # the blocking category, when a safety stop says which
    citations: Optional[list] = None  # [(title, uri)] from grounding metadata
    search_queries: Optional[list] = None  # the Google Search queries the answer used


_clients: dict = {}
_clients_lock = threading.Lock()


def _environment_fingerprint() -> tuple:
    # The SDK reads these itself; a new client is made when any of them changes.
    names = KEY_VARIABLES + (
        VERTEX_VARIABLE,
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_VERTEX_BASE_URL",
        "GOOGLE_GENAI_API_VERSION",
    )
    return tuple(os.environ.get(name) for name in names)


def get_client(connection: Connection):
    """The google-genai client for this connection, made on first use and reused."""
    key = (connection.offline_url, connection.timeout, _environment_fingerprint())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _make_client(connection)
        return client


def forget_clients() -> None:
    """Close and drop every cached client (after an interrupt, or on unload)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # closing is best effort: the sockets go either way
            pass


def _make_client(connection: Connection):
    from google import genai
    from google.genai import types

    options = {}
    if connection.timeout:
        options["timeout"] = int(connection.timeout * 1000)  # the SDK counts milliseconds
    if connection.offline_url:
        # The user asked for the demo server: the only case where we set the base URL.
        options["base_url"] = connection.offline_url
        return genai.Client(api_key="offline-demo", http_options=types.HttpOptions(**options))
    try:
        return genai.Client(http_options=types.HttpOptions(**options) if options else None)
    except Exception as error:  # e.g. Vertex chosen but no project: say which setting
        raise GeminiError(f"Could not create the Gemini client: {error}", kind="config") from None


def _generation_config(request: Request):
    from google.genai import types

    thinking = None
    if request.thinking_budget is not None or request.include_thoughts:
        thinking = types.ThinkingConfig(
            thinking_budget=request.thinking_budget, include_thoughts=request.include_thoughts or None
        )
    fields = dict(
        system_instruction=request.system,
        temperature=request.temperature,
        max_output_tokens=request.max_tokens,
        response_mime_type=request.response_mime_type,
        response_json_schema=request.response_schema,
        thinking_config=thinking,
        tools=[types.Tool(google_search=types.GoogleSearch())] if request.search else None,
    )
    if all(value is None for value in fields.values()):
        return None  # the same request, and the SDK then does less for every chunk
    return types.GenerateContentConfig(**fields)


def _contents(request: Request):
    """The conversation to send: earlier turns, then this prompt (text and images)."""
    from google.genai import types

    def content(role, parts):
        return types.Content(role=role, parts=[_part(part) for part in parts])

    turns = [content(role, parts) for role, parts in request.history]
    turns.append(content("user", request.parts or (request.prompt,)))
    return turns


def _part(part):
    from google.genai import types

    if isinstance(part, str):
        return types.Part(text=part)
    return types.Part.from_bytes(data=part.data, mime_type=part.mime_type)  # a prompt.Image


def stream_answer(
    request: Request, *, stream: bool = True, on_retry: Optional[Callable[[int, int, str], None]] = None
) -> Iterator[Delta]:
    """Send the request; yield a :class:`Delta` per chunk; raise only GeminiError.

    Failures before the first chunk (429, 5xx, a dropped connection) are retried
    with backoff, honouring Retry-After; once text has arrived nothing is retried
    silently. Closing the iterator (Interrupt) closes the HTTP response.
    """
    client = get_client(request.connection)
    chunks = None
    try:
        chunks, first = _open_with_retries(client, request, stream, on_retry)
        if first is not None:
            yield _delta(first)
        for chunk in chunks:
            yield _delta(chunk)
    except GeneratorExit:
        raise
    except Exception as error:
        raise describe_error(error, request) from None
    finally:
        if chunks is not None and hasattr(chunks, "close"):
            chunks.close()


def _open_with_retries(client, request: Request, stream: bool, on_retry):
    """Start the answer and read its first chunk, retrying what is worth retrying.

    google-genai's own HttpRetryOptions ignores Retry-After and cannot tell us
    it is retrying, so the same tenacity machinery is driven from here.
    """
    import tenacity

    retrying = tenacity.Retrying(**retry_policy(request, on_retry))
    return retrying(_open, client, request, stream)


def retry_policy(request: Request, on_retry) -> dict:
    """tenacity arguments shared by the streaming and the async (many prompts) paths."""
    import tenacity

    attempts = request.connection.retries + 1

    def notify(state):
        if on_retry is not None:
            error = state.outcome.exception()
            on_retry(state.attempt_number, attempts - 1, _retry_reason(error, state.upcoming_sleep))

    return dict(
        stop=tenacity.stop_after_attempt(attempts),
        retry=tenacity.retry_if_exception(_is_retryable),
        wait=_RetryAfterOrBackoff(request.connection.retry_delay),
        before_sleep=notify,
        reraise=True,
    )


def _open(client, request: Request, stream: bool):
    config = _generation_config(request)
    parts = request.parts or (request.prompt,)
    if not request.history and len(parts) == 1 and isinstance(parts[0], str):
        contents = parts[0]  # the same request: the SDK sends a lone string as one user text part
    else:
        contents = _contents(request)
    if not stream:
        answer = client.models.generate_content(model=request.model, contents=contents, config=config)
        return iter(()), answer
    chunks = client.models.generate_content_stream(model=request.model, contents=contents, config=config)
    try:
        return chunks, next(chunks, None)
    except BaseException:
        chunks.close()
        raise


def _is_retryable(error: BaseException) -> bool:
    code = getattr(error, "code", None)
    if isinstance(code, int) and hasattr(error, "status"):  # an APIError
        return code in RETRYABLE_CODES
    return type(error).__name__ in _DROPPED_CONNECTION


_DROPPED_CONNECTION = ("RemoteProtocolError", "ConnectError", "ReadError", "ConnectionResetError")


class _RetryAfterOrBackoff:
    """Wait what the server asked for (Retry-After), else back off exponentially."""

    def __init__(self, initial: float, maximum: float = 60.0):
        self.initial = initial
        self.maximum = maximum

    def __call__(self, state) -> float:
        asked = _retry_after(state.outcome.exception())
        if asked is not None:
            return min(asked, self.maximum)
        return min(self.initial * 2 ** (state.attempt_number - 1), self.maximum)


def _retry_after(error) -> Optional[float]:
    headers = getattr(getattr(error, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare for this API; fall back to backoff
        return None


def _retry_reason(error, wait: float) -> str:
    code = getattr(error, "code", None)
    what = {429: "rate limited (429)", 503: "service unavailable (503)"}.get(code) if isinstance(code, int) else None
    what = what or (f"server error ({code})" if isinstance(code, int) else "connection dropped")
    return f"{what}; retrying in {wait:.1f} s"


def _delta(chunk) -> Delta:
    # Read the parts directly: chunk.text warns on non-text parts and skips thoughts.
    delta = Delta(model_version=chunk.model_version, usage=chunk.usage_metadata)
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason:
        delta.block_reason = _enum_name(feedback.block_reason)
    candidates = chunk.candidates
    if candidates:
        candidate = candidates[0]
        if candidate.finish_reason:
            delta.finish_reason = _enum_name(candidate.finish_reason)
            if delta.finish_reason != "STOP":
                delta.safety = _blocking_category(candidate)
        grounding = candidate.grounding_metadata
        if grounding is not None:
            _read_grounding(grounding, delta)
        content = candidate.content
        if content is not None and content.parts:
            for part in content.parts:
                if part.text:
                    if part.thought:
                        delta.thought += part.text
                    else:
                        delta.text += part.text
    return delta


def _read_grounding(grounding, delta: Delta) -> None:
    """Cited web sources and search queries from a chunk's grounding metadata."""
    citations = [
        (chunk.web.title or chunk.web.uri, chunk.web.uri)
        for chunk in grounding.grounding_chunks or ()
        if chunk.web is not None and chunk.web.uri
    ]
    if citations:
        delta.citations = citations
    if grounding.web_search_queries:
        delta.search_queries = list(grounding.web_search_queries)


def _enum_name(value) -> str:
    return getattr(value, "name", None) or str(value)


def _blocking_category(candidate) -> Optional[str]:
    for rating in candidate.safety_ratings or ():
        if rating.blocked:
            return _enum_name(rating.category).replace("HARM_CATEGORY_", "").replace("_", " ").lower()
    return None


def describe_error(error: BaseException, request: Request) -> GeminiError:
    """Turn an SDK or transport exception into one actionable sentence."""
    from google.genai import errors

    if isinstance(error, GeminiError):
        return error
    if isinstance(error, errors.APIError):
        return _describe_api_error(error, request)
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


def _describe_api_error(error, request: Request) -> GeminiError:
    code = error.code
    message = " ".join(str(error.message or error.status or "").split())
    if len(message) > 200:
        message = message[:197] + "..."
    if code == 404:
        hint = _close_model_names(request)
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


def _close_model_names(request: Request) -> str:
    """' Did you mean: a, b?' from the server's model list, or '' if it cannot tell."""
    try:
        client = get_client(request.connection)
        names = [model.name.removeprefix("models/") for model in client.models.list(config={"page_size": 200})]
    except Exception:
        return ""
    matches = difflib.get_close_matches(request.model.removeprefix("models/"), names, n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


# -- many prompts at once (used by many.py) -----------------------------------


async def answer_async(
    request: Request,
    *,
    before_attempt: Optional[Callable] = None,
    on_retry: Optional[Callable[[int, int, str], None]] = None,
) -> Delta:
    """The whole answer in one :class:`Delta`, through the SDK's async client.

    Retried like :func:`stream_answer` (429, 5xx, dropped connections; Retry-After
    honoured). ``before_attempt`` is awaited before every attempt (a rate
    limiter). Raises only GeminiError; cancelling the task cancels the request.
    """
    import asyncio

    import tenacity

    client = get_client(request.connection)
    config, contents = _shared_config(request), _plain_contents(request)

    async def attempt():
        if before_attempt is not None:
            await before_attempt()
        return await client.aio.models.generate_content(model=request.model, contents=contents, config=config)

    retrying = tenacity.AsyncRetrying(**retry_policy(request, on_retry))
    try:
        answer = await retrying(attempt)
    except Exception as error:
        # In a thread: a 404 looks up close model names over the network.
        raise await asyncio.to_thread(describe_error, error, request) from None
    return _delta(answer)


_last_config: Optional[tuple] = None


def _shared_config(request: Request):
    """:func:`_generation_config`, reused while only the prompt changes (making one costs ~0.2 ms)."""
    global _last_config
    import dataclasses

    key = dataclasses.replace(request, prompt="", parts=(), history=())
    last = _last_config
    if last is not None and last[0] == key:
        return last[1]
    config = _generation_config(request)  # None when there is nothing to say
    _last_config = (key, config)
    return config


def _plain_contents(request: Request) -> list:
    """:func:`_contents` as plain dicts: the SDK validates those about 20% faster per request."""

    def part(value):
        if isinstance(value, str):
            return {"text": value}
        return {"inline_data": {"mime_type": value.mime_type, "data": value.data}}  # a prompt.Image

    turns = [{"role": role, "parts": [part(p) for p in parts]} for role, parts in request.history]
    turns.append({"role": "user", "parts": [part(p) for p in request.parts or (request.prompt,)]})
    return turns


@dataclass
class BatchStatus:
    """A Gemini Batch API job as last read: its state and, once done, its answers."""

    name: str  # "batches/..."
    state: str  # "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED", ...
    done: bool
    model: Optional[str] = None
    created: object = None  # datetime, when the server said
    # Once succeeded: one (metadata key or None, Delta or GeminiError) per request, in order.
    answers: Optional[list] = None


def submit_batch(requests: list, keys: list, *, display_name: str = "gemini_magic") -> BatchStatus:
    """Create one Batch API job with ``requests`` inlined (all for one model)."""
    from google.genai import types

    first = requests[0]
    client = get_client(first.connection)
    src = [
        types.InlinedRequest(contents=_contents(r), config=_generation_config(r), metadata={"key": str(k)})
        for r, k in zip(requests, keys)
    ]
    try:
        job = client.batches.create(
            model=first.model, src=src, config=types.CreateBatchJobConfig(display_name=display_name)
        )
    except Exception as error:
        raise describe_error(error, first) from None
    return _batch_status(job, first)


def get_batch(connection: Connection, name: str) -> BatchStatus:
    """Read a Batch API job by name (``batches/ID``)."""
    request = Request(prompt="", model="", connection=connection)
    try:
        job = get_client(connection).batches.get(name=name)
    except Exception as error:
        if getattr(error, "code", None) == 404 or isinstance(error, ValueError):
            raise GeminiError(
                f"No Gemini batch job named {name!r} (it may have been deleted, or have expired).",
                kind="batch",
            ) from None
        raise describe_error(error, request) from None
    return _batch_status(job, request)


def _batch_status(job, request: Request) -> BatchStatus:
    from google.genai import errors

    state = _enum_name(job.state) if job.state is not None else "JOB_STATE_UNSPECIFIED"
    status = BatchStatus(job.name, state, bool(job.done), (job.model or "").removeprefix("models/"), job.create_time)
    inlined = job.dest.inlined_responses if job.dest is not None else None
    if inlined is not None:
        status.answers = []
        for item in inlined:
            key = (item.metadata or {}).get("key")
            if item.error is not None or item.response is None:
                code = (item.error.code if item.error is not None else None) or 500
                message = (item.error.message if item.error is not None else None) or "no answer in the batch"
                api_error = errors.APIError(code, {"error": {"code": code, "message": message}})
                status.answers.append((key, describe_error(api_error, request)))
            else:
                status.answers.append((key, _delta(item.response)))
    return status
