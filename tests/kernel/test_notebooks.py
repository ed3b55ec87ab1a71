"""notebooks/explore.ipynb runs headless and offline: a DataFrame, a plot, a chat follow-up, JSON into a DataFrame."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    """The notebook executed against the offline demo server, in a scratch directory."""
    import os

    folder = tmp_path_factory.mktemp("explore")
    notebook = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    saved = os.environ.get("GEMINI_MAGIC_OFFLINE")
    os.environ["GEMINI_MAGIC_OFFLINE"] = "1"  # the kernel inherits it, as with `make demo`
    try:
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        os.environ.pop("GEMINI_MAGIC_OFFLINE") if saved is None else os.environ.update(GEMINI_MAGIC_OFFLINE=saved)
    nbformat.validate(notebook)
    return notebook, folder


def cell(notebook, starts_with):
    """The one code cell whose source is, or starts with, ``starts_with``."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    (found,) = [c for c in code if c.source == starts_with] or [c for c in code if c.source.startswith(starts_with)]
    return found


def markdown_of(cell):
    (output,) = [o for o in cell.outputs if o.output_type == "display_data"]
    assert WIDGET_VIEW not in output["data"]  # what a saved notebook keeps: Markdown, not a widget
    return output["data"]["text/markdown"]


def test_the_dataframe_goes_into_the_prompt_as_a_table(explored):
    notebook, _ = explored
    markdown = markdown_of(cell(notebook, "%%gemini --out overview"))
    assert "> **DataFrame**: 120 rows × 3 columns" in markdown  # the offline answer quotes the prompt


def test_the_plot_is_sent_as_an_image(explored):
    notebook, _ = explored
    assert "it carried an image (image/png" in markdown_of(cell(notebook, "%%gemini\nDescribe this plot"))


def test_the_follow_up_carries_the_earlier_turns(explored):
    notebook, _ = explored
    assert "2 earlier turn(s) were sent" in markdown_of(cell(notebook, "%%gemini --chat"))
    (shown,) = cell(notebook, "_gemini_chat").outputs
    assert shown["data"]["text/plain"].startswith("Conversation: 3 turns\n")


def test_json_extraction_ends_in_a_dataframe(explored):
    notebook, folder = explored
    assert markdown_of(cell(notebook, "%%gemini --schema Findings")).startswith("```json\n[\n")
    (table,) = cell(notebook, "pd.DataFrame(").outputs
    assert "text/html" in table["data"]
    rows = table["data"]["text/plain"].splitlines()
    assert rows[0].split() == ["column", "observation", "confidence"] and len(rows) == 4
    assert (folder / "exploration-chat.md").read_text().startswith("# Gemini conversation")
