"""%%gemini --each and --batch in a real kernel: the progress widget, Interrupt, leaving a batch job.

Interrupt is the real thing: SIGINT from ``kernel.manager.interrupt_kernel()``.
"""

import re
import time

import pytest

from gemini_magic.output.escape import shown
from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel(gemini_server):
    setup = ("%config GeminiMagics.batch_poll = 0.05", "%config GeminiMagics.retries = 0")
    with gemini_kernel(gemini_server.url, TEST_KEY, *setup) as kernel:
        yield kernel


def generate_count(server):
    return sum(1 for r in server.requests if r.path.endswith(":generateContent"))


def widget_states(run):
    return [m["content"]["data"].get("state", {}) for m in run.of_type("comm_msg")]


def run_until(kernel, code, ready, timeout=60):
    """Send ``code``; read iopub until ``ready(msg)`` is true; return (msg_id, messages so far)."""
    msg_id = kernel.client.execute(code)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kernel.client.get_iopub_msg(timeout=30)
        seen.append(msg)
        if ready(msg):
            return msg_id, seen
    raise AssertionError("the run never got there")


def finish(kernel, msg_id, seen):
    """Read the rest of this execution's messages and its reply."""
    while True:
        msg = kernel.client.get_iopub_msg(timeout=60)
        seen.append(msg)
        if (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
            and msg["parent_header"].get("msg_id") == msg_id
        ):
            break
    return kernel.reply_to(msg_id, 60), seen


def test_the_progress_bar_is_a_widget_that_ends_as_a_static_summary(kernel, gemini_server):
    kernel.execute("xs = ['a', 'b [[offline status=500 tag=kbar]]', 'c', 'd']")
    run = kernel.execute("%%gemini --each xs --out res\nSay {item} [[offline latency=0.15]]")
    assert run.status == "ok"  # one failed item does not fail the cell
    (shown,) = run.of_type("display_data")
    assert "application/vnd.jupyter.widget-view+json" in shown["content"]["data"]
    values = [state["value"] for state in widget_states(run) if isinstance(state.get("value"), (int, float))]
    assert values and values[-1] == 4  # the bar reached the end
    texts = " ".join(str(state.get("value")) for state in widget_states(run))
    assert "✓\u20073\u2007✗\u20071" in texts and "tokens" in texts  # done / failed / tokens on the bar
    (final,) = run.of_type("update_display_data")
    assert final["content"]["transient"]["display_id"] == shown["content"]["transient"]["display_id"]
    markdown = final["content"]["data"]["text/markdown"]
    assert "**gemini × 4** · 3 done · 1 failed" in markdown and "item 1" in markdown and "`res`" in markdown
    assert final["content"]["metadata"]["gemini_magic"]["each"]["failed"] == 1
    opened = {m["content"]["comm_id"] for m in run.of_type("comm_open")}
    closed = {m["content"]["comm_id"] for m in run.of_type("comm_close")}
    assert opened and opened <= closed  # every widget closed: a saved notebook keeps the Markdown


def test_interrupt_keeps_every_finished_answer_and_running_again_sends_only_the_rest(kernel, gemini_server):
    kernel.execute("xs = list(range(60))")
    cell = "%%gemini --each xs --out res --concurrency 4\nNumber {item} [[offline latency=0.2]]"

    def some_done(msg):
        value = msg["content"].get("data", {}).get("state", {}).get("value") if msg["msg_type"] == "comm_msg" else None
        return isinstance(value, (int, float)) and value >= 8

    before = generate_count(gemini_server)
    msg_id, seen = run_until(kernel, cell, some_done)
    kernel.manager.interrupt_kernel()
    reply, seen = finish(kernel, msg_id, seen)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "UsageError"
    match = re.search(r"Interrupted: (\d+) of 60 answers are kept in _gemini and res", reply["content"]["evalue"])
    assert match, reply["content"]["evalue"]
    fields = kernel.value(
        "dict(n=len(res), done=sum(r.finish_reason == 'STOP' for r in res), "
        "stopped=sum(r.interrupted for r in res), same=res is _gemini)"
    )
    assert fields["n"] == 60 and fields["same"] and 8 <= fields["done"] < 60
    assert fields["done"] == int(match.group(1)) and fields["done"] + fields["stopped"] == 60
    finals = [m for m in seen if m["msg_type"] == "update_display_data"]
    assert finals and "not finished (interrupted)" in finals[-1]["content"]["data"]["text/markdown"]
    sent = generate_count(gemini_server) - before
    assert sent <= fields["done"] + 4  # in flight when interrupted: at most the concurrency

    before = generate_count(gemini_server)
    run = kernel.execute(cell.replace("--concurrency 4", "--concurrency 16"))
    assert run.status == "ok"
    assert generate_count(gemini_server) - before == 60 - fields["done"]
    assert kernel.value("sum(r.finish_reason == 'STOP' for r in res)") == 60


def test_a_batch_job_shows_its_state_in_place_can_be_left_and_is_collected_by_name(kernel, gemini_server):
    before = gemini_server.batch_seconds
    gemini_server.batch_seconds = 3.0
    try:
        kernel.execute("words = ['sun', 'moon', 'star']")
        cell = "%%gemini --each words --out defs --batch\nDefine {item}. [[offline echo=1]]"

        def pending(msg):
            data = msg["content"].get("data", {}) if msg["msg_type"] == "update_display_data" else {}
            return "PENDING" in data.get("text/plain", "")

        msg_id, seen = run_until(kernel, cell, pending)
        kernel.manager.interrupt_kernel()
        reply, seen = finish(kernel, msg_id, seen)
    finally:
        gemini_server.batch_seconds = before
    assert reply["content"]["ename"] == "UsageError"
    match = re.search(r"Left Gemini batch job (batches/\S+) running", reply["content"]["evalue"])
    assert match, reply["content"]["evalue"]
    job = match.group(1)
    statuses = [m for m in seen if m["msg_type"] in ("display_data", "update_display_data")]
    ids = {m["content"]["transient"]["display_id"] for m in statuses}
    assert len(ids) == 1  # one line, updated in place
    assert "waiting in " + job in shown(statuses[-1]["content"]["data"]["text/markdown"])
    assert kernel.value("[r.batch_job for r in defs]") == [job] * 3

    run = kernel.execute(f"%gemini --batch-job {job} --each words --out defs")
    assert run.status == "ok"
    assert kernel.value("list(defs)") == ["Define sun.", "Define moon.", "Define star."]
    assert "SUCCEEDED" in run.stdout + repr(run.messages)
