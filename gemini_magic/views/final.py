"""Showing an answer's final outputs: the first in the live view's slot (or new), the rest after it."""

from __future__ import annotations

from ..output.final import final_outputs
from ..response import GeminiResponse


def show_final(response: GeminiResponse, handle=None, *, allow_images: bool = False) -> None:
    """Display the answer's outputs in order. ``handle``: the live view's display, which
    becomes the first output (a saved notebook then keeps no live view)."""
    from IPython.display import display

    for n, (bundle, metadata) in enumerate(final_outputs(response, allow_images=allow_images)):
        if n == 0 and handle is not None:
            handle.update(bundle, raw=True, metadata=metadata)
        else:
            display(bundle, raw=True, metadata=metadata)
