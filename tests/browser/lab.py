"""A notebook open in JupyterLab, seen through Playwright: type, run, sample, inspect.

Everything waits on states (``wait_for_function`` / ``wait_for_selector``),
never on fixed sleeps.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

# The output area of the n-th cell (0-based) of the open notebook.
CELL_JS = "(i) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[i]"

# One frame's view of a cell's output, shared by the rAF sampler and one-off reads.
# mode: "live" (the widget is shown), "final" (a text/markdown output, no widget),
# "empty" (no output), "other" (anything else, e.g. "Error displaying widget").
SNAPSHOT_JS = """
window.__geminiSnapshot = (i) => {
  const cell = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[i];
  const area = cell && cell.querySelector('.jp-OutputArea');
  if (!area) return {mode: 'empty', len: 0, height: 0, text: ''};
  // The live answer: drawn by its widget, or (before that, or with no widget manager) the
  // output it is drawn over, which holds the answer so far.
  const live = area.querySelector('.gemini-magic');
  const slot = live ? null : area.querySelector('.gemini-magic-slot');
  const final = area.querySelector('.jp-OutputArea-output[data-mime-type="text/markdown"]');
  const pieces = live ? [...live.querySelectorAll('.gemini-magic-live')] : slot ? [slot.parentElement] : final ? [final] : [];
  const text = pieces.map((e) => e.innerText).join('');
  const mode = live || slot ? 'live' : final ? 'final' : area.querySelector('.jp-OutputArea-child') ? 'other' : 'empty';
  return {mode, len: text.length, height: area.getBoundingClientRect().height, text};
};
"""


class Notebook:
    """One notebook file, opened in its own browser context, with a kernel."""

    def __init__(self, lab, page, name: str, artifacts: Path):
        self.lab = lab
        self.page = page
        self.name = name
        self.artifacts = artifacts
        self.console: list[str] = []
        self.dialogs: list[tuple[str, str]] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    # -- opening -------------------------------------------------------------
    def open(self, cells: int = 4) -> None:
        """Create the file with ``cells`` empty code cells, open it, wait for an idle kernel."""
        content = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                "language_info": {"name": "python"},
            },
            "cells": [
                {
                    "cell_type": "code",
                    "id": uuid.uuid4().hex[:8],
                    "source": "",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
                for _ in range(cells)
            ],  # fmt: skip
        }
        self.lab.api("PUT", f"/api/contents/{self.name}", {"type": "notebook", "format": "json", "content": content})
        self.goto()

    def goto(self) -> None:
        """(Re)open the notebook in a fresh workspace and wait until its kernel is idle."""
        if self.lab.app == "notebook":
            self.page.goto(self.lab.url(f"/notebooks/{self.name}"))
        else:
            workspace = uuid.uuid4().hex[:8]
            self.page.goto(self.lab.url(f"/lab/workspaces/{workspace}/tree/{self.name}?reset"))
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        self.page.add_script_tag(content=SNAPSHOT_JS)
        self.wait_idle()

    def wait_idle(self, timeout: float = 90_000) -> None:
        if self.lab.app == "notebook":
            self._wait_idle_notebook(timeout)
            return
        # The toolbar's idle circle shows before a kernel exists; the status bar's
        # "(ipykernel) | Idle" only once it is connected (keys pressed earlier are lost).
        self.page.wait_for_function(
            "() => (document.querySelector('#jp-main-statusbar')?.innerText || '').includes('(ipykernel) | Idle')",
            timeout=timeout,
        )

    def _wait_idle_notebook(self, timeout: float) -> None:
        # Notebook 7 has no status bar: its kernel, idle on the server, and the toolbar's
        # execution indicator, idle in the page.
        deadline = time.monotonic() + timeout / 1000

        def server_idle() -> bool:
            sessions = [s for s in self.lab.api("GET", "/api/sessions") or [] if s["path"].endswith(self.name)]
            return bool(sessions) and sessions[0]["kernel"]["execution_state"] == "idle"

        while not server_idle():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel of {self.name} did not become idle")
            time.sleep(0.1)
        self.page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout)

    # -- cells ---------------------------------------------------------------
    def cell(self, i: int):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(i)

    def output(self, i: int):
        return self.cell(i).locator(".jp-OutputArea")

    def type(self, i: int, text: str) -> None:
        """Put ``text`` in cell ``i``'s editor the way a paste would (no auto-closing brackets)."""
        editor = self.cell(i).locator(".cm-content")
        editor.click()
        self.page.wait_for_function(f"(i) => ({CELL_JS})(i).querySelector('.cm-editor.cm-focused') !== null", arg=i)
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.wait_for_function(
            f"""([i, text]) => {{
                const lines = [...({CELL_JS})(i).querySelectorAll('.cm-line')].map((l) => l.textContent);
                return lines.join('\\n') === text;
            }}""",
            arg=[i, text],
        )

    def run(self, i: int) -> None:
        """Run cell ``i`` with Ctrl+Enter (it stays selected; no cell is added)."""
        self.cell(i).locator(".cm-content").click()
        self.page.keyboard.press("Control+Enter")

    def execute(self, i: int, text: str) -> None:
        self.type(i, text)
        self.run(i)

    def wait_done(self, i: int, timeout: float = 90_000) -> None:
        """Wait until cell ``i`` has run: an execution count and an idle kernel."""
        self.page.wait_for_function(
            f"""(i) => {{
                const prompt = ({CELL_JS})(i).querySelector('.jp-InputArea-prompt');
                return prompt && /\\[\\d+\\]/.test(prompt.textContent);
            }}""",
            arg=i,
            timeout=timeout,
        )
        self.wait_idle(timeout)

    # -- what the page shows -------------------------------------------------
    def snapshot(self, i: int) -> dict:
        return self.page.evaluate("(i) => window.__geminiSnapshot(i)", i)

    def wait_mode(self, i: int, mode: str, min_len: int = 1, timeout: float = 90_000) -> None:
        """Wait until cell ``i`` shows ``mode`` with at least ``min_len`` characters of text
        (JupyterLab renders Markdown asynchronously: a new output is blank for a frame or two)."""
        self.page.wait_for_function(
            "([i, mode, n]) => { const s = window.__geminiSnapshot(i); return s.mode === mode && s.len >= n; }",
            arg=[i, mode, min_len],
            timeout=timeout,
            polling="raf",
        )

    def start_sampler(self, i: int, extra_js: str = "null") -> None:
        """Record cell ``i``'s output every animation frame until ``stop_sampler``.

        ``extra_js`` is the body of a function ``(area) => value`` evaluated each
        frame and stored as ``extra`` (e.g. a DOM safety check).
        """
        self.page.evaluate(
            f"""(i) => {{
                const extra = (area) => {{ {extra_js} }};
                window.__samples = [];
                window.__sampling = true;
                const tick = (t) => {{
                    const s = window.__geminiSnapshot(i);
                    const cell = ({CELL_JS})(i);
                    const area = cell && cell.querySelector('.jp-OutputArea');
                    window.__samples.push({{t, mode: s.mode, len: s.len, height: s.height,
                                            extra: area ? extra(area) : null}});
                    if (window.__sampling) requestAnimationFrame(tick);
                }};
                requestAnimationFrame(tick);
            }}""",
            i,
        )

    def stop_sampler(self) -> list[dict]:
        return self.page.evaluate("() => { window.__sampling = false; return window.__samples; }")

    def screenshot(self, i: int, name: str) -> Path:
        """A screenshot of cell ``i``'s output under artifacts/browser/."""
        path = self.artifacts / name
        output = self.cell(i).locator(".jp-Cell-outputWrapper")
        output.scroll_into_view_if_needed()
        output.screenshot(path=str(path))
        return path

    def body_text(self) -> str:
        return self.page.evaluate("() => document.body.innerText")

    def save(self, timeout: float = 30) -> dict:
        """Ctrl+S, then wait until the server has a newer file; return it (the saved notebook)."""
        before = self.lab.api("GET", f"/api/contents/{self.name}?content=0")["last_modified"]
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + timeout
        while self.lab.api("GET", f"/api/contents/{self.name}?content=0")["last_modified"] == before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} was not saved within {timeout} s")
            time.sleep(0.05)
        return self.saved()

    def saved(self) -> dict:
        """The notebook file as the server has it."""
        return self.lab.api("GET", f"/api/contents/{self.name}?content=1")["content"]

    def dump(self, obj) -> str:
        return json.dumps(obj, indent=1)[:4000]
