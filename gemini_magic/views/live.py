"""The live view in a notebook: a widget that grows as chunks arrive, painted by its own thread,
then replaced in place by the final static output.

The cell's output is never the widget itself: a saved widget view reopens as "Loading widget..."
or "model not found", whatever text sits beside it (the notebook is trusted, so the widget
renderer wins). The output is HTML of the answer so far, which a save keeps and a reopened
notebook shows, refreshed now and then (``save_seconds``, ``save_bytes_per_second``); the
widget's front end finds it by its slot, hides it and draws the live answer beside it.
"""

from __future__ import annotations

import collections
import html
import time
from typing import Any

from ..response import GeminiResponse
from .base import Painter


class LiveView:
    """A live widget that grows as chunks arrive, then becomes static Markdown.

    Chunks are queued by the stream loop and painted by one painter thread, at
    most ``frame_seconds`` apart, so a burst of tiny chunks costs one render.
    Finished blocks are rendered once and sent once (``live.LiveAnswer``
    appends them); each paint sends them and the re-rendered open tail only.

    Two limits keep the view from costing the stream anything:

    - nothing is shown for ``grace_seconds``: an answer complete by then goes
      straight to its final output (a widget that lives for less than a frame or
      two is pure cost, and flickers). Gemini's first token takes far longer, so
      a real answer always streams into a view that is already there;
    - the painter takes at most ``cpu_share`` of the time: each paint renders only
      as much new text as that share of the time since the last paint pays for
      (at the measured cost per character). If chunks come faster than that (a
      local server can send 200 KB a second, Gemini about 1 KB), the live view
      falls behind; the stream never waits, and the final output catches up.
    """

    frame_seconds = 1 / 15
    grace_seconds = 0.02
    cpu_share = 0.05
    save_seconds = 1.0  # the saved text is refreshed at most this often...
    save_bytes_per_second = 50_000  # ...and costs no more than this on the wire (the final output costs 2x the answer)
    # Painter CPU seconds per character rendered: measured by each view and carried to the
    # next, so a view's first paint keeps to its share too (a guess too low lets the first
    # paint of a fast stream take several times its share).
    measured_cost_per_char = 1e-5

    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images
        self._queue: collections.deque[Any] = collections.deque()  # text, or an AnswerImage
        # This view owns its painter: started in start(), stopped in finish(), so no thread
        # outlives its cell or is shared between cells.
        self._painter = Painter(self._paint_loop, "gemini-painter")
        self._wake = self._painter.wake
        self._stopping = self._painter.stopping
        self._widget: Any = None
        self._handle: Any = None
        self._status = ""  # the status line's text
        self._status_sent: str | None = ""  # ...and the HTML of it last sent
        self._tail_sent = ""
        self._text_before = ""  # the saved text of the answer before its last image
        self._saved_at = 0.0  # perf_counter of the last refresh of the saved text
        self._saved_len = 0  # characters of answer in it
        self._fed = 0  # characters of answer rendered
        self.saves = 0  # refreshes of the saved text sent: for tests and benchmarks
        self._cost_per_char = LiveView.measured_cost_per_char
        self._last_paint = 0.0

    # -- called by the stream loop ------------------------------------------
    def start(self, label: str) -> None:
        from ..render import IncrementalRenderer

        self._renderer = IncrementalRenderer(allow_images=self.allow_images, typeset=True)
        self._status = f"⏳ asking {label}…"
        self._painter.start()  # in this cell's context: its comm messages and displays carry the cell's parent

    def add(self, text: str) -> None:
        self._queue.append(text)
        if not self._wake.is_set():
            self._wake.set()

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self._status = f"↻ {reason} ({attempt}/{attempts})…"
        self._wake.set()

    def add_image(self, image) -> None:
        """An image in the answer: painted where it came, after the text before it."""
        self._queue.append(image)
        self._wake.set()

    def finish(self, response: GeminiResponse) -> None:
        from .final import show_final

        self._stop_painter()
        if self._handle is None:
            show_final(response, allow_images=self.allow_images)  # done within the grace: no live view was needed
            return
        # Same display_id: the widget's slot becomes the static output a saved
        # notebook keeps (a widget alone reopens as "model not found").
        show_final(response, [self._handle], allow_images=self.allow_images)
        _close(self._widget)

    # -- painter thread -----------------------------------------------------
    def _paint_loop(self) -> None:
        self._last_paint = time.perf_counter()
        if self._stopping.wait(self.grace_seconds):
            return
        try:
            self._show()
        except Exception:  # no live view then; the final output still lands
            if self._widget is not None:
                _close(self._widget)
            self._handle = None
            return
        while True:
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._wake.clear()
            cpu = time.thread_time()
            try:
                self._paint()
                self._refresh_saved_text()
            except Exception as error:  # a paint must never kill the stream
                self._send(status=_status_html(f"(live view stopped: {type(error).__name__})"))
                return
            # Coalesce what arrives meanwhile into the next paint, and keep to the CPU share.
            pause = max(self.frame_seconds, (time.thread_time() - cpu) / self.cpu_share)
            if self._stopping.wait(pause):
                return

    def _show(self) -> None:
        from IPython.display import display

        from .widget import LiveAnswer

        self._widget = LiveAnswer()
        self._send(status=_status_html(self._status))
        self._handle = display(self._saved_bundle(), raw=True, display_id=True)
        self._saved_at = time.perf_counter()
        self._wake.set()  # paint what came during the grace at once

    def _paint(self) -> None:
        queue = self._queue
        finished, tail = "", None
        now, cpu = time.perf_counter(), time.thread_time()
        if queue:
            renderer = self._renderer
            self._status = "▍ streaming…"
            # Render what this paint's share of the time pays for; the rest waits its turn.
            allowed = max(1.0, self.cpu_share * (now - self._last_paint) / self._cost_per_char)
            fed = 0
            images = ""
            while queue and fed < allowed:
                piece = queue.popleft()
                if piece.__class__ is not str:  # an image: the text before it is whole
                    renderer.finish()
                    images += renderer.take_frozen() + _image_html(piece)
                    self._text_before += f"{renderer.text}\n\n[{piece.describe()}]\n\n"
                    renderer = self._renderer = self._renderer.__class__(allow_images=self.allow_images, typeset=True)
                    continue
                renderer.feed(piece)
                fed += len(piece)
            self._fed += fed
            finished, tail = images + renderer.take_frozen(), renderer.tail_html()
            spent = time.thread_time() - cpu
            if fed:  # the cost of text (an image alone costs its base64, not rendering)
                self._cost_per_char = 0.5 * self._cost_per_char + 0.5 * max(spent / fed, 1e-8)
                # Bounded: one paint slowed by a collection or a busy machine must not
                # starve the next view's first paint.
                LiveView.measured_cost_per_char = min(max(self._cost_per_char, 1e-7), 1e-4)
            if queue:
                self._wake.set()  # the rest is painted next time, even if no chunk comes
            if not finished and tail == self._tail_sent:
                tail = None  # nothing new to show
            else:
                self._tail_sent = tail
        self._send(finished=finished, tail=tail, status=_status_html(self._status))
        self._last_paint = now

    def _refresh_saved_text(self) -> None:
        """Refresh the output's HTML (what a save keeps) if it is due: at most every
        ``save_seconds``, and no more bytes a second than ``save_bytes_per_second``."""
        length = self._fed
        now = time.perf_counter()
        if length == self._saved_len or now - self._saved_at < self.save_seconds:
            return
        bundle = self._saved_bundle()
        size = sum(len(v) for v in bundle.values())
        if now - self._saved_at < size / self.save_bytes_per_second:
            return
        self._handle.update(bundle, raw=True)
        self._saved_at, self._saved_len = now, length
        self.saves += 1

    def _saved_bundle(self) -> dict:
        """The answer so far as the output a save keeps: its text, escaped (images named), under
        the slot the live view is drawn by."""
        text = self._text_before + self._renderer.text
        status = self._status
        plain = f"{text}\n\n[{status}]" if text else status
        body = html.escape(plain, quote=False)
        slot = (
            f'<div class="gemini-magic-slot" data-stream="{self._widget._stream}"></div>'
            f'<div class="tex2jax_ignore mathjax_ignore" style="white-space: pre-wrap">{body}</div>'
        )
        return {"text/html": slot, "text/plain": plain}

    def _send(self, *, finished: str = "", tail=None, status: str | None) -> None:
        if status == self._status_sent:
            status = None
        else:
            self._status_sent = status
        self._widget.update(finished=finished, tail=tail, status=status)

    def _stop_painter(self) -> None:
        self._painter.stop()


def _close(widget) -> None:
    """Close a widget and the layout/style widgets it made, so no comm is left open."""
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
        if part is not None:
            part.close()


def _image_html(image) -> str:
    """An answer's image in the live view: only a real PNG, JPEG, WebP or GIF, as a data URI
    (base64 cannot break out of the attribute); anything else is a line saying it is there."""
    from ..output.final import image_note
    from ..render import render_html

    kind = image.kind
    if kind is None:
        return render_html(image_note(image))
    return f'<p><img src="data:{kind};base64,{image.base64()}" alt="image {image.index}" style="max-width:100%"></p>'


def _status_html(text: str) -> str:
    """The status line, shaped like the final output's footer line (same height)."""
    escaped = html.escape(text, quote=False)
    return f"<sub>{escaped}</sub>"
