"""Interrupt (Ctrl-C, the stop button) stops the stream, and only the stream.

A kernel interrupt is a SIGINT, which Python turns into a KeyboardInterrupt
wherever the main thread happens to be. A second one a millisecond after the
first would land in the code that keeps the partial answer and closes the live
view. So while a cell runs, SIGINT goes through :class:`InterruptGate`: it
raises only while the gate is open (around the stream loop), closes the gate as
it raises, and is merely counted at any other moment.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class InterruptGate:
    """Where KeyboardInterrupt may be raised: only inside :meth:`open`."""

    def __init__(self) -> None:
        self.allow = False
        self.tripped = False  # an interrupt was raised through the gate
        self.deferred = 0  # interrupts that came while the gate was closed
        self.always_open = False  # not the main thread: no signal reaches it, nothing to guard

    def _handle(self, signum, frame) -> None:
        if self.allow:
            self.allow = False  # a second interrupt, right after, is deferred
            self.tripped = True
            raise KeyboardInterrupt
        self.deferred += 1

    @contextlib.contextmanager
    def open(self) -> Iterator[None]:
        if self.always_open:
            yield
            return
        self.allow = True
        try:
            yield
        finally:
            self.allow = False


@contextlib.contextmanager
def guarded(*, until_reply: bool = False) -> Iterator[InterruptGate]:
    """Install an :class:`InterruptGate` for SIGINT (main thread only; elsewhere the gate is
    always open, as Python delivers no signal to other threads).

    ``until_reply``: in a kernel, once an interrupt has stopped the stream, the gate
    stays (closed) after the block. The cell is failing anyway, and a third Ctrl-C
    while ipykernel sends the execute reply would lose that reply; ipykernel puts
    its own handler back once the reply is sent."""
    gate = InterruptGate()
    if threading.current_thread() is not threading.main_thread():
        gate.always_open = True
        yield gate
        return
    previous = signal.signal(signal.SIGINT, gate._handle)
    try:
        yield gate
    finally:
        if not (until_reply and (gate.tripped or gate.deferred)):
            signal.signal(signal.SIGINT, previous)
