"""Which kind of front end sent the running cell, told from the request itself.

A kernel cannot ask its front end anything while a cell runs (the front end's answer is
only read once the cell ends), so the execute request is the evidence:

- notebook UIs (JupyterLab, Notebook 7, VS Code) send the cell's id in the request's
  metadata (``cellId``): they draw widgets and update outputs in place;
- nbclient (nbconvert, papermill, Voila's executor) sends no cell id and refuses stdin
  (``allow_stdin`` false): nobody watches the cell run, and every widget it makes stays
  in the executed notebook as closed-widget state;
- a kernel console (``jupyter console``, qtconsole) sends no cell id and allows stdin: it
  prints stream text and displays, but ignores display updates.
"""

from __future__ import annotations

import enum


class FrontEnd(enum.Enum):
    TERMINAL = "terminal IPython: no kernel"
    NOTEBOOK = "a notebook UI: widgets and display updates"
    HEADLESS = "a runner nobody watches: nbclient, papermill, Voila"
    CONSOLE = "a kernel console: stream text, no display updates"


def front_end_of(shell) -> FrontEnd:
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return FrontEnd.TERMINAL
    try:
        parent = kernel.get_parent("shell")
    except Exception:  # an older or foreign kernel: assume the common case
        return FrontEnd.NOTEBOOK
    if not isinstance(parent, dict) or not parent:
        return FrontEnd.NOTEBOOK
    metadata = parent.get("metadata") or {}
    if isinstance(metadata, dict) and metadata.get("cellId"):
        return FrontEnd.NOTEBOOK
    content = parent.get("content") or {}
    if isinstance(content, dict) and content.get("allow_stdin") is False:
        return FrontEnd.HEADLESS
    return FrontEnd.CONSOLE


def request_sent_at(shell) -> float | None:
    """When the front end sent the running cell's request (epoch seconds, its clock), if known."""
    try:
        date = shell.kernel.get_parent("shell")["header"]["date"]
    except Exception:
        return None
    if isinstance(date, str):
        from datetime import datetime

        try:
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return None
    return date.timestamp() if hasattr(date, "timestamp") else None
