"""One run: stream an answer into a view and keep all of it, whatever happens."""

from __future__ import annotations

import contextlib
import time
from typing import Optional

from ..answer import AnswerBuilder
from ..client import Request, stream_answer
from ..errors import GeminiError
from ..interrupts import InterruptGate
from ..response import GeminiResponse


def run(
    request: Request, view, *, stream: bool = True, gate: Optional[InterruptGate] = None, source=None, replayed=None
) -> GeminiResponse:
    """Stream ``request`` into ``view`` and return the whole answer as a GeminiResponse.

    An interrupt or a failure ends the stream early; the text received so far
    is kept and the response says what happened (``.interrupted``, ``.error``).
    Interrupts raise only while the stream is read (``gate``): the view is always
    finished, even on a second Ctrl-C right after the first. ``source``: deltas
    to show instead of asking Gemini: a recorded answer, ``replayed`` its record
    (the response says so before it is shown).
    """
    builder = AnswerBuilder(request.model, request.connection.max_answer_chars)
    add = view.add
    take = builder.add
    response = None
    started = time.perf_counter()
    try:
        view.start(request.model)
        deltas = source if source is not None else stream_answer(request, stream=stream, on_retry=view.retrying)
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
        except KeyboardInterrupt:
            builder.interrupt()
        except GeminiError as failure:
            builder.fail(failure)
        finally:
            deltas.close()
        response = builder.response(time.perf_counter() - started)
    finally:
        if response is None:  # a bug above: still show and keep what arrived
            builder.fail("gemini_magic stopped on an internal error; the text so far is kept.")
            response = builder.response(time.perf_counter() - started)
        if replayed is not None:
            from ..replay import replayed as mark_replayed

            mark_replayed(response, replayed)
        view.finish(response)
    return response


def show_parts(view, pending: list) -> None:
    """Text, code (as Markdown) and images of a delta with parts, in order, into the view."""
    add_image = getattr(view, "add_image", None)
    for piece in pending:
        if isinstance(piece, str):
            view.add(piece)
        elif add_image is not None:
            add_image(piece)
