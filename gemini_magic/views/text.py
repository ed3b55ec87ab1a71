"""Terminal IPython: the answer printed as it streams, then its footer."""

from __future__ import annotations

import sys

from ..response import GeminiResponse


class TextView:
    """Terminal IPython: print the text as it streams, then the footer."""

    def __init__(self, stream=None):
        self._out = stream

    @property
    def out(self):
        return self._out or sys.stdout

    def start(self, label: str) -> None:
        pass

    def add(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self.out.write(f"[{reason} ({attempt}/{attempts})]\n")

    def finish(self, response: GeminiResponse) -> None:
        end = "\n" if response.text and not response.text.endswith("\n") else ""
        self.out.write(f"{end}\n[{response.footer()}]\n")
        self.out.flush()
