"""Terminal IPython and kernel consoles: the answer printed as it streams, then its footer."""

from __future__ import annotations

import sys

from ..response import GeminiResponse


class TextView:
    """Print the text as it streams, then the footer.

    In terminal IPython each chunk is flushed to the screen. In a kernel (``jupyter console``)
    stdout becomes stream messages, which ipykernel already sends every 0.2 s: flushing each
    chunk there would make one message per chunk.
    """

    def __init__(self, stream=None, *, flush_each_chunk: bool = True):
        self._out = stream
        self._flush_each_chunk = flush_each_chunk

    @property
    def out(self):
        return self._out or sys.stdout

    def start(self, label: str) -> None:
        pass

    def add(self, text: str) -> None:
        self.out.write(text)
        if self._flush_each_chunk:
            self.out.flush()

    def add_image(self, image) -> None:
        self.out.write(f"\n[{image.describe()}, kept in _gemini.images]\n")

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self.out.write(f"[{reason} ({attempt}/{attempts})]\n")

    def finish(self, response: GeminiResponse) -> None:
        end = "\n" if response.text and not response.text.endswith("\n") else ""
        self.out.write(f"{end}\n[{response.footer()}]\n")
        self.out.flush()
