"""The live answer widget: an append-only, compressed HTML stream to the front end.

ipywidgets' stock HTML widget can only replace its whole value, so a growing answer
is sent again on every paint. This widget (an anywidget; its front end is
``live_answer.js``, read by anywidget from its file) sends each finished block once and the open tail per paint,
through one deflate stream flushed per paint, as binary message buffers. A paint
costs about its new text, compressed, whatever the answer's length.
"""

from __future__ import annotations

import re
import threading
import uuid
import zlib
from pathlib import Path

import anywidget
import traitlets

# Record separators of the stream; never in the HTML itself (they are invisible anyway).
_SEPARATORS = re.compile("[\x00\x01]")


class LiveAnswer(anywidget.AnyWidget):
    """One cell's live answer: HTML (already sanitized) appended as it is finished."""

    _esm = Path(__file__).with_name("live_answer.js")
    _css = Path(__file__).with_name("live_answer.css")  # highlighted code in the theme's colours
    _stream = traitlets.Unicode().tag(sync=True)  # names this answer's stream in the front end
    _probe = traitlets.Bool(False).tag(sync=True)  # only asks whether the front end can draw it (see probe.py)

    def __init__(self, **kwargs):
        super().__init__(_stream=uuid.uuid4().hex, **kwargs)
        self._deflate = zlib.compressobj(6)
        self._lock = threading.Lock()  # one deflate stream: its pieces must go out in order

    def update(self, *, finished: str = "", tail: str | None = None, status: str | None = None) -> None:
        """One message: set the status line (under the answer, where the final output has
        its footer) if given; append ``finished`` HTML for good and show ``tail`` after
        it (replacing the last tail) if ``tail`` is given."""
        records = "" if status is None else f"s{_clean(status)}\0"
        if tail is not None:
            records += f"p{_clean(finished)}\x01{_clean(tail)}\0"
        if not records:
            return
        with self._lock:
            data = self._deflate.compress(records.encode("utf-8")) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            self.send({}, buffers=[data])


def _clean(html: str) -> str:
    return _SEPARATORS.sub("\ufffd", html)


def decode_stream(buffers) -> list[tuple[str, str, str]]:
    """The records a front end decodes from ``buffers`` (one cell's, in order): for tests
    and benchmarks. Each is ``("p", finished, tail)`` or ``("s", status, "")``."""
    inflate = zlib.decompressobj()
    text = "".join(inflate.decompress(bytes(b)).decode("utf-8") for b in buffers)
    records, _ = decode_records(text)
    return records


def decode_records(text: str) -> tuple[list[tuple[str, str, str]], str]:
    """Whole records in inflated ``text``, and the incomplete rest."""
    *whole, rest = text.split("\0")
    records = []
    for record in whole:
        kind, body = record[0], record[1:]
        if kind == "p":
            finished, tail = body.split("\x01", 1)
            records.append(("p", finished, tail))
        else:
            records.append((kind, body, ""))
    return records, rest
