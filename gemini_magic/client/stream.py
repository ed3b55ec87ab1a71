"""Streaming one answer: send, retry what is worth retrying before the first chunk, yield deltas."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Optional

from .chunks import Delta, chunk_delta
from .connection import get_client
from .errors import describe_error
from .request import Request, generation_config, sdk_contents, user_parts
from .retry import retry_policy


def stream_answer(
    request: Request, *, stream: bool = True, on_retry: Optional[Callable[[int, int, str], None]] = None
) -> Generator[Delta, None, None]:
    """Send the request; yield a :class:`Delta` per chunk; raise only GeminiError.

    Failures before the first chunk (429, 5xx, a dropped connection) are retried
    with backoff, honouring Retry-After; once text has arrived nothing is retried
    silently. Closing the iterator (Interrupt) closes the HTTP response.
    """
    from .files import send_with_files

    client = get_client(request.connection)
    chunks = None
    try:
        chunks, first = send_with_files(request, lambda sent: open_with_retries(client, sent, stream, on_retry))
        if first is not None:
            yield chunk_delta(first)
        for chunk in chunks:
            yield chunk_delta(chunk)
    except GeneratorExit:
        raise
    except Exception as error:
        raise describe_error(error, request) from None
    finally:
        if chunks is not None and hasattr(chunks, "close"):
            chunks.close()


def open_with_retries(client, request: Request, stream: bool, on_retry):
    """Start the answer and read its first chunk, retrying what is worth retrying.

    google-genai's own HttpRetryOptions ignores Retry-After and cannot tell us
    it is retrying, so the same tenacity machinery is driven from here.
    """
    import tenacity

    retrying = tenacity.Retrying(**retry_policy(request, on_retry))
    return retrying(open_answer, client, request, stream)


def open_answer(client, request: Request, stream: bool):
    config = generation_config(request)
    parts = user_parts(request)
    if not request.history and len(parts) == 1 and isinstance(parts[0], str):
        contents = parts[0]  # the same request: the SDK sends a lone string as one user text part
    else:
        contents = sdk_contents(request)
    if not stream:
        answer = client.models.generate_content(model=request.model, contents=contents, config=config)
        return iter(()), answer
    chunks = client.models.generate_content_stream(model=request.model, contents=contents, config=config)
    try:
        return chunks, next(chunks, None)
    except BaseException:
        chunks.close()
        raise
