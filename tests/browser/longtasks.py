"""Long tasks in the page while an answer streams (PerformanceObserver ``longtask``).

Shared by the browser test and ``benchmarks/bench_longtasks.py``. The window is from the first
frame showing answer text to the last frame before the final output arrives: JupyterLab's own
render of the final Markdown, after the last chunk, is not counted.
"""

from __future__ import annotations

# A light sampler: reading the whole answer's text each frame (as lab.py's sampler does) would
# itself be the page's longest task. Mode each frame, text length every 30th.
SAMPLE_JS = """(i) => {
  window.__light = [];
  window.__lightOn = true;
  let n = 0;
  const tick = (t) => {
    const cell = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[i];
    const area = cell && cell.querySelector('.jp-OutputArea');
    const live = area && area.querySelector('.gemini-magic');
    const final = area && area.querySelector('.jp-OutputArea-output[data-mime-type="text/markdown"]');
    const len = live && n++ % 30 === 0 ? live.textContent.length : null;
    window.__light.push({t, mode: live ? 'live' : final ? 'final' : 'other', len, final: !!final});
    if (window.__lightOn) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

OBSERVE_JS = """() => {
  window.__longtasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: 'longtask', buffered: false});
}"""


def stream_and_measure(nb, cell: int, chunks: int, chunk_chars: int, delay: float) -> dict:
    """Run an offline answer of ``chunks`` x ``chunk_chars`` characters, ``delay`` s apart, in
    cell ``cell`` of the open notebook ``nb`` (extension loaded); return the long-task figures."""
    nb.page.evaluate(OBSERVE_JS)
    nb.type(
        cell, f"%%gemini --offline\n[[offline chunks={chunks} chunk_chars={chunk_chars} delay={delay}]] A long answer."
    )
    nb.page.evaluate(SAMPLE_JS, cell)
    nb.run(cell)
    nb.page.wait_for_function(
        "(i) => window.__light.length && window.__light[window.__light.length - 1].mode === 'final'",
        arg=cell,
        timeout=300_000,
    )
    nb.wait_done(cell, timeout=300_000)
    samples = nb.page.evaluate("() => { window.__lightOn = false; return window.__light; }")
    tasks = nb.page.evaluate("() => window.__longtasks")
    shown = [i for i, s in enumerate(samples) if s["mode"] == "live" and s["len"]]
    if not shown:
        raise AssertionError("no live frame showed answer text")
    # The window ends before the final output's element is in the page (it is rendered while the
    # live answer is still on screen: that render is JupyterLab's, after the last chunk).
    live = [s for s in samples[shown[0] :] if s["mode"] == "live" and not s["final"]]
    if not live:
        raise AssertionError("no live frame showed answer text")
    first, last = live[0]["t"], live[-1]["t"]
    inside = []
    for task in tasks:
        overlap = min(task["start"] + task["duration"], last) - max(task["start"], first)
        if overlap > 0:
            inside.append(
                {"start": round(task["start"] - first), "duration": round(task["duration"]), "overlap": overlap}
            )
    window = last - first
    total = sum(t["overlap"] for t in inside)
    return {
        "answer_chars": chunks * chunk_chars,
        "window_ms": round(window),
        "live_frames": len(live),
        "longest_live_len": max(s["len"] or 0 for s in live),
        "long_tasks": len(inside),
        "long_task_ms": round(total),
        "share": total / window if window else 0.0,
        "longest_ms": max((t["duration"] for t in inside), default=0),
        "tasks": inside,
        "after_last_chunk": [
            {"start": round(t["start"] - last), "duration": round(t["duration"])} for t in tasks if t["start"] >= last
        ],
    }
