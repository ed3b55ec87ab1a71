"""Where a streamed answer is shown: a live widget in a notebook that draws it, display updates
in one that does not (yet), text in a terminal or console, nothing until the end where nobody
watches (nbclient, papermill, Voila).

Every view implements :class:`~gemini_magic.views.base.View`: the same calls from the
stream loop (``start``, ``add`` for every chunk, which must stay cheap, ``add_image``,
``retrying``, ``finish``). Which view a cell gets is decided here, and only here.
"""

from __future__ import annotations

from typing import Optional

from .base import View
from .front_end import FrontEnd, front_end_of, request_sent_at

__all__ = ["View", "choose_view"]


def choose_view(shell, *, allow_images: bool = False, whole: bool = False, fenced: Optional[str] = None) -> View:
    """The view for the running cell's answer.

    ``whole``: the answer is known whole before it is shown (a replay at once): in a
    kernel, no live view to start and stop. ``fenced``: the output format; ``text`` and
    ``json`` are shown as a fenced block in a kernel. Otherwise the view suits the front
    end that sent the cell."""
    in_kernel = getattr(shell, "kernel", None) is not None
    if whole and in_kernel:
        from .headless import HeadlessView

        view: View = HeadlessView(allow_images=allow_images)
    else:
        view = _for_front_end(shell, allow_images)
    if fenced in ("text", "json") and in_kernel:
        from ..output.fenced import FencedView

        view = FencedView(view, fenced)
    return view


def _for_front_end(shell, allow_images: bool) -> View:
    """The view that suits the front end that sent the running cell."""
    front_end = front_end_of(shell)
    if front_end is FrontEnd.NOTEBOOK:
        from . import probe

        if probe.widgets_fail(request_sent_at(shell)):
            from .updating import UpdatingView

            return UpdatingView(allow_images=allow_images)
        from .live import LiveView

        return LiveView(allow_images=allow_images)
    if front_end is FrontEnd.HEADLESS:
        from .headless import HeadlessView

        return HeadlessView(allow_images=allow_images)
    from .text import TextView

    # A kernel console's stdout is batched into stream messages by ipykernel: no flush per chunk.
    return TextView(flush_each_chunk=front_end is FrontEnd.TERMINAL)
