"""Images, executed code and pages read, in a real kernel: live while streaming, in order at the end,
and in a saved notebook (nbclient) as image/png outputs that show without a kernel."""

import base64

import nbformat
import pytest
from nbclient import NotebookClient

from gemini_magic.offline.media import demo_png
from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PACED = "[[offline chunks=12 chunk_chars=20 delay=0.2]]"  # slow enough for the live view to keep up


@pytest.fixture(scope="module")
def kernel(gemini_server):
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        # Highlighting loads Pygments' Python lexer once (a tenth of a second): the live view
        # then pauses to keep to its CPU share. Load it first so these answers are painted live.
        warm = (
            "from gemini_magic.render import IncrementalRenderer as R; r = R(typeset=True)\n"
            "r.feed('```python\\nx = 1\\n```\\n'); r.finish(); r.html()"
        )
        assert kernel.execute(warm).status == "ok"
        yield kernel


def shown(run):
    """What the cell's outputs end as, in order: "image/png" or "markdown" for each output."""
    outputs = []
    slots: dict = {}
    for m in run.of_type("display_data", "update_display_data"):
        data = m["content"]["data"]
        kind = "image/png" if "image/png" in data else "widget" if WIDGET_VIEW in data else "markdown"
        display_id = (m["content"].get("transient") or {}).get("display_id")
        if m["msg_type"] == "update_display_data":
            outputs[slots[display_id]] = (kind, data)
        else:
            if display_id:
                slots[display_id] = len(outputs)
            outputs.append((kind, data))
    return outputs


def test_images_stream_into_the_live_view_and_end_as_image_outputs_in_order(kernel):
    run = kernel.execute(f"%%gemini -m gemini-2.5-flash-image\nDraw two bars. [[offline image=2]] {PACED}")
    assert run.status == "ok", run.messages
    live = "".join(finished for kind, finished, _ in run.live_records() if kind == "p")
    first = base64.b64encode(demo_png(1)).decode()
    assert f'<img src="data:image/png;base64,{first}" alt="image 1"' in live  # painted while streaming
    assert live.index("image 1") < live.index("image 2")

    outputs = shown(run)
    assert [kind for kind, _ in outputs] == ["markdown", "image/png", "markdown", "image/png", "markdown"]
    assert outputs[1][1]["image/png"] == first
    assert "<sub>" in outputs[-1][1]["text/markdown"]  # the footer ends the last one
    assert kernel.value("[im.size for im in _gemini.images]") == [[96, 96], [96, 96]]
    assert kernel.value("type(_gemini.images[0]).__module__").startswith("PIL.")


def test_executed_code_streams_as_a_highlighted_block_and_ends_in_the_markdown(kernel):
    run = kernel.execute(f"%%gemini --code-execution\nWhat is the mean? {PACED}")
    assert run.status == "ok", run.messages
    live = "".join(finished + tail for kind, finished, tail in run.live_records() if kind == "p")
    assert "<strong>Code Gemini ran</strong>" in live
    assert '<span class="n">values</span>' in live  # highlighted while streaming
    ((kind, data),) = shown(run)
    assert kind == "markdown"
    assert "**Code Gemini ran**\n\n```python\n" in data["text/markdown"] and "3.875" in data["text/markdown"]
    assert kernel.value("_gemini.executed[0][1:]") == ["OUTCOME_OK", "3.875\n"]


def test_pages_read_are_listed_under_the_answer(kernel):
    run = kernel.execute("%%gemini --url https://example.com/a --url https://example.com/failing\nCompare them.")
    ((_, data),) = shown(run)
    assert "**Pages read**" in data["text/markdown"]
    assert kernel.value("_gemini.url_context") == [
        ["https://example.com/a", "read"],
        ["https://example.com/failing", "failed"],
    ]


def test_a_saved_notebook_keeps_images_as_image_png_and_the_code_as_markdown(gemini_server, tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext gemini_magic"),
        nbformat.v4.new_code_cell("%%gemini --code-execution -m gemini-2.5-flash-image\nPlot it. [[offline image=1]]"),
    ]
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)  # the kernel inherits them
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_server.url)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    outputs = nbformat.read(path, as_version=4).cells[1].outputs
    types = ["image/png" if "image/png" in o.data else "markdown" for o in outputs]
    assert types == ["markdown", "image/png", "markdown"]
    assert base64.b64decode(outputs[1].data["image/png"]) == demo_png(1)
    assert "Code Gemini ran" in "".join(o.data.get("text/markdown", "") for o in outputs)
    assert "widgets" not in notebook.metadata
    assert outputs[-1].metadata["gemini_magic"]["images"] == 1


def test_where_the_widget_cannot_be_drawn_an_image_gets_its_own_output_while_streaming(gemini_server):
    with gemini_kernel(gemini_server.url, TEST_KEY, draws_widgets=False) as kernel:
        probe = kernel.wait_for_probe()
        kernel.client.shell_channel.send(kernel.client.session.msg("comm_close", {"comm_id": probe, "data": {}}))
        run = kernel.execute(
            "%%gemini -m gemini-2.5-flash-image\nDraw it. [[offline image=1 chunks=20 chunk_chars=20 delay=0.3]]"
        )
        assert run.status == "ok" and run.live_paints() == []
        # While the answer streams: the text before the image, then the image, then the text after it
        # growing in a display of its own (the image message comes before the answer has ended).
        messages = run.of_type("display_data", "update_display_data")
        image_at = next(i for i, m in enumerate(messages) if "image/png" in m["content"]["data"])
        final_at = next(i for i, m in enumerate(messages) if "gemini_magic" in m["content"]["metadata"])
        assert image_at < final_at
        assert base64.b64decode(messages[image_at]["content"]["data"]["image/png"]) == demo_png(1)
        grown_after = [m for m in messages[image_at + 1 : final_at] if m["msg_type"] == "display_data"]
        assert grown_after, "the text after the image did not start growing before the end"
        # At the end the same displays hold the final outputs, in order, and nothing else.
        assert [kind for kind, _ in shown(run)] == ["markdown", "image/png", "markdown"]
