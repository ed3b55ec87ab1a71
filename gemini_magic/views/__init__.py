"""Where a streamed answer is shown: a live widget in a notebook that draws it, display updates
in one that does not (yet), text in a terminal or console, nothing until the end where nobody
watches (nbclient, papermill, Voila).

Every view takes the same calls from the stream loop: ``start``, ``add`` (for
every chunk: it must stay cheap), ``retrying``, ``finish``.
"""

from __future__ import annotations

from .front_end import FrontEnd, front_end_of, request_sent_at


def choose_view(shell, *, allow_images: bool = False):
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
