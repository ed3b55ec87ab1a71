"""The live answer by display updates: for notebook front ends that cannot draw the live widget.

Used until the front end has said it draws the widget (see ``probe.py``): a JupyterLab server
in another environment without anywidget (with or without jupyterlab_widgets), or a front end
that has not answered yet. Every notebook front end shows a Markdown display and updates it in
place, so the answer grows there as inert Markdown, rendered (math, highlighted code) by the
front end itself, exactly as the final output is. A save at any moment keeps the text so far.
An image in the answer ends the Markdown display before it and gets an output of its own, as
in the final outputs; the text after it grows in a new display.

Re-sending a growing answer costs its length on every update (and a front end re-renders it
all), so updates are spaced out geometrically: one only when the answer has grown by
``growth`` since the last one, at least ``min_seconds`` apart, and never more than
``bytes_per_second`` of Markdown. That bounds the bytes at about ``2 / (1 - 1 / growth)``
times the answer (8.7x at 1.3, text/markdown and text/plain together) plus the final output,
and the front end's re-rendering to a few renders of the long answers.
"""

from __future__ import annotations

import html
import time
from typing import Any

from ..render import inert_markdown, settle_open_tail
from ..response import GeminiResponse
from .base import Painter


class UpdatingView:
    growth = 1.3
    min_seconds = 0.5
    bytes_per_second = 100_000
    grace_seconds = 0.02  # as LiveView: an answer done by then goes straight to its final output

    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images
        self._pieces: list[Any] = []  # text, and AnswerImage where an image came
        self._status = ""
        self._painter = Painter(self._update_loop, "gemini-updater")  # its updates carry this cell's parent
        self._wake = self._painter.wake
        self._stopping = self._painter.stopping
        self._handles: list[Any] = []  # the displays shown, in order: they become the final outputs
        self.updates = 0  # how many updates were sent: for tests and benchmarks

    # -- called by the stream loop ------------------------------------------
    def start(self, label: str) -> None:
        self._status = f"⏳ asking {label}…"
        self._painter.start()

    def add(self, text: str) -> None:
        self._pieces.append(text)  # list.append: as cheap as the widget's deque

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self._status = f"↻ {reason} ({attempt}/{attempts})…"
        self._wake.set()

    def add_image(self, image) -> None:
        """Shown as an output of its own where it comes (at the next update)."""
        self._pieces.append(image)

    def finish(self, response: GeminiResponse) -> None:
        self._painter.stop()
        from .final import show_final

        show_final(response, self._handles, allow_images=self.allow_images)

    # -- its own thread -------------------------------------------------------
    def _update_loop(self) -> None:
        from IPython.display import display

        if self._stopping.wait(self.grace_seconds):
            return
        try:
            current = display(self._bundle(""), raw=True, display_id=True)  # the status, until text comes
            self._handles.append(current)
            has_text, start = False, 0  # whether ``current`` shows text; where its text starts in _pieces
            shown, status_shown, last = 0, self._status, time.perf_counter()
            while not self._stopping.wait(self.min_seconds):
                pieces = self._pieces[start:]  # appended to by the stream loop: read a copy
                for n, piece in enumerate(pieces):
                    if piece.__class__ is str:
                        continue
                    text = "".join(pieces[:n])
                    if text.strip():  # the text before the image is whole: show it settled
                        if current is None:
                            current = display(self._settled(text), raw=True, display_id=True)
                            self._handles.append(current)
                        else:
                            current.update(self._settled(text), raw=True)
                        has_text = True
                    image = self._image_bundle(piece)
                    if current is not None and not has_text:  # the status display becomes the image
                        current.update(image, raw=True)
                    else:
                        self._handles.append(display(image, raw=True, display_id=True))
                    current, has_text, shown = None, False, 0
                    start += n + 1
                    pieces = self._pieces[start:]
                    break  # one image an update is plenty; the next comes after min_seconds
                upto = next((n for n, piece in enumerate(pieces) if piece.__class__ is not str), len(pieces))
                text = "".join(pieces[:upto])  # up to the next image, shown at the next update
                if current is None:
                    if not text.strip():
                        continue
                    current = display(self._bundle(text), raw=True, display_id=True)
                    self._handles.append(current)
                    has_text, shown, last = True, len(text), time.perf_counter()
                    continue
                now = time.perf_counter()
                grown = len(text) >= max(shown * self.growth, shown + 1)
                affordable = now - last >= 2 * len(text) / self.bytes_per_second
                if (grown and affordable) or (self._status != status_shown and not text):
                    current.update(self._bundle(text), raw=True)
                    self.updates += 1
                    has_text = has_text or bool(text)
                    shown, status_shown, last = len(text), self._status, now
        except Exception:  # the final output still lands
            return

    def _settled(self, text: str) -> dict:
        return {"text/markdown": inert_markdown(text, allow_images=self.allow_images), "text/plain": text}

    @staticmethod
    def _image_bundle(image) -> dict:
        from ..output.final import image_output

        return image_output(image)[0]

    def _bundle(self, text: str) -> dict:
        status = "▍ streaming…" if text else self._status
        markdown = inert_markdown(settle_open_tail(text), allow_images=self.allow_images) if text else ""
        plain = f"{text}\n\n[{status}]" if text else status
        return {"text/markdown": f"{markdown}\n\n<sub>{html.escape(status, quote=False)}</sub>\n", "text/plain": plain}
