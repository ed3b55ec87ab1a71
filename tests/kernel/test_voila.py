"""Voila: it sends a cell's outputs only once the cell ends, so the answer must simply appear
whole and clean: no widget, no repr, no widget state."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

pytestmark = pytest.mark.kernel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_voila_shows_the_whole_answer_clean(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext gemini_magic"),
            nbformat.v4.new_code_cell("%%gemini --offline\nA list. [[offline chunks=30 chunk_chars=20 delay=0.02]]"),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "answer.ipynb")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "GOOGLE_"))}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    voila = subprocess.Popen(
        [sys.executable, "-m", "voila", "answer.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and voila.poll() is None
                time.sleep(0.5)
        assert "object at 0x" not in page
        assert "offline" in page.lower() and "tokens" in page  # the demo answer and its footer
        # No live widget: the outputs Voila embeds carry no widget view of ours.
        for line in page.splitlines():
            if "widget-view+json" in line:
                assert "LiveAnswer" not in line and "_stream" not in line, line
        assert "_stream" not in json.dumps(page)
    finally:
        voila.terminate()
        voila.wait(timeout=30)
