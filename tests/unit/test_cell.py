"""A cell as plan, run, keep: the Run that owns an answer, the registry of running answers,
the one View interface and the painter thread of the views that paint from one."""

import contextvars
import threading

import pytest

from gemini_magic.cell.run import Run
from gemini_magic.output.fenced import FencedView
from gemini_magic.views import View
from gemini_magic.views.base import Painter
from gemini_magic.views.headless import HeadlessView
from gemini_magic.views.live import LiveView
from gemini_magic.views.text import TextView
from gemini_magic.views.updating import UpdatingView


class RecordedView:
    """A view that keeps every call, and says when the first chunk and the end came."""

    def __init__(self):
        self.calls = []
        self.first_chunk = threading.Event()
        self.finished = threading.Event()

    def start(self, label):
        self.calls.append(("start", label))

    def add(self, text):
        self.calls.append(("add", text))
        self.first_chunk.set()

    def add_image(self, image):
        self.calls.append(("image", image))

    def retrying(self, attempt, attempts, reason):
        self.calls.append(("retrying", attempt))

    def finish(self, response):
        self.calls.append(("finish", response))
        self.finished.set()

    def text(self):
        return "".join(args[0] for kind, *args in self.calls if kind == "add")


@pytest.mark.parametrize(
    "view",
    [LiveView(), UpdatingView(), HeadlessView(), TextView(), FencedView(HeadlessView(), "json"), RecordedView()],
    ids=lambda view: type(view).__name__,
)
def test_every_view_implements_the_one_interface(view):
    assert isinstance(view, View)


def test_a_painter_runs_in_the_starting_context_and_ends_when_stopped():
    seen = contextvars.ContextVar("seen", default="another cell")
    seen.set("this cell")
    values = []

    def loop():
        values.append(seen.get())
        painter.wake.wait()

    painter = Painter(loop, "gemini-test-painter")
    painter.start()
    painter.start()  # started once: a second start is ignored
    painter.stop()
    assert values == ["this cell"]
    assert not painter.alive
    painter.start()  # a stopped painter stays stopped
    assert not painter.alive and values == ["this cell"]


def test_a_painter_that_raises_ends_quietly():
    def loop():
        raise RuntimeError("a paint failed")

    painter = Painter(loop, "gemini-test-painter")
    painter.start()
    painter.stop()  # returns: the error ended the painting, nothing else
    assert not painter.alive


def request_for(magics, prompt):
    return magics.request(prompt=prompt, parts=(prompt,))


def test_an_answer_can_grow_over_several_requests_in_one_view(ip, server):
    magics = ip.magics_manager.registry["GeminiMagics"]
    first, second = request_for(magics, "One."), request_for(magics, "Two.")
    view = RecordedView()
    response = Run(first, view).answer([first, second])
    assert len(server.requests) == 2
    assert [kind for kind, *_ in view.calls].count("start") == 1
    assert view.calls[-1] == ("finish", response)
    assert response.text == view.text() and response.complete
    one = Run(first, RecordedView()).answer()
    two = Run(second, RecordedView()).answer()
    assert response.text == one.text + two.text


def test_a_cancelled_run_sends_no_next_request_and_keeps_what_came(ip, server):
    magics = ip.magics_manager.registry["GeminiMagics"]
    first = request_for(magics, "One.")
    run = Run(first, RecordedView())

    def rounds():
        yield first
        run.cancel()  # as Stop would, between two rounds
        yield request_for(magics, "Two.")

    response = run.answer(rounds())
    assert len(server.requests) == 1
    assert response.interrupted and response.text


def test_unload_ext_cancels_every_running_answer_and_each_keeps_its_text(ip, server):
    magics = ip.magics_manager.registry["GeminiMagics"]
    request = request_for(magics, "[[offline chunks=2000 chunk_chars=20 delay=0.01]] A long answer.")
    view = RecordedView()
    run = Run(request, view)

    def in_the_background():
        with magics.running.register(run):
            run.answer()

    thread = threading.Thread(target=in_the_background)
    thread.start()
    assert view.first_chunk.wait(30)
    assert magics.running.runs() == [run]
    ip.run_line_magic("unload_ext", "gemini_magic")
    assert view.finished.wait(30)
    thread.join()
    assert run.response.interrupted and 0 < len(run.response) < 40_000
    assert len(magics.running) == 0
    ip.run_line_magic("load_ext", "gemini_magic")  # as the fixture left it


def test_each_cell_registers_its_run_while_it_runs(ip, server, monkeypatch):
    import gemini_magic.views

    magics = ip.magics_manager.registry["GeminiMagics"]
    registered = []

    class Watching(RecordedView):
        def add(self, text):
            registered.append(magics.running.runs())

    monkeypatch.setattr(gemini_magic.views, "choose_view", lambda *args, **kwargs: Watching())
    ip.run_cell_magic("gemini", "", "Hello.")
    assert registered and all(len(runs) == 1 for runs in registered)
    assert len(magics.running) == 0
