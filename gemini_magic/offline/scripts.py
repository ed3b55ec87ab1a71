"""Scripted replies: the offline server as a hostile or broken Gemini, for tests.

``server.script(Reply(...))`` makes the next request whose path contains
``Reply.match`` get exactly that reply, whatever it asked: any status and
headers, events (JSON values or raw bytes, sent as SSE ``data:`` lines), or a
raw body; gzip-compressed, trickled a few bytes at a time, or redirected.
Directives (``[[offline ...]]``) cover the faults a real Gemini has; scripts
cover what a proxy or gateway that is not Google could send.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One reply, sent as written."""

    match: str = ":"  # sent to the next request whose path contains this
    status: int = 200
    headers: list = field(default_factory=list)  # [(name, value)]
    events: list = field(default_factory=list)  # JSON-able values or bytes: SSE "data:" lines
    body: bytes | None = None  # a raw body instead of events
    gzip: bool = False  # compress the whole body (Content-Encoding: gzip)
    piece: int = 0  # write the body this many bytes at a time (0: at once)
    pause: float = 0.0  # seconds between two pieces
    times: int = 1  # how many requests get it

    def payload(self) -> bytes:
        if self.body is not None:
            data = self.body
        else:
            lines = []
            for event in self.events:
                raw = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
                lines.append(b"data: " + raw + b"\r\n\r\n")
            data = b"".join(lines)
        return gzip.compress(data, 1) if self.gzip else data


def bomb(inflated_bytes: int) -> bytes:
    """A gzip body that inflates to ``inflated_bytes`` of one endless SSE event (about 1 KB per MB on the wire)."""
    head = b'data: {"candidates": [{"content": {"parts": [{"text": "'
    compressor = __import__("zlib").compressobj(9, 8, 16 + 15)
    out = [compressor.compress(head)]
    block = b"A" * (1 << 20)
    for _ in range(max(1, inflated_bytes >> 20)):
        out.append(compressor.compress(block))
    out.append(compressor.flush())
    return b"".join(out)


def send(exchange: Any, reply: Reply) -> None:
    """Write ``reply`` on the exchange's connection."""
    h, server = exchange.h, exchange.server
    data = reply.payload()
    h.send_response(reply.status)
    names = {name.lower() for name, _ in reply.headers}
    if "content-type" not in names:
        h.send_header("Content-Type", "text/event-stream" if reply.body is None else "application/json")
    if reply.gzip and "content-encoding" not in names:
        h.send_header("Content-Encoding", "gzip")
    for name, value in reply.headers:
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    exchange.headers_sent = True
    step = reply.piece or len(data) or 1
    for start in range(0, len(data), step):
        if start and reply.pause:
            server.pause(reply.pause)
            if server.stopping:
                break
        h.wfile.write(data[start : start + step])
        h.wfile.flush()
