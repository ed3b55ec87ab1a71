"""One whole answer through the SDK's async client (many prompts at once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from .chunks import Delta, chunk_delta
from .connection import get_client
from .errors import describe_error
from .request import Request, plain_contents, shared_config
from .retry import retry_policy


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

    from .files import forget, gone, needs_preparing, prepare

    client = get_client(request.connection)
    config = shared_config(request)
    if needs_preparing(request):
        try:  # uploads block: in a thread, so the other prompts go on
            sent = await asyncio.to_thread(prepare, request)
        except Exception as error:
            raise await asyncio.to_thread(describe_error, error, request) from None
    else:
        sent = request
    contents = plain_contents(sent)

    async def attempt():
        if before_attempt is not None:
            await before_attempt()
        return await client.aio.models.generate_content(model=request.model, contents=contents, config=config)

    retrying = tenacity.AsyncRetrying(**retry_policy(request, on_retry))
    try:
        try:
            answer: Any = await retrying(attempt)
        except Exception as error:
            if not gone(error, sent):
                raise
            forget(sent)  # a reused file Gemini no longer has: upload it again, once
            contents = plain_contents(await asyncio.to_thread(prepare, request))
            answer = await retrying(attempt)
    except Exception as error:
        # In a thread: a 404 looks up close model names over the network.
        raise await asyncio.to_thread(describe_error, error, request) from None
    return chunk_delta(answer)
