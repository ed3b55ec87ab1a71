"""What each kind of front end gets from a streamed answer, told apart by the execute request
(a notebook UI sends a cell id; nbclient refuses stdin; a kernel console does neither)."""

import json
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from tests.kernel_helpers import gemini_kernel, kernel_env
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

STREAMED = "%%gemini --out answer\nA streamed one. [[offline chunks=60 chunk_chars=20 delay=0.03]]"


def test_an_executed_notebook_keeps_no_widget_state_and_its_html_loads_nothing(gemini_server, monkeypatch):
    # nbclient keeps the state of every widget a cell made, closed or not: a live widget there
    # left ~4.3 KB (its JavaScript module included) per answer in metadata.widgets, and the
    # HTML export then loaded a widget renderer from a CDN.
    for name, value in kernel_env(GEMINI_API_KEY=TEST_KEY, GOOGLE_GEMINI_BASE_URL=gemini_server.url).items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext gemini_magic"),
            nbformat.v4.new_code_cell(STREAMED),
        ]
    )
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    assert "widgets" not in notebook.metadata
    (output,) = notebook.cells[1].outputs
    assert output.output_type == "display_data" and "text/markdown" in output.data
    assert "application/vnd.jupyter.widget-view+json" not in output.data
    html, _ = HTMLExporter().from_notebook_node(notebook)
    # (nbconvert's template loads MathJax for any notebook; what an answer added was the widget renderer.)
    assert "@jupyter-widgets/html-manager" not in html and "widget-state+json" not in html


def test_a_console_sees_the_answer_grow_as_text_and_whole_at_the_end(gemini_server):
    # jupyter console prints stream text and displays but ignores display updates: the live
    # widget showed as its repr there, and the final output (an update) never appeared.
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        run = kernel.execute(STREAMED, front_end="console")
        assert run.status == "ok"
        assert run.of_type("comm_open", "update_display_data") == []
        pieces = [m["content"]["text"] for m in run.of_type("stream") if m["content"]["name"] == "stdout"]
        assert len(pieces) >= 3  # it grows: the answer comes in several prints
        answer = kernel.value("answer.text")
        assert answer and answer in run.stdout
        assert "tokens" in run.stdout.split(answer, 1)[1]  # the footer follows it


def test_a_notebook_ui_still_gets_the_live_widget(gemini_server):
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        run = kernel.execute(STREAMED, front_end="notebook")
        assert run.of_type("comm_open")
        assert run.live_paints()


TEN_SECONDS = "%%gemini --out answer\nA slow one. [[offline chunks=100 chunk_chars=20 delay=0.1]]"


def test_a_notebook_that_cannot_draw_the_widget_sees_the_answer_grow_by_display_updates(gemini_server):
    # A JupyterLab server from another environment (no anywidget, with or without
    # jupyterlab_widgets) never answers the probe. The widget showed there as its repr or as
    # a red widget error box for the whole stream; now the answer grows as Markdown.
    with gemini_kernel(gemini_server.url, TEST_KEY, draws_widgets=False) as kernel:
        kernel.wait_for_probe()
        time.sleep(2.5)  # a front end that draws the widget would have answered by now
        run = kernel.execute(TEN_SECONDS)
        assert run.status == "ok"
        states = [m["content"]["data"]["state"] for m in run.of_type("comm_open")]
        assert [s for s in states if "_stream" in s and not s["_probe"]] == []  # no live widget (the probe may open)
        assert run.live_paints() == []
        (shown,) = run.of_type("display_data")
        assert "application/vnd.jupyter.widget-view+json" not in shown["content"]["data"]
        updates = [m["content"]["data"] for m in run.of_type("update_display_data")]
        answer = kernel.value("answer.text")
        growing = [u["text/plain"] for u in updates[:-1]]
        assert len(growing) >= 5, len(growing)  # at least 5 growing states of a 10 s answer
        texts = [g.rsplit("\n\n[", 1)[0] for g in growing]
        assert all(answer.startswith(t) for t in texts) and texts == sorted(texts, key=len)
        # ...and each is text a save keeps: the answer so far, in the output itself.
        assert all("text/markdown" in u and "text/plain" in u for u in updates)
        assert updates[-1]["text/markdown"].startswith(answer.split("\n", 1)[0])
        live_bytes = sum(len(json.dumps(m["content"])) for m in run.of_type("display_data", "update_display_data"))
        assert live_bytes <= 20 * len(answer.encode())


def test_a_front_end_without_a_widget_manager_is_told_by_its_closing_the_probe(gemini_server):
    # JupyterLab closes a comm whose target it does not know: no widget manager at all.
    with gemini_kernel(gemini_server.url, TEST_KEY, draws_widgets=False) as kernel:
        probe = kernel.wait_for_probe()
        kernel.client.shell_channel.send(kernel.client.session.msg("comm_close", {"comm_id": probe, "data": {}}))
        run = kernel.execute(STREAMED)
        assert run.live_paints() == [] and run.of_type("update_display_data")
        assert kernel.value("__import__('gemini_magic.views.probe').views.probe.widgets_fail(None)") is True


def test_the_sdk_is_imported_in_the_background_once_the_loading_cell_has_ended(gemini_server):
    with gemini_kernel(gemini_server.url, TEST_KEY, draws_widgets=False) as kernel:
        deadline = time.monotonic() + 30
        while not kernel.value("'google.genai' in __import__('sys').modules"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
