"""JupyterLab whose server runs from another environment (the common conda / JupyterHub setup),
without anywidget: with no widget manager at all, and with jupyterlab_widgets.

Before, the live view showed ``<gemini_magic...LiveAnswer object at 0x...>`` (no widget
manager) or a red "Failed to load model class 'AnyModel'" box (jupyterlab_widgets) for the
whole stream. Now the answer grows there as Markdown by display updates.
"""

from __future__ import annotations

import time

import pytest

from .test_jupyterlab import load_extension

pytestmark = pytest.mark.browser


SEEN = (
    "const t = area.innerText; return {bad: /object at 0x|Failed to load model|Error displaying widget/.test(t), "
    "done: /tokens ·/.test(t)};"
)


@pytest.fixture(scope="module")
def lab(separate_lab):
    return separate_lab


def test_the_answer_grows_without_a_repr_or_a_widget_error(notebook):
    nb = notebook
    load_extension(nb)
    # As a person does, the next cell comes a few seconds later: by then the probe has been
    # closed (no widget manager) or left unanswered (no anywidget).
    time.sleep(4)
    nb.type(1, "%%gemini --offline\n[[offline chunks=100 chunk_chars=20 delay=0.1]] Stream a ten-second answer.")
    nb.start_sampler(1, SEEN)
    nb.run(1)
    nb.wait_done(1)
    samples = nb.stop_sampler()
    assert not [s for s in samples if s["extra"] and s["extra"]["bad"]], "a repr or a widget error was shown"
    assert "object at 0x" not in nb.body_text()
    assert not [line for line in nb.console if "Failed to load model class" in line]
    streaming = [s["len"] for s in samples if s["extra"] and not s["extra"]["done"] and s["len"] > 0]
    rises = sum(1 for a, b in zip(streaming, streaming[1:]) if b > a)
    assert rises >= 5, f"only {rises} growing states: {streaming}"
    final = nb.snapshot(1)
    assert final["mode"] == "final" and "Offline benchmark answer" in final["text"]
