"""Whether this session's front end can draw the live widget, learned once, after ``%load_ext``.

The kernel cannot ask mid-cell: a front end's answer is read only when the running cell ends.
So right after ``%load_ext`` (in the background, keeping ``%load_ext`` instant) the kernel opens
one hidden probe widget. A front end with a widget manager and anywidget builds its model and
answers "ready" within milliseconds; one without a widget manager closes it; one without
anywidget fails to load it and says nothing. A cell whose request the front end sent well after
the probe went out (``answer_seconds``) comes behind that answer on the shell channel, so by
then silence means "cannot draw it". Once that is known, answers stream by display updates,
which every notebook front end shows (see ``updating.py``), never as a repr or a widget error
box. Before anything is known (a "Run all" right after ``%load_ext``) the live widget is used,
with text beside it for a front end without a widget manager.

The same background start imports what the first answer needs (google.genai, the renderer,
the widget), so the first cell does not pay for it.
"""

from __future__ import annotations

import contextvars
import threading

_ready = threading.Event()
_closed = threading.Event()  # the front end closed the probe: it has no widget manager
_started = threading.Lock()
_probe = None  # the open probe widget, until its answer arrives
_opened_at = None  # time.time() when the probe went out
answer_seconds = 2.0  # a front end that draws it answers in milliseconds; this leaves room for clock skew


def widgets_render() -> bool:
    """True once this session's front end has said it can draw the live widget."""
    return _ready.is_set()


def widgets_fail(request_sent: float | None) -> bool:
    """True if this session's front end cannot draw the live widget, as far as a cell whose
    request was sent at ``request_sent`` (the front end's clock, epoch seconds) can tell."""
    if _ready.is_set():
        return False
    if _closed.is_set():
        return True
    return _opened_at is not None and request_sent is not None and request_sent - _opened_at > answer_seconds


def start(shell) -> None:
    """Once the cell that loaded the extension has ended: warm up in the background and, in a
    notebook UI, ask the front end (once a session). Nothing of it delays ``%load_ext``."""
    if not _started.acquire(blocking=False):
        return

    def after_the_loading_cell(result=None) -> None:
        shell.events.unregister("post_run_cell", after_the_loading_cell)
        _begin(shell)

    shell.events.register("post_run_cell", after_the_loading_cell)


def _begin(shell) -> None:
    from .front_end import FrontEnd, front_end_of

    ask = front_end_of(shell) is FrontEnd.NOTEBOOK
    context = contextvars.copy_context()  # the probe's messages carry the loading cell's parent header
    threading.Thread(target=context.run, args=(_warm_up, ask), name="gemini-warm-up", daemon=True).start()


def _warm_up(ask: bool) -> None:
    from .. import settings

    try:
        if settings.current().replay != "only":  # classroom replay never calls Gemini
            import google.genai  # noqa: F401  (~0.4 s the first answer would otherwise wait for)

        from ..render import IncrementalRenderer
        from ..render.html import to_html

        IncrementalRenderer().feed("warm")
        to_html("```python\nx = 1\n```\n\n$x^2$", False, typeset=True)  # Pygments' and latex2mathml's first use
        if ask:
            _open_probe()
    except Exception:  # a failed warm-up only costs the first answer its time
        pass


def _open_probe() -> None:
    global _probe, _opened_at
    import time

    from .widget import LiveAnswer

    class Probe(LiveAnswer):
        # A method, not an on_msg callback added after the comm is open: no answer is missed.
        def _handle_custom_msg(self, content, buffers):
            _answered(self, content, buffers)

    _opened_at = time.time()
    _probe = Probe(_probe=True)
    _probe.comm.on_close(lambda _message: _closed.set() if not _ready.is_set() else None)


def _answered(widget, content, buffers) -> None:
    global _probe
    if isinstance(content, dict) and content.get("ready"):
        _ready.set()
        if _probe is not None:
            for part in (getattr(_probe, "layout", None), _probe):  # no comm left open
                if part is not None:
                    part.close()
            _probe = None
