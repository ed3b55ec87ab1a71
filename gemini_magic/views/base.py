"""The one interface every view implements, and the painter thread of the views that paint from one.

A view is where one answer is shown while it is made. The stream loop (``cell.run.Run``)
calls ``start`` once, then ``add`` for each chunk of text and ``add_image`` for each
image, in the order they came, ``retrying`` when a request is retried, and ``finish``
once with the whole answer, whatever happened. ``add`` is on the hot path: it must only
queue. A view whose answer grows over several requests is started and finished once.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..response import GeminiResponse


@runtime_checkable
class View(Protocol):
    def start(self, label: str) -> None:
        """The answer is asked for (``label``: the model)."""

    def add(self, text: str) -> None:
        """A chunk of answer text: queue it, paint later."""

    def add_image(self, image: Any) -> None:
        """An image of the answer (an ``AnswerImage``), after the text before it."""

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        """The request failed and is sent again (``attempt`` of ``attempts``)."""

    def finish(self, response: GeminiResponse) -> None:
        """The answer is made: show its final output in place of the live one."""


class Painter:
    """A view's painter thread, with a lifetime (as rich's ``Live`` owns its refresh thread).

    ``start`` runs ``loop`` on a new thread under the calling cell's context, so what
    it displays carries that cell's parent header; ``stop`` sets ``stopping`` (and
    ``wake``) and waits for the thread to end. Both happen under one lock, and each at
    most once: a stopped painter is not started again, and no thread outlives its view.
    ``loop`` waits on ``wake`` and ``stopping``; an exception it raises ends the painting
    (never the stream: the final output still lands).
    """

    def __init__(self, loop: Callable[[], None], name: str):
        self._loop = loop
        self.name = name
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._done = threading.Event()  # set by the thread as it ends
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self.stopping.is_set():
                return
            context = contextvars.copy_context()
            self._thread = threading.Thread(target=context.run, args=(self._run,), name=self.name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a painter failing must not reach the kernel; the final output still lands
            pass
        finally:
            self._done.set()

    def stop(self) -> None:
        """End the painting and wait for the thread to end.

        The wait is on an Event, then a join that returns at once: a Ctrl-C inside
        ``Thread.join`` would mark the still-running thread as stopped (Python < 3.13)."""
        with self._lock:
            self.stopping.set()
            self.wake.set()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            self._done.wait()
            thread.join()

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()
