"""Only the final output: where nobody watches a cell run (nbclient, papermill, Voila), and for an
answer known whole before it is shown (a replay at once), which needs no painter to start and stop.

A live widget there is pure cost: nbclient keeps the state of every widget a cell made, closed
or not, in the executed notebook (``metadata.widgets``, the JavaScript module included), and its
HTML export then loads a widget renderer from the network. Voila sends a cell's outputs only
once the cell ends anyway. So the final output is the one and only output.
"""

from __future__ import annotations

from ..response import GeminiResponse


class HeadlessView:
    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images

    def start(self, label: str) -> None:
        pass

    def add(self, text: str) -> None:
        pass

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        pass

    def finish(self, response: GeminiResponse) -> None:
        from .final import show_final

        show_final(response, allow_images=self.allow_images)

    def add_image(self, image) -> None:
        pass
