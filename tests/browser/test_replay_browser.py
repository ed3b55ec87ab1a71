"""A replayed answer in JupyterLab, in headless Chromium: streamed into the same live view at the
set pace, then the same final output, with a footer that says it was replayed."""

from __future__ import annotations

import re

import pytest

from .test_jupyterlab import load_extension

pytestmark = pytest.mark.browser

PROMPT = "%%gemini --offline\nExplain what a p-value is, in one line."


def test_a_replayed_answer_streams_into_the_live_view_and_says_it_was_replayed(notebook):
    nb = notebook
    load_extension(nb)
    nb.execute(1, '%config GeminiMagics.replay = "auto"\n%config GeminiMagics.replay_pace = 400')
    nb.wait_done(1)
    nb.execute(2, PROMPT)  # asked, and recorded beside the notebook
    nb.wait_mode(2, "final")
    nb.wait_done(2)
    asked = nb.snapshot(2)["text"]
    assert "Offline demo answer" in asked and "replayed" not in asked

    nb.type(3, PROMPT)
    nb.start_sampler(3)
    nb.run(3)
    nb.wait_mode(3, "final")
    nb.wait_done(3)
    samples = nb.stop_sampler()
    replayed = nb.snapshot(3)["text"]
    nb.screenshot(3, "replayed-answer.png")

    live = [s for s in samples if s["mode"] == "live" and s["len"] > 0]
    assert len({s["len"] for s in live}) >= 3, f"the replay was not streamed: {samples[:5]} ... {samples[-5:]}"
    assert re.search(r"replayed, recorded \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; nothing sent", replayed), replayed[-300:]

    def body(text):
        return text.rsplit("gemini-flash-latest", 1)[0].strip()

    assert body(replayed) == body(asked)
    assert (nb.lab.notebooks / f"{nb.name.removesuffix('.ipynb')}.gemini.sqlite").exists()  # beside the notebook
