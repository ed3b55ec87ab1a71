"""The live view's wire: what the kernel sends the front end while an answer streams."""

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gemini_magic.render import render_html
from gemini_magic.views.live import LiveView
from gemini_magic.views.widget import LiveAnswer, decode_stream

README = Path(__file__).resolve().parents[2] / "README.md"


class RecordedAnswer(LiveAnswer):
    """The live widget, keeping the buffers it sends instead of needing a front end."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.messages = []

    def send(self, content, buffers=None):
        self.messages.append(b"".join(bytes(b) for b in buffers))


html_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
updates = st.lists(
    st.one_of(
        st.tuples(st.just("p"), html_text, html_text),
        st.tuples(st.just("s"), html_text, st.just("")),
    ),
    min_size=1,
    max_size=20,
)


@given(updates)
def test_the_front_end_decodes_exactly_what_was_sent(sequence):
    widget = RecordedAnswer()
    for kind, first, second in sequence:
        if kind == "p":
            widget.update(finished=first, tail=second)
        else:
            widget.update(status=first)
    clean = [
        (kind, a.replace("\0", "\ufffd").replace("\x01", "\ufffd"), b.replace("\0", "\ufffd").replace("\x01", "\ufffd"))
        for kind, a, b in sequence
    ]
    assert decode_stream(widget.messages) == clean
    widget.close()


def test_one_update_is_one_message_with_status_and_paint_together():
    widget = RecordedAnswer()
    widget.update(finished="<p>a</p>", tail="<p>b", status="<sub>streaming…</sub>")
    widget.update()  # nothing to say: nothing sent
    assert len(widget.messages) == 1
    assert decode_stream(widget.messages) == [("s", "<sub>streaming…</sub>", ""), ("p", "<p>a</p>", "<p>b")]
    widget.close()


def test_a_paint_costs_about_its_new_text_however_long_the_answer():
    html = render_html(README.read_text())  # real prose, not a repeated filler
    widget = RecordedAnswer()
    blocks = html.split("\n\n")
    for block in blocks:
        widget.update(finished=block + "\n\n", tail="<p>the open paragraph, sent again with every paint</p>")
    sizes = [len(m) for m in widget.messages]
    # Compressed as one stream: the whole answer costs well under its HTML...
    assert sum(sizes) < 0.5 * len(html.encode())
    # ...and the last paints cost no more than the first ones, though the answer is long by then.
    assert sum(sizes[-10:]) <= 2 * sum(sizes[:10]) + 200
    widget.close()


def view_painted_by_hand() -> LiveView:
    """A started live view whose paints the test drives (no painter thread), into a recorded widget."""
    view = LiveView()
    view.start("model")
    view._stop_painter()
    view._widget = RecordedAnswer()
    return view


def test_a_paint_renders_only_what_its_share_of_the_time_pays_for():
    view = view_painted_by_hand()
    for _ in range(200):
        view.add("twenty characters.. ")
    view._cost_per_char = 1e-6
    view._last_paint = time.perf_counter() - 0.02  # 20 ms since the last paint: 1 ms of CPU at a 5% share
    view._paint()
    left = len(view._queue)
    assert 0 < left < 200  # about 1,000 characters painted; the rest waits
    assert view._wake.is_set()  # ...and is painted next time even if no chunk comes
    (paint,) = [r for r in decode_stream(view._widget.messages) if r[0] == "p"]
    assert "twenty characters" in paint[1] + paint[2]
    view._widget.close()


def test_a_new_view_budgets_its_first_paint_with_the_cost_the_last_view_measured(monkeypatch):
    # A fixed first guess lets the first paint of a fast stream take several times its share.
    monkeypatch.setattr(LiveView, "measured_cost_per_char", LiveView.measured_cost_per_char)
    view = view_painted_by_hand()
    view._cost_per_char = 1e-8  # a guess far too low: the paint measures the real cost
    for _ in range(50):
        view.add("twenty characters.. ")
    view._last_paint = time.perf_counter() - 60
    view._paint()
    measured = view._cost_per_char
    assert measured > 1e-8
    assert LiveView()._cost_per_char == measured
    view._widget.close()


def test_one_slow_paint_does_not_starve_the_next_views_first_paint(monkeypatch):
    monkeypatch.setattr(LiveView, "measured_cost_per_char", LiveView.measured_cost_per_char)
    view = view_painted_by_hand()
    view._cost_per_char = 1.0  # as if a paint of a few characters had waited out a long pause
    view.add("twenty characters.. ")
    view._paint()
    # The next view starts from at most 100 µs a character (paints measure 5-25 µs here).
    assert LiveView()._cost_per_char <= 1e-4
    view._widget.close()


def _painters() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "gemini-painter" and t.is_alive()]


def test_each_view_owns_its_painter_and_no_painter_outlives_its_answer():
    # The old class-level pool set "done" before its thread was back in the pool: a cell
    # started right after another one could find no idle painter and start one more, and
    # pooled painters stayed alive for good. Now a view's painter ends with the view.
    for _ in range(50):
        view = LiveView()
        view.start("model")  # stopped within the 20 ms grace: nothing is displayed
        view._stop_painter()
        assert _painters() == []
