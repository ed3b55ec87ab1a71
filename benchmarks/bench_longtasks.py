"""Long tasks in JupyterLab while a long answer streams into the live view.

Starts a JupyterLab server (tests/browser/conftest.py's, in a temporary directory) and Debian's
headless Chromium (Playwright), streams offline answers of 150 KB (1,500 chunks of 100
characters, 10 ms apart) and 30 KB into a fresh notebook, and records every long task
(PerformanceObserver ``longtask``) from the first frame that shows answer text to the last one
before the final output arrives (JupyterLab's own render of the final Markdown is reported
apart). Targets: long tasks <= 10 % of that window, none over 200 ms. Writes
benchmarks/results/bench_longtasks.json; reports, never fails.

    python -m benchmarks.bench_longtasks [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

from tests.browser.conftest import CHROMIUM_ARGS, JupyterLab, _chromium
from tests.browser.lab import Notebook
from tests.browser.longtasks import stream_and_measure

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = [("150 KB", 1500, 100, 0.01), ("30 KB", 300, 100, 0.01)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    from playwright.sync_api import sync_playwright

    results: dict = {"load_average": os.getloadavg(), "python": platform.python_version(), "sizes": {}}
    with tempfile.TemporaryDirectory() as root, sync_playwright() as playwright:
        lab = JupyterLab(Path(root)).start()
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            for name, chunks, chars, delay in SIZES:
                figures = []
                for run in range(runs):
                    context = browser.new_context(viewport={"width": 1280, "height": 1400})
                    context.set_default_timeout(120_000)
                    nb = Notebook(lab, context.new_page(), f"bench-{chunks}-{run}.ipynb", Path(root))
                    nb.open(cells=2)
                    nb.execute(0, "%load_ext gemini_magic")
                    nb.wait_done(0)
                    figures.append(stream_and_measure(nb, 1, chunks=chunks, chunk_chars=chars, delay=delay))
                    context.close()
                    lab.shutdown_kernels()
                results["sizes"][name] = {
                    "runs": figures,
                    "median_share": statistics.median(f["share"] for f in figures),
                    "max_longest_ms": max(f["longest_ms"] for f in figures),
                    "median_final_render_ms": statistics.median(
                        sum(t["duration"] for t in f["after_last_chunk"]) for f in figures
                    ),
                }
        finally:
            browser.close()
            lab.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_longtasks.json").write_text(json.dumps(results, indent=1))
    print(f"load average {results['load_average'][0]:.2f}; {runs} runs per size")
    for name, row in results["sizes"].items():
        share, longest = row["median_share"], row["max_longest_ms"]
        verdict = "MET" if share <= 0.10 and longest <= 200 else "MISSED"
        print(
            f"{name:>7}: long tasks {share:.1%} of the stream (median), longest {longest:.0f} ms; "
            f"final render after the last chunk {row['median_final_render_ms']:.0f} ms (not counted)  {verdict}"
        )


if __name__ == "__main__":
    main()
