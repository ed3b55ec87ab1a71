"""An answer known whole before it is shown (a replay at once): straight to its final output.

What :class:`~.live.LiveView` shows for an answer done within its grace period,
without starting and stopping the painter: the same final bundle, displayed once.
"""

from __future__ import annotations

from ..output.final import final_bundle


class InstantView:
    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images

    def start(self, label: str) -> None:
        pass

    def add(self, text: str) -> None:
        pass

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        pass

    def finish(self, response) -> None:
        from IPython.display import display

        bundle, metadata = final_bundle(response, allow_images=self.allow_images)
        display(bundle, raw=True, metadata=metadata)
