"""One run: stream an answer into a view and keep all of it, whatever happens."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional

from ..answer import AnswerBuilder
from ..client import Request, stream_answer
from ..errors import GeminiError
from ..interrupts import InterruptGate
from ..response import GeminiResponse

if TYPE_CHECKING:
    from ..views import View
    from .plan import CellRequest


class Run:
    """One answer being made: it owns the builder, the view and a cancel event.

    :meth:`answer` sends requests in turn into the same builder and view, so an answer
    may grow over several rounds (each next request is sent only if the answer so far
    went well). An interrupt, a cancel or a failure ends it early; the text received so
    far is kept and the response says what happened (``.interrupted``, ``.error``).
    """

    def __init__(
        self,
        request: Request,
        view: View,
        *,
        stream: bool = True,
        source: Optional[Iterable] = None,
        replayed: Any = None,
    ):
        self.request = request  # the first request
        self.view = view
        self.builder = AnswerBuilder(request.model, request.connection.max_answer_chars)
        self.cancelled = threading.Event()
        self.stream = stream
        self.source = source  # deltas to show instead of asking Gemini: a recorded answer...
        self.replayed = replayed  # ...and its record (the response says so before it is shown)
        self.response: Optional[GeminiResponse] = None

    @classmethod
    def for_cell(cls, shell, ready: CellRequest, replay, *, stream: bool = True) -> Run:
        """The run of one cell: its recorded answer if replay has one, else Gemini's (the key is
        checked before anything is shown), in the view chosen for the cell."""
        from ..views import choose_view

        settings, request = ready.settings, ready.request
        record = replay.find(request) if replay is not None else None
        source = None
        if record is None:
            request.connection.check()  # no key: say what to set, before showing anything
        else:
            from ..replay import deltas

            source = deltas(record, settings.replay_pace)
        whole = record is not None and not settings.replay_pace
        view = choose_view(shell, allow_images=settings.allow_images, whole=whole, fenced=ready.plan.format.name)
        return cls(request, view, stream=settings.stream and stream, source=source, replayed=record)

    def cancel(self) -> None:
        """End the answer at its next chunk, keeping what came (safe from any thread)."""
        self.cancelled.set()

    def answer(
        self, rounds: Optional[Iterable[Request]] = None, *, gate: Optional[InterruptGate] = None
    ) -> GeminiResponse:
        """Stream each request of ``rounds`` (default: the first request alone) into the view and
        return the whole answer. ``rounds`` may be a generator that reads ``self.builder`` to
        choose the next request. Interrupts raise only while a stream is read (``gate``): the
        view is always finished, even on a second Ctrl-C right after the first."""
        builder = self.builder
        response = None
        started = time.perf_counter()
        try:
            self.view.start(self.request.model)
            for request in rounds if rounds is not None else (self.request,):
                if self.cancelled.is_set():
                    builder.interrupt()
                    break
                if not self._round(self._deltas(request), gate):
                    break
            response = builder.response(time.perf_counter() - started)
        finally:
            if response is None:  # a bug above: still show and keep what arrived
                builder.fail("gemini_magic stopped on an internal error; the text so far is kept.")
                response = builder.response(time.perf_counter() - started)
            if self.replayed is not None:
                from ..replay import replayed as mark_replayed

                mark_replayed(response, self.replayed)
            self.response = response
            self.view.finish(response)
        return response

    def _deltas(self, request: Request):
        source, self.source = self.source, None
        if source is not None:
            return source
        return stream_answer(request, stream=self.stream, on_retry=self.view.retrying)

    def _round(self, deltas, gate: Optional[InterruptGate]) -> bool:
        """Stream one request's deltas into the builder and view; whether the answer may go on."""
        builder, view = self.builder, self.view
        add, take, cancelled = view.add, builder.add, self.cancelled.is_set
        try:
            with gate.open() if gate is not None else contextlib.nullcontext():
                for delta in deltas:  # the hot path: keep it to appends
                    text = take(delta)
                    if text:
                        add(text)
                    elif delta.parts is not None:
                        show_parts(view, builder.take_pending())
                    if builder.full:
                        break
                    if cancelled():
                        builder.interrupt()
                        break
        except KeyboardInterrupt:
            builder.interrupt()
        except GeminiError as failure:
            if cancelled():  # the stream was cut because the answer was cancelled
                builder.interrupt()
            else:
                builder.fail(failure)
        finally:
            deltas.close()
        return not (builder.full or builder.interrupted or builder.error)


def show_parts(view: View, pending: list) -> None:
    """Text, code (as Markdown) and images of a delta with parts, in order, into the view."""
    for piece in pending:
        if isinstance(piece, str):
            view.add(piece)
        else:
            view.add_image(piece)
