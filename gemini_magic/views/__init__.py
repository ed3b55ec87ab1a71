"""Where a streamed answer is shown: a live widget in Jupyter, plain text in a terminal.

Every view takes the same calls from the stream loop: ``start``, ``add`` (for
every chunk: it must stay cheap), ``retrying``, ``finish``.
"""

from __future__ import annotations


def choose_view(shell, *, allow_images: bool = False):
    """The live widget when running in a kernel, plain text in terminal IPython."""
    if getattr(shell, "kernel", None) is not None:
        from .live import LiveView

        return LiveView(allow_images=allow_images)
    from .text import TextView

    return TextView()
