"""An answer with an image and code Gemini ran, in JupyterLab in headless Chromium: both shown
while it streams, both in the final outputs, and both still there after save, shutdown and reopen."""

from __future__ import annotations

import pytest

from .test_jupyterlab import load_extension, wait_until

pytestmark = pytest.mark.browser

CELL = (
    "%%gemini --offline --code-execution -m gemini-2.5-flash-image\n"
    "Plot my numbers. [[offline image=1 chunks=16 chunk_chars=20 delay=0.3]]"
)
LOADED_IMAGE = "(img) => img.complete && img.naturalWidth === 96"


def shows_image_and_code(nb, i: int, where: str) -> bool:
    """Whether cell ``i`` shows a decoded 96×96 image and a highlighted code block in ``where``."""
    return nb.page.evaluate(
        f"""(i) => {{
            const cell = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[i];
            const area = cell && cell.querySelector('{where}');
            if (!area) return false;
            const img = area.querySelector('img');
            const code = [...area.querySelectorAll('pre')].some((pre) => pre.innerText.includes('sum(values)'));
            return Boolean(img && ({LOADED_IMAGE})(img) && code);
        }}""",
        i,
    )


def test_an_image_and_executed_code_show_live_and_after_reopen(notebook):
    nb = notebook
    load_extension(nb)
    nb.execute(1, CELL)
    nb.wait_mode(1, "live")
    wait_until(lambda: shows_image_and_code(nb, 1, ".gemini-magic"), what="the image and code in the live view")
    assert nb.snapshot(1)["mode"] == "live"
    nb.screenshot(1, "answer-parts-live.png")

    nb.wait_mode(1, "final")
    nb.wait_done(1)
    wait_until(lambda: shows_image_and_code(nb, 1, ".jp-OutputArea"), what="the image and code in the final outputs")
    assert nb.page.locator(".gemini-magic").count() == 0
    assert nb.cell(1).locator('.jp-OutputArea-output[data-mime-type="image/png"] img').count() == 1
    assert "Code Gemini ran" in nb.output(1).inner_text()
    nb.screenshot(1, "answer-parts-final.png")

    saved = nb.save()
    outputs = saved["cells"][1]["outputs"]
    assert [("image/png" in o["data"]) for o in outputs] == [False, True, False], nb.dump(outputs)

    nb.page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    nb.page.locator(".lm-Menu-itemLabel", has_text="Shut Down Kernel").click()
    wait_until(lambda: nb.lab.api("GET", "/api/kernels") == [], what="the kernel to shut down")
    nb.goto()
    wait_until(lambda: shows_image_and_code(nb, 1, ".jp-OutputArea"), what="the image and code after reopening")
    assert "Error displaying widget" not in nb.body_text()
