"""%%gemini in Notebook 7: the same live view and final output as in JupyterLab.

Notebook 7 is built from JupyterLab's components and loads the same widget
extensions (ipywidgets, anywidget), so the JupyterLab tests below run here as
they are, against a Notebook 7 server instead.
"""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import JupyterLab, _missing
from .test_jupyterlab import (  # noqa: F401 - collected here, run against Notebook 7
    test_a_live_view_whose_stream_breaks_says_so,
    test_a_save_mid_stream_keeps_the_answer_so_far_and_reopens_as_text,
    test_answer_streams_in_the_page,
    test_answer_survives_save_shutdown_and_reopen,
    test_interrupt_from_toolbar_keeps_partial_answer,
    test_live_view_and_final_output_look_like_markdown,
    test_saving_while_an_answer_streams_keeps_streaming_and_saves_the_whole_answer,
    test_the_first_swap_after_opening_never_blanks,
    test_unsafe_answer_does_not_run,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One Notebook 7 server for the module (replaces the JupyterLab one)."""
    if importlib.util.find_spec("notebook") is None:
        _missing("notebook (Notebook 7) is not installed (pip install -e '.[test]')")
    server = JupyterLab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    try:
        yield server.start()
    finally:
        server.stop()


def test_these_tests_really_run_in_notebook_7(notebook):
    assert "/notebooks/" in notebook.page.url
    assert notebook.page.locator("#jp-NotebookLogo").count() == 1  # Notebook 7's own top bar
