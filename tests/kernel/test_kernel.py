"""The magic in a real Jupyter kernel: what the front end receives, and what a saved notebook keeps."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gemini_magic.render.html import to_html
from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY, expected_answer

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PACED_PROMPT = "Describe a histogram. [[offline chunks=40 chunk_chars=20 delay=0.03]]"


@pytest.fixture(scope="module")
def kernel(gemini_server):
    """A kernel whose SDK is pointed at the offline server the way a user would: by environment."""
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        yield kernel


def test_a_paced_answer_streams_in_many_updates_then_ends_as_static_markdown(kernel, gemini_server):
    run = kernel.execute(f"%%gemini --out answer\n{PACED_PROMPT}")
    assert run.status == "ok", run.messages
    expected = expected_answer(gemini_server, PACED_PROMPT)
    assert len(expected) == 40 * 20

    # The output is the answer's text so far, never a widget view (a saved widget view reopens
    # as "Loading widget..."): the live widget, a model with no view, is drawn by its slot...
    (shown,) = run.of_type("display_data")
    assert WIDGET_VIEW not in shown["content"]["data"]
    states = [m["content"]["data"]["state"] for m in run.of_type("comm_open")]
    (stream,) = [state["_stream"] for state in states if "_stream" in state and not state["_probe"]]
    assert f'class="gemini-magic-slot" data-stream="{stream}"' in shown["content"]["data"]["text/html"]
    # ...and updated as chunks arrive (the saved text refreshed at most once a second)...
    *refreshes, final = run.of_type("update_display_data")
    assert len(refreshes) <= 2
    for refresh in refreshes:
        assert refresh["content"]["data"]["text/plain"].startswith(expected[:20])
    final_index = run.messages.index(final)
    intermediate = [m for m in run.live_paints() if run.messages.index(m) < final_index]
    assert len(intermediate) >= 5, f"only {len(intermediate)} intermediate updates"
    # Each finished block was sent once, in order: together they begin the answer's one-shot HTML
    # (as the live view draws it: math typeset, code highlighted).
    finished = "".join(html for kind, html, _ in run.live_records() if kind == "p")
    assert finished and to_html(expected, False, typeset=True)[0].startswith(finished)

    # ...and the same display slot ends as Markdown of the whole answer, plus a footer.
    assert final["content"]["transient"]["display_id"] == shown["content"]["transient"]["display_id"]
    markdown = final["content"]["data"]["text/markdown"]
    assert expected.split("\n")[0] in markdown
    assert final["content"]["data"]["text/plain"].startswith(expected)
    assert final["content"]["metadata"]["gemini_magic"]["finish_reason"] == "STOP"

    # The variable holds exactly the answer.
    assert kernel.value("_gemini == answer") is True
    assert kernel.value("_gemini.text") == expected


def test_every_widget_is_closed_when_the_answer_ends(kernel):
    run = kernel.execute("%%gemini\nList three plots. [[offline chunks=60 chunk_chars=40 delay=0.002]]")
    assert run.status == "ok"
    opened = {m["content"]["comm_id"] for m in run.of_type("comm_open")}
    closed = {m["content"]["comm_id"] for m in run.of_type("comm_close")}
    assert opened and opened == closed


def test_an_answer_complete_within_a_frame_or_two_goes_straight_to_its_final_output(kernel, gemini_server):
    # A widget shown for a few milliseconds costs more than the answer and only flickers.
    prompt = "Short. [[offline chunks=5 delay=0]]"
    run = kernel.execute(f"%%gemini\n{prompt}")
    assert run.status == "ok"
    assert run.of_type("comm_open", "comm_msg", "update_display_data") == []
    (final,) = run.of_type("display_data")
    assert final["content"]["data"]["text/plain"].startswith(expected_answer(gemini_server, prompt))


def test_the_live_view_says_what_it_is_doing_before_the_first_chunk(kernel):
    # Gemini can think for seconds before its first token: the view is there meanwhile.
    run = kernel.execute("%%gemini\nThink first. [[offline latency=0.3 chunks=3 delay=0.1]]")
    assert run.status == "ok"
    statuses = [status for kind, status, _ in run.live_records() if kind == "s"]
    assert "asking" in statuses[0] and "streaming" in statuses[1]


def test_the_answer_is_not_echoed_to_out(kernel):
    run = kernel.execute("%%gemini\nHello")
    assert run.of_type("execute_result") == []


def test_the_quickstart_notebook_runs_offline_and_saves_the_answer_as_markdown(monkeypatch, tmp_path):
    monkeypatch.setenv("GEMINI_MAGIC_OFFLINE", "1")
    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    nbformat.validate(notebook)
    saved = tmp_path / "quickstart.ipynb"
    nbformat.write(notebook, saved)
    reopened = nbformat.read(saved, as_version=4)

    gemini_cells = [
        c for c in reopened.cells if c.cell_type == "code" and "gemini " in c.source and "load_ext" not in c.source
    ]
    assert len(gemini_cells) == 2
    for cell in gemini_cells:
        outputs = [o for o in cell.outputs if o.output_type == "display_data"]
        assert len(outputs) == 1, cell.outputs
        data = outputs[0]["data"]
        # What survives without a kernel: Markdown and text, not a widget reference.
        assert WIDGET_VIEW not in data
        assert "offline" in data["text/markdown"].lower()
        assert data["text/markdown"].lstrip().startswith("#")  # the demo answer's heading
        assert "```" in data["text/markdown"]
    printed = "".join(
        o.get("text", "") for c in reopened.cells for o in c.get("outputs", []) if o.output_type == "stream"
    )
    assert "characters" in printed and "STOP" in printed


def test_the_saved_text_of_a_streaming_answer_names_its_images_in_place(kernel, gemini_server):
    prompt = "Draw a bar. [[offline image=1 chunks=80 chunk_chars=20 delay=0.05]]"
    run = kernel.execute(f"%%gemini\n{prompt}")
    assert run.status == "ok", run.messages
    expected = expected_answer(gemini_server, prompt)
    *refreshes, final = run.of_type("update_display_data")
    after_image = [r["content"]["data"]["text/plain"] for r in refreshes if "[image 1: image/png" in str(r)]
    assert after_image, "no refresh of the saved text came after the image"
    # What a save mid-stream keeps: the text before the image, the image named, the text after it.
    before, _, after = after_image[-1].partition("[image 1: image/png 96×96")
    assert before.strip() and expected.startswith(before.strip()[:40])
    assert "kept" not in before and after.strip()
