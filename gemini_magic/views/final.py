"""Showing an answer's final outputs: the first in the live view's slot (or new), the rest after it."""

from __future__ import annotations

from ..output.final import final_outputs
from ..response import GeminiResponse


def show_final(response: GeminiResponse, handles=(), *, allow_images: bool = False) -> None:
    """Display the answer's outputs in order. ``handles``: the live view's displays, in order,
    which become the first outputs (a saved notebook then keeps no live view); outputs beyond
    them are displayed after, and live displays beyond the outputs are emptied."""
    from IPython.display import display

    outputs = final_outputs(response, allow_images=allow_images)
    for n, (bundle, metadata) in enumerate(outputs):
        if n < len(handles):
            handles[n].update(bundle, raw=True, metadata=metadata)
        else:
            display(bundle, raw=True, metadata=metadata)
    for handle in handles[len(outputs) :]:
        handle.update({"text/plain": ""}, raw=True)
