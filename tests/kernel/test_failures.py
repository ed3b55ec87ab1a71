"""When things go wrong: every failure keeps the partial answer and says what to do.

Each row runs in a real kernel against one of the offline server's fault modes,
through the real google-genai SDK. The README's failure table mirrors these rows.
"""

import time

import pytest

from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

CHUNK = 20  # the server's chunk size for [[offline chunks=...]] answers


@pytest.fixture(scope="module")
def kernel(gemini_server):
    setup = ("%config GeminiMagics.retries = 2", "%config GeminiMagics.retry_delay = 0.05")
    with gemini_kernel(gemini_server.url, TEST_KEY, *setup) as kernel:
        yield kernel


def answer_chunks(n, total=10):
    """The text of the first n chunks of a chunks=total answer, as the server streams it."""
    from gemini_magic.offline.answers import filler

    return filler(total * CHUNK)[: n * CHUNK]


def run_failing(kernel, directive, line=""):
    run = kernel.execute(f"%%gemini {line}\nTell me about t-tests. [[offline {directive}]]")
    fields = kernel.value(
        "dict(text=_gemini.text, error=_gemini.error, finish=_gemini.finish_reason, interrupted=_gemini.interrupted)"
    )
    return run, fields


def assert_one_line_message(run, *phrases):
    """The cell fails with one UsageError line: no traceback, no SDK frames."""
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "UsageError"
    message = run.stderr + "".join(m["content"].get("evalue", "") for m in run.of_type("error"))
    tracebacks = [line for m in run.of_type("error") for line in m["content"]["traceback"]]
    assert all("google" not in line and "File " not in line for line in tracebacks), tracebacks
    for phrase in phrases:
        assert phrase.lower() in message.lower(), message


def final_markdown(run):
    """The saved output's Markdown as a reader sees it (server text in it is escaped)."""
    from gemini_magic.output.escape import shown

    return shown(run.final_output()["data"]["text/markdown"])


@pytest.mark.parametrize(
    "directive, phrases",
    [
        ("status=400", ["rejected the API key", "GEMINI_API_KEY"]),
        ("status=401", ["rejected the API key"]),
        ("status=403", ["rejected the API key"]),
        ("status=500", ["server error", "run the cell again"]),
        ("status=429", ["quota", "wait"]),
        ("status=503", ["503", "run the cell again"]),
    ],
)
def test_http_errors_say_what_happened_and_what_to_do(kernel, gemini_server, directive, phrases):
    run, fields = run_failing(kernel, f"{directive} tag=plain")
    assert_one_line_message(run, *phrases)
    assert fields["finish"] == "ERROR" and fields["error"]
    assert "⚠" not in final_markdown(run) or fields["error"][:20] in final_markdown(run)


def test_an_unknown_model_lists_close_matches(kernel):
    run = kernel.execute("%%gemini -m gemni-2.5-flash\nHello")
    assert_one_line_message(run, "not found", "did you mean", "gemini-2.5-flash")


def test_429_and_503_are_retried_with_backoff_and_shown_as_retrying(kernel, gemini_server):
    gemini_server.clear()
    run, fields = run_failing(kernel, "status=429 fail_times=2 tag=retry")
    assert run.status == "ok" and fields["error"] is None and fields["finish"] == "STOP"
    assert len([r for r in gemini_server.requests if "Generate" in r.path]) == 3
    statuses = [status for kind, status, _ in run.live_records() if kind == "s"]
    assert any("retrying" in value and "(1/2)" in value for value in statuses)
    assert any("retrying" in value and "(2/2)" in value for value in statuses)


def test_retry_after_is_honoured(kernel, gemini_server):
    started = time.perf_counter()
    run, fields = run_failing(kernel, "status=503 retry_after=1.5 fail_times=1 tag=after")
    assert run.status == "ok" and fields["finish"] == "STOP"
    assert time.perf_counter() - started >= 1.5  # waited as asked, not the 0.05 s backoff


def test_a_connection_dropped_before_the_first_chunk_is_retried(kernel, gemini_server):
    run, fields = run_failing(kernel, "chunks=10 drop_after=0 fail_times=1 tag=drop0")
    assert run.status == "ok" and fields["text"] == answer_chunks(10)


def test_a_connection_dropped_mid_stream_keeps_the_partial_answer_and_is_not_restarted(kernel, gemini_server):
    gemini_server.clear()
    run, fields = run_failing(kernel, "chunks=10 drop_after=4 tag=drop4")
    assert_one_line_message(run, "connection", "partial answer", "_gemini")
    assert fields["text"] == answer_chunks(4)
    assert len([r for r in gemini_server.requests if "Generate" in r.path]) == 1
    assert answer_chunks(4).split("\n")[0] in final_markdown(run)


def test_a_blocked_prompt_names_the_reason(kernel):
    run, fields = run_failing(kernel, "block=SAFETY")
    assert_one_line_message(run, "blocked the prompt", "safety", "rephrase")
    assert fields["text"] == "" and fields["finish"] == "BLOCKED:SAFETY"


@pytest.mark.parametrize(
    "reason, phrases",
    [("SAFETY", ["for safety", "dangerous content"]), ("RECITATION", ["recitation"]), ("OTHER", ["stopped"])],
)
def test_an_answer_stopped_by_gemini_keeps_what_came_and_names_the_cause(kernel, reason, phrases):
    run, fields = run_failing(kernel, f"chunks=10 finish={reason} after=3")
    assert_one_line_message(run, *phrases, "partial answer")
    assert fields["text"] == answer_chunks(3) and fields["finish"] == reason


def test_max_tokens_is_a_complete_but_cut_answer_not_an_error(kernel):
    run, fields = run_failing(kernel, "chunks=10 finish=MAX_TOKENS after=5")
    assert run.status == "ok"
    assert fields["text"] == answer_chunks(5) and fields["finish"] == "MAX_TOKENS" and fields["error"] is None
    assert "stopped: MAX_TOKENS" in final_markdown(run)


def test_a_malformed_event_keeps_the_partial_answer(kernel):
    run, fields = run_failing(kernel, "chunks=10 malformed_after=2")
    assert_one_line_message(run, "could not be read")
    assert fields["text"] == answer_chunks(2)


def test_a_stalled_server_times_out_with_a_clear_message(kernel):
    assert kernel.execute("%config GeminiMagics.timeout = 0.5").status == "ok"
    try:
        run, fields = run_failing(kernel, "chunks=10 stall_after=3 stall=3")
    finally:
        kernel.execute("%config GeminiMagics.timeout = 120")
    assert_one_line_message(run, "did not answer in 0.5 s", "GeminiMagics.timeout")
    assert fields["text"] == answer_chunks(3)


def test_the_kernel_stays_usable_after_a_failure(kernel):
    run_failing(kernel, "status=500 tag=usable")
    run = kernel.execute("%%gemini\nStill there?")
    assert run.status == "ok"
    assert kernel.value("_gemini.finish_reason") == "STOP"


def test_interrupt_mid_stream_keeps_the_partial_answer_and_ends_static(gemini_server):
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        client = kernel.client
        msg_id = kernel.send_execute("%%gemini --out answer\nA long one. [[offline chunks=200 delay=0.05]]", "notebook")
        updates = 0
        while updates < 5:  # wait until the answer is visibly streaming
            msg = client.get_iopub_msg(timeout=30)
            if msg["msg_type"] == "comm_msg" and msg["content"]["data"].get("method") == "custom":
                updates += 1
        kernel.manager.interrupt_kernel()
        final = None
        while True:
            msg = client.get_iopub_msg(timeout=30)
            if msg["msg_type"] == "update_display_data":
                final = msg
            if (
                msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                break
        reply = kernel.reply_to(msg_id)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "UsageError"
        assert "Interrupted" in reply["content"]["evalue"]
        fields = kernel.value("dict(n=len(answer), interrupted=answer.interrupted, same=answer is _gemini)")
        assert fields["interrupted"] and fields["same"] and 0 < fields["n"] < 200 * CHUNK
        assert final is not None and "interrupted" in final["content"]["data"]["text/markdown"]
        assert kernel.execute("%%gemini\nAfter the interrupt").status == "ok"


def test_the_api_key_never_reaches_the_front_end_even_when_the_server_echoes_it(kernel):
    run, fields = run_failing(kernel, "echo_key=1")
    assert run.status == "error"
    everything = repr(run.messages) + repr(run.reply) + repr(fields)
    assert TEST_KEY not in everything
    assert "<redacted>" in fields["error"]


def test_the_api_key_is_not_in_a_saved_notebook(gemini_server, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_server.url)
    cells = [
        "%load_ext gemini_magic",
        "%%gemini --out answer\nSummarise the data.",
        "%%gemini\nFail loudly. [[offline echo_key=1]]",
        "%%gemini -m not-a-model\nHello",
        "_gemini, answer, repr(answer), answer.error",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    saved = tmp_path / "shared.ipynb"
    nbformat.write(notebook, saved)
    text = saved.read_text()
    assert "rejected the API key" in text and "<redacted>" in text  # the failure is there...
    assert TEST_KEY not in text  # ...the key is not
