"""The answers under way in one magics instance.

Background work belongs to the magics object, not to module globals (as IPython's
``ScriptMagics`` keeps its ``bg_processes``): every answer is registered while it runs,
and ``%unload_ext``, or the magics object being collected, cancels those still running.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import Run


class Running:
    """A registry of running answers, safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: list[Run] = []

    @contextlib.contextmanager
    def register(self, run: Run) -> Iterator[Run]:
        """Keep ``run`` in the registry for the duration of the block."""
        with self._lock:
            self._runs.append(run)
        try:
            yield run
        finally:
            with self._lock:
                self._runs.remove(run)

    def runs(self) -> list[Run]:
        """The answers running now, oldest first."""
        with self._lock:
            return list(self._runs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def cancel_all(self) -> int:
        """Cancel every running answer (each keeps what it has); how many there were."""
        runs = self.runs()
        for run in runs:
            run.cancel()
        return len(runs)
