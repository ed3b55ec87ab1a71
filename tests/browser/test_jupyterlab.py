"""%%gemini in JupyterLab 4, in headless Chromium: what a person actually sees.

Each test opens a fresh notebook, loads the extension and runs ``%%gemini
--offline`` cells (the offline Gemini server runs inside the kernel, shaped by
``[[offline ...]]`` directives). Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import math
import re
import time

import pytest

from gemini_magic.offline.directives import parse_directives

from .lab import CELL_JS, Notebook
from .longtasks import stream_and_measure

pytestmark = pytest.mark.browser

MARKDOWN_OUTPUT = '.jp-OutputArea-output[data-mime-type="text/markdown"]'

# The Markdown elements whose look is compared between the live view, the
# final output and a plain Markdown output.
STYLED_ELEMENTS = {
    "h1": "h1",
    "h2": "h2",
    "h3": "h3",
    "p": "p",
    "inline code": "p > code",
    "pre": "pre",
    "code in pre": "pre > code",
    "ul": "ul",
    "ol": "ol",
    "li": "ul > li",
    "table": "table",
    "th": "th",
    "td": "td",
    "blockquote": "blockquote",
    "a": "p > a",
    "strong": "strong",
    "hr": "hr",
}
STYLE_PROPERTIES = (
    "font-family", "font-size", "font-weight", "font-style", "line-height", "color", "background-color",
    "padding-top", "padding-right", "padding-bottom", "padding-left",
    "margin-top", "margin-bottom", "margin-left",
    "border-top-width", "border-top-style", "border-top-color",
    "border-bottom-width", "border-bottom-style", "border-bottom-color",
    "border-left-width", "border-left-style", "list-style-type", "text-align", "white-space", "width",
)  # fmt: skip

STYLED_ANSWER = """\
# The heading one

## The heading two

A paragraph with `inline code`, **bold** and *italic* text, and [a link](https://example.com/docs).

```python
def mean(values):
    return sum(values) / len(values)
```

- first item
- second item

A paragraph between the lists.

1. one
2. two

| name | value |
|------|------:|
| alpha | 1 |
| beta | 22 |

> A quoted remark.

---

### The heading three
"""

UNSAFE_ANSWER = """\
# Unsafe answer

<script>alert(1)</script>

<img src=x onerror=alert(2)>

[click](javascript:alert(3))

<svg onload=alert(4)>

<a href="javascript:alert(5)">x</a>

<iframe src="javascript:alert(6)">

<p onclick="alert(7)" style="x">payload seven</p>
"""

# Run each frame over the output area: anything that could run script.
UNSAFE_DOM_JS = r"""
const bad = [];
for (const el of area.querySelectorAll('*')) {
  if (el.closest('.jp-OutputArea-promptOverlay')) continue; // JupyterLab's own collapse button
  const tag = el.tagName.toLowerCase();
  if (['script', 'iframe', 'svg', 'object', 'embed', 'frame', 'math', 'base', 'form'].includes(tag)) bad.push(tag);
  for (const attr of el.attributes) {
    const name = attr.name.toLowerCase();
    if (name.startsWith('on')) bad.push(`${tag}[${name}]`);
    if (['href', 'src', 'xlink:href', 'action', 'formaction', 'srcdoc', 'data'].includes(name)
        && /^\s*(javascript|vbscript|data):/i.test(attr.value)) bad.push(`${tag}[${name}=${attr.value}]`);
  }
}
return {bad, click: area.innerText.includes('click')};
"""

COMPUTED_STYLES_JS = """(root, [elements, properties]) => {
  const out = {};
  for (const [name, selector] of Object.entries(elements)) {
    const el = root.querySelector(selector);
    if (!el) { out[name] = null; continue; }
    const style = getComputedStyle(el);
    out[name] = Object.fromEntries(properties.map((p) => [p, style.getPropertyValue(p)]));
  }
  return out;
}"""


def load_extension(nb, cell: int = 0) -> None:
    nb.execute(cell, "%load_ext gemini_magic")
    nb.wait_done(cell)
    assert nb.snapshot(cell)["mode"] == "empty", nb.output(cell).inner_text()


def echo_prompt(text: str, **directives) -> tuple[str, str]:
    """A %%gemini cell whose answer is exactly ``text``, and that expected answer."""
    words = " ".join(f"{key}={value}" for key, value in {"echo": 1, **directives}.items())
    cell = f"%%gemini --offline\n[[offline {words}]]\n{text}"
    _, expected = parse_directives(cell.split("\n", 1)[1])
    return cell, expected.strip()


def rise_count(lengths: list[int]) -> int:
    """How many times the shown text grew past everything shown before."""
    best, rises = 0, 0
    for length in lengths:
        if length > best:
            best, rises = length, rises + 1
    return rises


def styles_of(root) -> dict:
    """Computed styles of the first of each STYLED_ELEMENTS inside the locator ``root``."""
    return root.first.evaluate(COMPUTED_STYLES_JS, [STYLED_ELEMENTS, list(STYLE_PROPERTIES)])


def wait_until(condition, timeout: float = 60, what: str = "condition"):
    """Poll a state outside the page (e.g. the server's REST API) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def style_differences(a: dict, b: dict, tolerance_px: float = 0.5) -> list[str]:
    """``element property: a != b`` for each computed style that differs."""
    differences = []
    for element, props in a.items():
        other = b.get(element)
        if props is None or other is None:
            if props != other:
                differences.append(f"{element}: present {props is not None} vs {other is not None}")
            continue
        for prop, value in props.items():
            if not _same_style(value, other[prop], tolerance_px):
                differences.append(f"{element} {prop}: {value!r} != {other[prop]!r}")
    return differences


def _same_style(a: str, b: str, tolerance_px: float) -> bool:
    if a == b:
        return True
    pa, pb = re.fullmatch(r"(-?[\d.]+)px", a), re.fullmatch(r"(-?[\d.]+)px", b)
    return bool(pa and pb and abs(float(pa[1]) - float(pb[1])) <= tolerance_px)


# ---------------------------------------------------------------------------


def test_answer_streams_in_the_page(notebook):
    """The page paints many growing states of the answer before the final output."""
    nb = notebook
    load_extension(nb)
    nb.type(1, "%%gemini --offline\n[[offline chunks=60 chunk_chars=20 delay=0.05]] Stream a long answer.")
    nb.start_sampler(1)
    nb.run(1)
    nb.wait_mode(1, "final")
    nb.wait_done(1)
    samples = nb.stop_sampler()

    live = [s for s in samples if s["mode"] == "live"]
    first_final = next(i for i, s in enumerate(samples) if s["mode"] == "final")
    assert live, f"the live view was never painted: {samples[:5]} ... {samples[-5:]}"
    assert all(s["mode"] in ("live", "empty") for s in samples[:first_final]), {s["mode"] for s in samples}
    lengths = [s["len"] for s in live]
    rises = rise_count(lengths)
    assert rises >= 10, f"only {rises} growing states painted; lengths per frame: {lengths}"
    # Spread over the stream (60 chunks, 50 ms apart), not bunched at the end.
    growing = [s["t"] for s in live if s["len"] > 0]
    assert samples[first_final]["t"] - growing[0] >= 1000, (growing[0], samples[first_final]["t"])

    final = nb.snapshot(1)
    print(f"{len(live)} live frames, {rises} growing states, final {final['len']} characters shown")
    assert final["len"] >= 1200 * 0.8 and "Offline benchmark answer" in final["text"], final["text"][:200]
    assert re.search(r"gemini\S* · \d+ → \d+ tokens · (\$[\d.]+ · )?[\d.]+ s", final["text"]), final["text"][-200:]
    assert nb.cell(1).locator(".gemini-magic, .jp-OutputArea-output[data-mime-type*=stderr]").count() == 0


def test_live_view_and_final_output_look_like_markdown(notebook):
    """Same Markdown styles live, final and in a plain Markdown output; no jump at the swap."""
    nb = notebook
    load_extension(nb)
    tail = "\n\n".join(f"Paragraph {n} keeps the answer streaming for a while." for n in range(1, 9))
    text = f"{STYLED_ANSWER}\n{tail}\n\nThe end."
    chunk = 8
    pieces = math.ceil(len(parse_directives(text)[1].strip()) / chunk)
    # Pause before the last chunk so the last live frame shows (nearly) the whole
    # answer: the height before and after the swap then compares the same text.
    cell, expected = echo_prompt(text, chunk_chars=chunk, delay=0.03, stall_after=pieces - 1, stall=1.5)
    assert math.ceil(len(expected) / chunk) == pieces

    nb.type(1, cell)
    nb.start_sampler(1)
    nb.run(1)
    # Mid-stream: every styled element is complete, the tail is still arriving.
    # Measured in the same frame as the condition, so the live view is surely there.
    live_styles = nb.page.wait_for_function(
        f"""([elements, properties]) => {{
            const s = window.__geminiSnapshot(1);
            if (s.mode !== 'live' || !s.text.includes('Paragraph 3')) return false;
            const root = ({CELL_JS})(1).querySelector('.gemini-magic');
            return ({COMPUTED_STYLES_JS})(root, [elements, properties]);
        }}""",
        arg=[STYLED_ELEMENTS, list(STYLE_PROPERTIES)],
        polling="raf",
    ).json_value()
    shot_live = nb.screenshot(1, "live-mid-stream.png")
    if nb.snapshot(1)["mode"] != "live":
        print(f"note: {shot_live} was taken after the answer ended (a slow machine)")
    nb.wait_mode(1, "final")
    nb.wait_done(1)
    samples = nb.stop_sampler()
    final_styles = styles_of(nb.cell(1).locator(MARKDOWN_OUTPUT))
    shot_final = nb.screenshot(1, "final-output.png")

    # A plain Markdown output of the same text, for reference.
    nb.execute(2, f"from IPython.display import Markdown\nMarkdown({expected!r})")
    nb.wait_done(2)
    reference = styles_of(nb.cell(2).locator(MARKDOWN_OUTPUT))

    assert nb.snapshot(1)["text"].startswith("The heading one"), nb.snapshot(1)["text"][:100]
    assert all(v is not None for v in reference.values()), reference
    assert style_differences(final_styles, reference) == []

    # The swap: the last live frame and the first frame of the rendered final output.
    last_live = max(i for i, s in enumerate(samples) if s["mode"] == "live")
    first_shown = next(i for i, s in enumerate(samples) if i > last_live and s["mode"] == "final" and s["len"])
    before, after, between = samples[last_live], samples[first_shown], samples[last_live + 1 : first_shown]
    # JupyterLab renders Markdown asynchronously: the new output is blank for a frame or two.
    blank_ms = after["t"] - before["t"]
    print(
        f"swap: {before['height']:.1f}px live -> {after['height']:.1f}px final, "
        f"{len(between)} blank frame(s) in between ({blank_ms:.0f} ms)"
    )

    problems = [f"live view vs final output: {d}" for d in style_differences(live_styles, final_styles)]
    if any(s["mode"] != "final" for s in between) or blank_ms > 250:
        problems.append(f"between the live view and the final output: {between}")
    if abs(after["height"] - before["height"]) > 4:
        problems.append(
            f"output height jumps at the swap: {before['height']:.1f}px live -> {after['height']:.1f}px final"
        )
    assert problems == [], f"(screenshots: {shot_live}, {shot_final})\n" + "\n".join(problems)


def test_answer_survives_save_shutdown_and_reopen(notebook):
    """Saved, kernel shut down, reopened: the answer is there, no widget errors."""
    nb = notebook
    load_extension(nb)
    nb.execute(1, "%%gemini --offline\nExplain what a p-value is, in one line.")
    nb.wait_mode(1, "final")
    nb.wait_done(1)
    answer = nb.snapshot(1)["text"]
    assert "Offline demo answer" in answer

    saved = nb.save()
    outputs = saved["cells"][1]["outputs"]
    assert [o["output_type"] for o in outputs] == ["display_data"], nb.dump(outputs)
    assert "Offline demo answer" in "".join(outputs[0]["data"]["text/markdown"])
    assert "application/vnd.jupyter.widget-view+json" not in outputs[0]["data"]

    # Kernel > Shut Down Kernel.
    nb.page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    nb.page.locator(".lm-Menu-itemLabel", has_text="Shut Down Kernel").click()
    wait_until(lambda: nb.lab.api("GET", "/api/kernels") == [], what="the kernel to shut down")

    nb.goto()  # a fresh page: reopen the saved notebook (a new kernel starts)
    nb.wait_mode(1, "final")
    reopened = nb.snapshot(1)
    assert reopened["mode"] == "final", reopened
    assert reopened["text"].strip() == answer.strip()
    assert nb.cell(1).locator("h2", has_text="Offline demo answer").count() == 1
    body = nb.body_text()
    assert "Error displaying widget" not in body
    assert "model not found" not in body
    assert nb.page.locator(".gemini-magic").count() == 0


def test_saving_while_an_answer_streams_keeps_streaming_and_saves_the_whole_answer(notebook):
    """Ctrl-S mid-stream, with widget state saved too: the save succeeds, the stream goes
    on, and the next save holds the final Markdown."""
    nb = notebook
    load_extension(nb)
    nb.type(1, "%%gemini --offline\n[[offline chunks=60 chunk_chars=20 delay=0.05]] Stream while I save.")
    nb.run(1)
    nb.wait_mode(1, "live")
    saved = nb.save()
    assert nb.snapshot(1)["mode"] == "live"  # saved mid-stream, and still streaming
    assert saved["cells"][1]["outputs"], "the save did not include the cell's live output"
    states = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(s["model_name"] == "AnyModel" for s in states.values()), "the live widget's state was not saved"

    nb.wait_mode(1, "final")
    nb.wait_done(1)
    assert nb.snapshot(1)["len"] >= 1000
    outputs = nb.save()["cells"][1]["outputs"]
    assert [o["output_type"] for o in outputs] == ["display_data"], nb.dump(outputs)
    assert "Offline benchmark answer" in "".join(outputs[0]["data"]["text/markdown"])
    errors = [line for line in nb.console if line.startswith(("error", "pageerror"))]
    assert not [line for line in errors if "clone" in line.lower() or "serializ" in line.lower()], errors


def test_a_save_mid_stream_keeps_the_answer_so_far_and_reopens_as_text(notebook):
    """Ctrl-S while the answer streams: the file holds the answer so far as text (no widget view,
    which would reopen as "Loading widget..."), and the notebook reopened without that kernel
    shows that text."""
    nb = notebook
    load_extension(nb)
    nb.execute(1, "%%gemini --offline\n[[offline chunks=400 chunk_chars=20 delay=0.05]] Stream while I save.")
    nb.wait_mode(1, "live", min_len=600)
    seen = nb.snapshot(1)["len"]
    time.sleep(1.5)  # the saved text is refreshed at most once a second
    saved = nb.save()
    assert nb.snapshot(1)["mode"] == "live"  # still streaming
    outputs = saved["cells"][1]["outputs"]
    assert len(outputs) == 1, nb.dump(outputs)
    data = outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data, nb.dump(outputs)
    plain = "".join(data["text/plain"])
    assert "Offline benchmark answer" in plain and len(plain) >= seen, (seen, plain[:300])
    assert "Offline benchmark answer" in "".join(data["text/html"])

    # The tab is gone and so is the kernel (mid-stream); the file is opened again.
    nb.lab.shutdown_kernels()
    wait_until(lambda: nb.lab.api("GET", "/api/kernels") == [], what="the kernel to shut down")
    page = nb.page.context.new_page()
    nb.page.close(run_before_unload=False)
    reopened = Notebook(nb.lab, page, nb.name, nb.artifacts)
    reopened.goto()
    reopened.output(1).get_by_text("Offline benchmark answer").first.wait_for()
    time.sleep(2)  # room for the widget manager to restore, and to show "Loading widget..." if it would
    shown = reopened.output(1).inner_text()
    assert "Loading widget" not in shown and "Error displaying widget" not in shown, shown[:300]
    assert len(shown) >= seen, (seen, shown[:300])
    assert page.locator(".gemini-magic").count() == 0
    reopened.screenshot(1, "reopened-mid-stream-save.png")


def test_the_first_swap_after_opening_never_blanks(notebook):
    """The first answer of a freshly opened page (JupyterLab loads its Markdown renderer then):
    in no frame from the last live one until a second after the swap is the output below 80% of
    its height before the swap."""
    nb = notebook
    load_extension(nb)
    text = f"{STYLED_ANSWER}\nThe square $x^2$ and **bold**.\n\n```python\nimport math\nprint(math.pi)\n```\n"
    cell, _ = echo_prompt(text, chunk_chars=12, delay=0.02)
    nb.type(1, cell)
    nb.start_sampler(1)
    nb.run(1)
    nb.wait_mode(1, "final")
    nb.wait_done(1)
    nb.page.wait_for_timeout(1000)
    samples = nb.stop_sampler()
    last_live = max(i for i, s in enumerate(samples) if s["mode"] == "live")
    before = samples[last_live]["height"]
    swap_ms = samples[last_live]["t"]
    after = [s for s in samples[last_live:] if s["t"] - swap_ms <= 1000 + 1000 / 60]
    low = [(round(s["t"] - swap_ms), s["mode"], round(s["height"])) for s in after if s["height"] < 0.8 * before]
    print(f"before the swap {before:.0f}px; {len(after)} frames after, lowest {min(s['height'] for s in after):.0f}px")
    assert before > 100 and low == [], f"frames below 80% of {before:.0f}px: {low}"


def test_a_150_kb_answer_streams_without_freezing_the_page(notebook):
    """While a 150 KB answer streams, long tasks (PerformanceObserver) take at most 10% of the
    time from the first to the last live frame, none over 200 ms."""
    nb = notebook
    load_extension(nb)
    figures = stream_and_measure(nb, 1, chunks=1500, chunk_chars=100, delay=0.01)
    print({k: v for k, v in figures.items() if k not in ("after_last_chunk",)})
    assert figures["live_frames"] >= 50 and figures["longest_live_len"] >= 50_000, figures
    assert figures["share"] <= 0.10, figures
    assert figures["longest_ms"] <= 200, figures["tasks"]


def test_unsafe_answer_does_not_run(notebook):
    """Script-carrying answers raise no dialog and leave nothing runnable, live or final."""
    nb = notebook
    load_extension(nb)
    tail = "\n\n".join(f"Line {n} keeps the unsafe answer on screen." for n in range(1, 13))
    cell, expected = echo_prompt(f"{UNSAFE_ANSWER}\n{tail}", chunk_chars=6, delay=0.02)
    nb.type(1, cell)
    nb.start_sampler(1, UNSAFE_DOM_JS)
    nb.run(1)
    nb.wait_mode(1, "final")
    nb.wait_done(1)
    samples = nb.stop_sampler()

    live = [s for s in samples if s["mode"] == "live"]
    after_payloads = [s for s in live if s["extra"] and s["extra"]["click"]]
    assert len(after_payloads) >= 5, f"the payloads were not seen live ({len(live)} live frames)"
    bad_frames = [(s["mode"], s["extra"]["bad"]) for s in samples if s["extra"] and s["extra"]["bad"]]
    assert bad_frames == []

    # Let any image that failed to load fire its (removed) handler: a canary image
    # for the same URL fails after it.
    nb.page.evaluate(
        "() => new Promise((done) => { const img = new Image(); img.onerror = img.onload = done; img.src = 'x'; })"
    )
    area = nb.output(1)
    final_check = area.evaluate(f"(area) => {{ {UNSAFE_DOM_JS} }}")
    assert final_check["bad"] == []
    assert final_check["click"]
    assert nb.dialogs == []
    text = nb.snapshot(1)["text"]
    assert "Unsafe answer" in text and "payload seven" in text and "Line 12" in text
    nb.screenshot(1, "unsafe-final.png")


def test_interrupt_from_toolbar_keeps_partial_answer(notebook):
    """■ Interrupt mid-stream: the partial answer stays, marked interrupted, in one line."""
    nb = notebook
    load_extension(nb)
    nb.execute(1, "%%gemini --offline\n[[offline chunks=600 chunk_chars=20 delay=0.05]] A long answer.")
    nb.wait_mode(1, "live", min_len=300)
    nb.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-command='notebook:interrupt-kernel']").click()
    nb.wait_mode(1, "final")
    nb.wait_done(1)

    final = nb.snapshot(1)
    assert 300 <= final["len"] < 12000 * 0.9, final["len"]
    assert final["text"].rstrip().endswith("interrupted"), final["text"][-200:]
    errors = nb.cell(1).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 1
    message = errors.inner_text().strip()
    one_line = r"UsageError: Interrupted: the partial answer \([\d,]+ characters\) is kept in _gemini\."
    assert re.fullmatch(one_line, message), message
    assert "Traceback" not in nb.cell(1).inner_text()
    nb.screenshot(1, "interrupted.png")

    nb.execute(2, "print(len(_gemini), _gemini.interrupted, _gemini.finish_reason)")
    nb.wait_done(2)
    kept, interrupted, reason = nb.output(2).inner_text().split()
    assert interrupted == "True" and reason == "INTERRUPTED"
    assert f"({int(kept):,} characters)" in message


def test_a_live_view_whose_stream_breaks_says_so(notebook):
    """Bytes that do not inflate (a stream joined midway, say) give a status line, not a blank."""
    nb = notebook
    nb.execute(
        0,
        "from gemini_magic.views.widget import LiveAnswer\n"
        "w = LiveAnswer()\n"
        "display(w)\n"
        "w.send({}, buffers=[b'not a deflate stream'])",
    )
    nb.wait_done(0)
    nb.cell(0).locator(".gemini-magic", has_text="lost its stream").wait_for()
