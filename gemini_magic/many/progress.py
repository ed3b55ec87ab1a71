"""Many prompts at once, what the user sees: the progress bar, a batch job's state, the summary."""

from __future__ import annotations

import sys
import time
from typing import Optional

from ..output.escape import md, one_line
from ..response import GeminiResponse
from .results import Counts, Outcome


class Progress:
    """A tqdm bar: a widget in a kernel (replaced by a static summary at the end), else text."""

    def __init__(self, total: int, *, label: str, widget: bool, done: int = 0, stream=None):
        self.widget = widget
        self.handle = None
        self.last = done
        kwargs = dict(total=total, desc=label, unit="item", initial=done, dynamic_ncols=True)
        if widget:
            from IPython.display import display
            from tqdm.notebook import tqdm

            self.bar = tqdm(display=False, **kwargs)
            self.handle = display(self.bar.container, display_id=True)
        else:
            from tqdm.std import tqdm

            self.bar = tqdm(file=stream or sys.stderr, mininterval=0.25, **kwargs)

    def update(self, counts: Counts) -> None:
        finished = counts.finished
        if finished != self.last:
            self.bar.set_postfix_str(counts.postfix(), refresh=False)
            self.bar.update(finished - self.last)
            self.last = finished

    def finish(self, counts: Counts, bundle: Optional[tuple] = None) -> None:
        self.update(counts)
        self.bar.set_postfix_str(counts.postfix(), refresh=False)
        self.bar.refresh()
        self.bar.close()
        if bundle is not None and self.handle is None:
            print(bundle[0]["text/plain"], end="")
        if self.handle is not None and bundle is not None:
            data, metadata = bundle
            self.handle.update(data, raw=True, metadata=metadata)
            container = self.bar.container
            for widget in (*container.children, container):
                for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
                    if part is not None:
                        part.close()


class BatchStatus:
    """The state of a Batch API job: one line updated in place (kernel) or printed (terminal)."""

    def __init__(self, *, widget: bool, count: int = 0, stream=None):
        self.widget = widget
        self.count = count
        self.handle = None
        self.stream = stream
        self.shown = None
        self.line: Optional[str] = None
        self.started = time.perf_counter()

    def show(self, job) -> None:
        state = job.state.removeprefix("JOB_STATE_")
        elapsed = time.perf_counter() - self.started
        requests = f" · {self.count:,} requests" if self.count else ""
        line = f"Gemini batch job {job.name}: {state}{requests} · {elapsed:.0f} s"
        if self.widget:
            from IPython.display import display

            data = {"text/markdown": f"<sub>⏳ {md(line)}</sub>", "text/plain": one_line(line)}
            if self.handle is None:
                self.handle = display(data, raw=True, display_id=True)
            elif line != self.line:
                self.handle.update(data, raw=True)
            self.line = line
        elif state != self.shown:
            print(one_line(line), file=self.stream or sys.stdout, flush=True)
        self.shown = state

    def finish(self, counts: Counts, bundle: tuple) -> None:
        data, metadata = bundle
        if self.handle is not None:
            self.handle.update(data, raw=True, metadata=metadata)
        elif self.widget:
            from IPython.display import display

            display(data, raw=True, metadata=metadata)
        else:
            print(data["text/plain"], end="", file=self.stream or sys.stdout)


def problem_message(outcome: Outcome, names: list[str], *, again: str = "") -> Optional[str]:
    """The one line that fails the cell, or None when the run is good enough to go on."""
    kept = " and ".join(names) or "the result"
    counts = outcome.counts
    if outcome.job and outcome.interrupted:
        held = f"{kept} holds placeholders naming it. " if outcome.results is not None else ""
        again = again or f"Run the cell again (or %gemini --batch-job {outcome.job} --out NAME)"
        return f"Left Gemini batch job {outcome.job} running at Google; {held}{again} to collect the answers."
    if outcome.interrupted:
        again = again or "Run the cell again"
        return (
            f"Interrupted: {counts.done + counts.reused:,} of {counts.total:,} answers are kept in {kept}; "
            f"{again[0].lower()}{again[1:]} to send only the rest."
        )
    if outcome.fatal:
        return f"{outcome.fatal} ({counts.done + counts.reused:,} of {counts.total:,} answers kept in {kept}.)"
    if counts.failed and not counts.done and not counts.reused:
        first = next((r.error for r in outcome.results or () if isinstance(r, GeminiResponse) and r.error), "")
        return f"Every request failed; the first: {first}"
    return None
