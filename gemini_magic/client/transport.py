"""What the SDK's HTTP client may do, whatever the server at the other end sends.

google-genai's own client follows redirects (re-sending the key header to
wherever they point), inflates any gzip body in full, and a server trickling a
byte a second never trips a read timeout. So every client we make gets:

- ``follow_redirects=False``: a redirect is an error, and the key stays home;
- a response hook that inflates the body itself, in bounded pieces, and stops
  once it passes the answer cap (a gzip bomb costs at most the cap);
- a deadline per line: the body must complete a line (an SSE event) within the
  timeout, so a trickle ends like a silence;
- log records from the HTTP and SDK loggers redacted before any handler sees them.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import sys
import time
import warnings
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional

from ..errors import ProtocolError, TimeoutError_
from ..secrets import redact

PIECE = 1 << 16  # inflate at most this much at a time
BODY_OVERHEAD = 8  # a body may be this many times the answer cap (JSON envelope, usage, metadata)


def client_args(max_answer_chars: int, line_timeout: Optional[float]) -> tuple[dict, dict]:
    """``(client_args, async_client_args)`` for ``types.HttpOptions``."""
    limit = max(1 << 20, max_answer_chars * BODY_OVERHEAD)

    def guard(response) -> None:
        _guard(response, limit, line_timeout, is_async=False)

    async def guard_async(response) -> None:
        _guard(response, limit, line_timeout, is_async=True)

    protect_logs()
    return (
        {"follow_redirects": False, "event_hooks": {"response": [guard]}},
        {"follow_redirects": False, "event_hooks": {"response": [guard_async]}},
    )


def _guard(response, limit: int, line_timeout: Optional[float], *, is_async: bool) -> None:
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if len(encodings) > 1 or (encodings and encodings[0] not in _DECODERS):
        raise ProtocolError(
            f"Gemini's server sent its answer encoded as {', '.join(encodings)[:40]!r}, which is not read here."
        )
    if encodings:
        del response.headers["content-encoding"]  # we inflate it; the client must not do it again
    inflate = _DECODERS[encodings[0]]() if encodings else None
    meter = _Meter(limit, line_timeout)
    meter.sink = _kept.get()
    guarded_sync, guarded_async = _stream_classes(type(response).__module__.split(".")[0])
    response.stream = (guarded_async if is_async else guarded_sync)(response.stream, inflate, meter)


_DECODERS = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(),
}


class _Meter:
    """Counts the inflated body and the time since the last line ended."""

    def __init__(self, limit: int, line_timeout: Optional[float]):
        self.limit = limit
        self.line_timeout = line_timeout
        self.total = 0
        self.last_line = time.monotonic()
        self.sink: Optional[list] = None  # the body's pieces are also kept here (see keep_bodies)

    def pieces(self, data: bytes, inflate) -> Iterator[bytes]:
        if inflate is None:
            chunks: Any = (data,)
        else:
            chunks = _inflated(data, inflate)
        for piece in chunks:
            self.total += len(piece)
            if self.total > self.limit:
                raise ProtocolError(
                    f"Gemini's server sent more than {self.limit:,} bytes for one answer, so reading stopped there "
                    "(GeminiMagics.max_answer_chars)."
                )
            now = time.monotonic()
            if b"\n" in piece:
                self.last_line = now
            elif self.line_timeout and now - self.last_line > self.line_timeout:
                raise TimeoutError_(
                    f"Gemini sent its answer too slowly: no complete line in {self.line_timeout:g} s. Run the "
                    "cell again, or raise the limit with %config GeminiMagics.timeout = 300."
                )
            if self.sink is not None:
                self.sink.append(piece)
            yield piece


_kept: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar("gemini_magic_kept_bodies", default=None)


@contextlib.contextmanager
def keep_bodies() -> Iterator[list]:
    """Keep the bodies of the responses read in this block (small ones: countTokens), piece by
    piece, for the fields the SDK's own types drop (``promptTokensDetails``)."""
    pieces: list = []
    token = _kept.set(pieces)
    try:
        yield pieces
    finally:
        _kept.reset(token)


def _inflated(data: bytes, inflate) -> Iterator[bytes]:
    piece = inflate.decompress(data, PIECE)
    while True:
        if piece:
            yield piece
        tail = inflate.unconsumed_tail
        if not tail:
            return
        piece = inflate.decompress(tail, PIECE)


@functools.cache
def _stream_classes(package_name: str) -> tuple[type, type]:
    """Guarded body streams for the HTTP package the SDK chose (httpx or httpx2), which
    checks that a body stream is one of its own."""
    package = sys.modules[package_name]

    sync_base: Any = package.SyncByteStream
    async_base: Any = package.AsyncByteStream

    class Guarded(sync_base):
        def __init__(self, raw, inflate, meter: _Meter):
            self.raw, self.inflate, self.meter = raw, inflate, meter

        def __iter__(self) -> Iterator[bytes]:
            for data in self.raw:
                yield from self.meter.pieces(data, self.inflate)

        def close(self) -> None:
            self.raw.close()

    class AsyncGuarded(async_base):
        def __init__(self, raw, inflate, meter: _Meter):
            self.raw, self.inflate, self.meter = raw, inflate, meter

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for data in self.raw:
                for piece in self.meter.pieces(data, self.inflate):
                    yield piece

        async def aclose(self) -> None:
            await self.raw.aclose()

    return Guarded, AsyncGuarded


# -- logs and warnings ---------------------------------------------------------------

_quieted = False


def quiet_enum_warnings() -> None:
    """The SDK warns with a server's unknown enum value verbatim (it may carry anything, the
    key included); the value itself reaches the answer, redacted and escaped."""
    global _quieted
    if not _quieted:
        _quieted = True
        warnings.filterwarnings("ignore", message=r"(?s).* is not a valid \w+$", category=UserWarning)


_LOGGERS = ("httpx", "httpcore", "google_genai", "urllib3")
_installed = False


def protect_logs() -> None:
    """Redact records of the HTTP and SDK loggers as they are made (a handler anywhere
    may print them, e.g. into a cell's saved stderr)."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def redacting_factory(name, *args, **kwargs):
        record = make(name, *args, **kwargs)
        if name.startswith(_LOGGERS):
            try:
                message = record.getMessage()
            except Exception:  # a record whose arguments do not format: leave it alone
                return record
            record.msg, record.args = redact(message), ()
        return record

    logging.setLogRecordFactory(redacting_factory)
