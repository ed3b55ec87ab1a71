"""A hostile gateway in JupyterLab: what a server names things cannot run, load or link anything.

The kernel's offline server plays the gateway (``shared_server().script(Reply(...))``):
a model name that is an image and a script, a batch job named ``<img onerror=...>``.
A small HTTP server here counts whether the page ever asks for the image.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from .test_jupyterlab import UNSAFE_DOM_JS, load_extension

pytestmark = pytest.mark.browser


@pytest.fixture
def image_server():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


SETUP = """from gemini_magic.offline import shared_server; from gemini_magic.offline.scripts import Reply
H = "![x](http://127.0.0.1:{port}/p.png) <img src=x onerror=alert(1)> [y](javascript:alert(2)) <img src=http://127.0.0.1:{port}/q.png>"
ev = {{"candidates": [{{"content": {{"role": "model", "parts": [{{"text": "An answer."}}]}}, "finishReason": "STOP"}}], "modelVersion": H}}
shared_server().script(Reply(events=[ev]))
job = "batches/x<img src=x onerror=alert(3)>"
op = {{"name": job, "metadata": {{"name": job, "state": "BATCH_STATE_<img src=y onerror=alert(4)>", "model": H}}}}
shared_server().script(Reply(match="batches/", body=__import__("json").dumps(op).encode(), headers=[("Content-Type", "application/json")]))"""


def check_page(nb, hits):
    outputs = nb.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
    assert outputs.count() >= 2
    for i in range(outputs.count()):
        result = outputs.nth(i).evaluate(f"(area) => {{ {UNSAFE_DOM_JS} }}")
        assert result["bad"] == [], result
    images = nb.page.evaluate("() => document.querySelectorAll('.jp-OutputArea-output img').length")
    links = nb.page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output a')].map(a => a.href)")
    assert images == 0
    assert not any("127.0.0.1" in link or link.startswith("javascript") for link in links), links
    # Let any image the page may have asked for arrive before counting.
    nb.page.evaluate("() => new Promise((done) => setTimeout(done, 300))")
    assert hits == [] and nb.dialogs == []


def test_server_names_and_batch_jobs_show_as_text_live_and_after_reopening(notebook, image_server):
    port, hits = image_server
    nb = notebook
    load_extension(nb)
    nb.execute(1, SETUP.format(port=port))
    nb.wait_done(1)
    nb.execute(2, "%%gemini --offline\nHi")
    nb.wait_mode(2, "final")
    nb.wait_done(2)
    footer = nb.output(2).inner_text()
    assert "onerror=alert(1)" in footer and "![x](http://127.0.0.1" in footer  # shown as text, whole
    nb.execute(3, "%gemini --offline --batch-job 'batches/x<img src=x onerror=alert(3)>'")
    nb.wait_done(3)
    assert "UNKNOWN" in nb.cell(3).inner_text()
    check_page(nb, hits)
    nb.screenshot(2, "hostile-names.png")

    nb.save()
    nb.lab.shutdown_kernels()
    nb.goto()
    nb.page.wait_for_selector(".jp-OutputArea-output[data-mime-type='text/markdown']")
    check_page(nb, hits)
