"""Many prompts at once: %%gemini --each, gemini_magic.map and the Batch API.

Everything runs through the real google-genai SDK (its async client, and
client.batches) over HTTP against the offline server. ``[[offline echo=1]]``
makes each answer the prompt itself, so alignment is visible in the answers;
other directives in the data inject faults into single items.
"""

import contextlib
import importlib
import signal
import sys
import time

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import gemini_magic
from gemini_magic.many.limits import RateLimiter

ECHO = "[[offline echo=1]]"
NAMES = ("xs", "reviews", "df", "res", "summaries", "other")


@pytest.fixture
def mip(ip):
    """The shell, with fast retries and Batch API polling, and our names cleaned up after."""
    ip.run_line_magic("config", "GeminiMagics.retry_delay = 0.01")
    ip.run_line_magic("config", "GeminiMagics.batch_poll = 0.05")
    yield ip
    for name in NAMES:
        ip.user_ns.pop(name, None)


def generate_requests(server, since=0):
    """Generate requests received (after the first ``since`` requests of the log)."""
    return [r for r in server.requests[since:] if r.path.endswith(":generateContent")]


def prompt_of(request):
    return request.json["contents"][-1]["parts"][0]["text"]


def each(ip, line, cell=None):
    """Run the cell magic (the line magic when there is no cell); return what it printed."""
    with capture_output() as captured:
        if cell is None:
            ip.run_line_magic("gemini", line)
        else:
            ip.run_cell_magic("gemini", line, cell)
    return captured


@contextlib.contextmanager
def interrupt_after(seconds):
    """Ctrl-C in ``seconds``: SIGINT's KeyboardInterrupt, raised in the main thread.

    An interrupt that lands in a finalizer (``__del__``, a weakref callback) is
    swallowed by Python ("Exception ignored in ..."); it is then sent again.
    """
    importlib.import_module("google.genai")  # imported now, so the interrupt lands in the run

    def handler(signum, frame):
        raise KeyboardInterrupt

    def unraisable(info):
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0.05)
        else:
            hook(info)

    hook = sys.unraisablehook
    previous = signal.signal(signal.SIGALRM, handler)
    sys.unraisablehook = unraisable
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = hook


# -- alignment ------------------------------------------------------------------


def test_each_over_a_list_gives_one_answer_per_item_in_order(mip, server):
    mip.user_ns["xs"] = [f"apple {i}" for i in range(7)]
    captured = each(mip, "--each xs --out res --concurrency 3", f"Describe {{item}} (#{{index}}). {ECHO}")
    res = mip.user_ns["res"]
    assert isinstance(res, list) and len(res) == 7
    assert [r.text for r in res] == [f"Describe apple {i} (#{i})." for i in range(7)]
    assert all(isinstance(r, gemini_magic.GeminiResponse) and r.finish_reason == "STOP" for r in res)
    assert mip.user_ns["_gemini"] == res
    assert len(generate_requests(server)) == 7
    assert "7 done" in captured.stdout and "in `_gemini` and `res`" not in captured.stdout
    assert "gemini × 7 · 7 done" in captured.stdout


def test_each_over_a_series_keeps_its_index(mip):
    mip.user_ns["reviews"] = pd.Series(["good", "bad", "fine"], index=["r1", "r2", "r3"], name="review")
    each(mip, "--each reviews --out summaries", f"Review {{index}}: {{item}} {ECHO}")
    out = mip.user_ns["summaries"]
    assert isinstance(out, pd.Series) and list(out.index) == ["r1", "r2", "r3"] and out.name == "summaries"
    assert list(out) == ["Review r1: good", "Review r2: bad", "Review r3: fine"]


def test_each_over_a_dataframe_fills_columns_and_aligns_with_its_index(mip):
    df = pd.DataFrame({"review": ["great", "awful", "meh"], "stars": [5, 1, 3]}, index=[10, 20, 30])
    mip.user_ns["df"] = df
    mip.user_ns["tone"] = "kind"  # the notebook's variables are there too
    each(mip, "--each df --out summaries", f"Be {{tone}}. {{stars}} stars: {{review}} {ECHO}")
    out = mip.user_ns.pop("summaries")
    mip.user_ns.pop("tone")
    assert list(out.index) == [10, 20, 30]
    assert list(out) == ["Be kind. 5 stars: great", "Be kind. 1 stars: awful", "Be kind. 3 stars: meh"]
    df["summary"] = out  # the column a data person wants
    assert df.loc[20, "summary"] == "Be kind. 1 stars: awful"


def test_a_list_of_dicts_offers_its_keys(mip):
    mip.user_ns["xs"] = [{"name": "Ada", "year": 1815}, {"name": "Alan", "year": 1912}]
    each(mip, "--each xs --out res", f"{{name}} was born in {{year}}. {ECHO}")
    assert mip.user_ns["res"] == ["Ada was born in 1815.", "Alan was born in 1912."]


def test_the_request_carries_the_cell_options(mip, server):
    mip.user_ns["xs"] = ["one", "two"]
    each(mip, '--each xs -m gemini-2.5-pro -t 0.3 --max-tokens 50 -s "Be terse."', "Say {item}")
    requests = generate_requests(server)
    assert sorted(prompt_of(r) for r in requests) == ["Say one", "Say two"]
    for request in requests:
        assert "/models/gemini-2.5-pro:generateContent" in request.path
        assert request.json["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 50}
        assert request.json["systemInstruction"]["parts"][0]["text"] == "Be terse."


def test_map_is_the_same_as_a_function(gemini_env, server):
    out = gemini_magic.map(f"Hello {{item}} {ECHO}", ["a", "b", "c"], concurrency=2, progress=False)
    assert out == ["Hello a", "Hello b", "Hello c"]
    df = pd.DataFrame({"city": ["Oslo", "Lima"]}, index=["n", "s"])
    series = gemini_magic.map(f"{{city}} is in {{where}} {ECHO}", df, namespace={"where": "the world"}, progress=False)
    assert list(series.index) == ["n", "s"] and list(series) == ["Oslo is in the world", "Lima is in the world"]


def test_map_is_exported_lazily():
    import subprocess
    import sys

    script = "import sys, gemini_magic; print('gemini_magic.many' in sys.modules); gemini_magic.map; print('gemini_magic.many' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


# -- concurrency and limits --------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_requests_in_flight_never_exceed_the_concurrency(mip, server, concurrency):
    mip.user_ns["xs"] = list(range(3 * concurrency))
    started = time.perf_counter()
    each(mip, f"--each xs --concurrency {concurrency}", "Number {item} [[offline latency=0.2]]")
    elapsed = time.perf_counter() - started
    assert server.max_concurrent == concurrency  # bounded, and really concurrent
    assert 3 * 0.2 <= elapsed < 3 * 0.2 + 2.0  # three waves


def test_concurrency_defaults_to_the_config_trait(mip, server):
    mip.run_line_magic("config", "GeminiMagics.concurrency = 2")
    mip.user_ns["xs"] = list(range(6))
    each(mip, "--each xs", "Number {item} [[offline latency=0.05]]")
    assert server.max_concurrent == 2


def test_rpm_spaces_the_requests(mip, server):
    mip.user_ns["xs"] = list(range(14))
    started = time.perf_counter()
    each(mip, "--each xs --rpm 600", "Number {item}")  # 10 a second, a burst of 10
    assert time.perf_counter() - started >= 0.35  # the last 4 wait 0.1 s each
    assert len(generate_requests(server)) == 14


def test_the_rate_limiter_holds_requests_and_tokens_per_minute():
    import asyncio

    async def run():
        limiter = RateLimiter(rpm=1200)  # 20 a second, a burst of 20
        started = time.monotonic()
        for _ in range(30):
            await limiter.acquire(0)
        requests = time.monotonic() - started
        limiter = RateLimiter(tpm=60_000)  # 1,000 tokens a second
        started = time.monotonic()
        await limiter.acquire(100)
        limiter.settle(100, 1100)  # the answer was bigger than the estimate: pay it back
        await limiter.acquire(500)
        return requests, time.monotonic() - started

    requests, tokens = asyncio.run(run())
    assert 0.45 <= requests < 1.0  # 10 past the burst, 0.05 s apart
    assert 0.5 <= tokens < 1.2  # waited for the 1,000 tokens the first answer overspent


# -- failures -------------------------------------------------------------------


def test_a_failed_item_keeps_its_error_and_the_run_goes_on(mip, server):
    mip.run_line_magic("config", "GeminiMagics.retries = 1")
    mip.user_ns["xs"] = ["fine", "broken [[offline status=500 tag=item-fails]]", "also fine"]
    captured = each(mip, "--each xs --out res", "Check: {item}")  # the cell does not fail
    res = mip.user_ns["res"]
    assert [r.finish_reason for r in res] == ["STOP", "ERROR", "STOP"]
    assert "server error" in res[1].error and res[0].error is None and res[2].text
    assert "2 done · 1 failed" in captured.stdout and "item 1" in captured.stdout
    assert len(generate_requests(server)) == 4  # the broken one was tried twice


def test_429_is_retried_with_backoff_and_retry_after(mip, server):
    mip.user_ns["xs"] = ["a", "b [[offline status=429 retry_after=0.3 fail_times=2 tag=many429]]"]
    started = time.perf_counter()
    each(mip, "--each xs --out res", "Say {item}")
    assert time.perf_counter() - started >= 0.6  # Retry-After honoured twice
    assert [r.finish_reason for r in mip.user_ns["res"]] == ["STOP", "STOP"]
    assert sum("many429" in prompt_of(r) for r in generate_requests(server)) == 3


def test_every_item_failing_fails_the_cell_with_one_line(mip):
    mip.run_line_magic("config", "GeminiMagics.retries = 0")
    mip.user_ns["xs"] = ["a", "b"]
    with pytest.raises(UsageError, match="Every request failed.*server error"):
        each(mip, "--each xs --out res", "Say {item} [[offline status=503 tag=allfail]]")
    assert all(r.error for r in mip.user_ns["res"])  # still kept


def test_an_error_every_item_would_share_stops_the_run_early(mip, server):
    mip.user_ns["xs"] = list(range(30))
    with pytest.raises(UsageError, match="not found"):
        each(mip, "--each xs --out res --concurrency 2 -m gemni-2.5-flash", "Say {item}")
    res = mip.user_ns["res"]
    assert len(res) == 30 and all(r.error for r in res)
    assert sum(r.error.startswith("Not sent") for r in res) >= 25
    assert len(generate_requests(server)) <= 4


def test_a_prompt_that_cannot_be_built_for_one_item_fails_only_that_item(mip):
    mip.user_ns["xs"] = [{"name": "Ada"}, {"nom": "Alan"}, {"name": "Grace"}]
    each(mip, "--each xs --out res", f"Hello {{name}} {ECHO}")
    res = mip.user_ns["res"]
    assert res[0] == "Hello Ada" and res[2] == "Hello Grace"
    assert "could not be built" in res[1].error and "name" in res[1].error


# -- resume -----------------------------------------------------------------------


def test_running_again_sends_only_what_is_missing_or_failed(mip, server):
    mip.run_line_magic("config", "GeminiMagics.retries = 0")
    mip.user_ns["xs"] = ["a", "b [[offline status=500 fail_times=1 tag=resume1]]", "c"]
    each(mip, "--each xs --out res", "Say {item}")
    first = mip.user_ns["res"]
    assert [r.finish_reason for r in first] == ["STOP", "ERROR", "STOP"]
    since = len(server.requests)  # (not server.clear(): it would reset fail_times)
    captured = each(mip, "--each xs --out res", "Say {item}")
    second = mip.user_ns["res"]
    assert [prompt_of(r) for r in generate_requests(server, since)] == [
        "Say b [[offline status=500 fail_times=1 tag=resume1]]"
    ]
    assert second[0] is first[0] and second[2] is first[2]  # kept, not asked again
    assert second[1].finish_reason == "STOP"
    assert "2 kept from before" in captured.stdout
    since = len(server.requests)
    each(mip, "--each xs --out res", "Say {item}")  # nothing left to do
    assert generate_requests(server, since) == []


def test_a_changed_template_or_item_is_asked_again(mip, server):
    mip.user_ns["xs"] = ["a", "b", "c"]
    each(mip, "--each xs --out res", "Say {item}")
    server.clear()
    mip.user_ns["xs"] = ["a", "B", "c"]  # one item changed
    each(mip, "--each xs --out res", "Say {item}")
    assert [prompt_of(r) for r in generate_requests(server)] == ["Say B"]
    server.clear()
    each(mip, "--each xs --out res", "Shout {item}")  # the template changed: all again
    assert len(generate_requests(server)) == 3


def test_an_earlier_result_of_another_length_is_not_resumed(mip, server):
    mip.user_ns["res"] = [gemini_magic.GeminiResponse("old", finish_reason="STOP")] * 2
    mip.user_ns["xs"] = ["a", "b", "c"]
    each(mip, "--each xs --out res", "Say {item}")
    assert len(generate_requests(server)) == 3 and len(mip.user_ns["res"]) == 3


def test_map_resumes_from_an_earlier_result(gemini_env, server):
    data = pd.Series(["x", "y [[offline status=503 fail_times=1 tag=mapresume]]"], index=["p", "q"])
    first = gemini_magic.map("Say {item}", data, retries=0, progress=False)
    assert first["q"].error
    since = len(server.requests)
    second = gemini_magic.map("Say {item}", data, retries=0, progress=False, resume=first)
    assert (
        len(generate_requests(server, since)) == 1 and second["q"].finish_reason == "STOP" and second["p"] is first["p"]
    )


def test_interrupt_keeps_finished_answers_and_running_again_finishes(mip, server):
    mip.user_ns["xs"] = [0, 1]
    each(mip, "--each xs", "Warm up {item}")  # the client and its connections, so the timing below holds
    mip.user_ns["xs"] = list(range(12))
    with interrupt_after(0.35):  # Ctrl-C while the third wave is in flight
        with pytest.raises(UsageError, match=r"Interrupted: \d+ of 12 answers are kept in _gemini and res"):
            each(mip, "--each xs --out res --concurrency 2", "Number {item} [[offline latency=0.15]]")
    res = mip.user_ns["res"]
    done = [r for r in res if r.finish_reason == "STOP"]
    assert len(res) == 12 and 2 <= len(done) < 12
    assert all(r.interrupted for r in res if r.finish_reason != "STOP")
    server.clear()
    each(mip, "--each xs --out res --concurrency 6", "Number {item} [[offline latency=0.15]]")
    assert len(generate_requests(server)) == 12 - len(done)
    assert all(r.finish_reason == "STOP" for r in mip.user_ns["res"])


# -- the Batch API -----------------------------------------------------------------


def test_batch_submits_one_job_shows_its_state_and_collects_aligned_answers(mip, quick_batches):
    server = quick_batches
    mip.user_ns["df"] = pd.DataFrame({"word": ["sun", "moon", "star"]}, index=list("abc"))
    captured = each(mip, '--each df --out res --batch -t 0.4 -s "Be brief."', f"Define {{word}}. {ECHO}")
    res = mip.user_ns["res"]
    assert list(res.index) == list("abc") and list(res) == ["Define sun.", "Define moon.", "Define star."]
    assert all(r.finish_reason == "STOP" and r.usage.total_tokens for r in res)
    (create,) = [r for r in server.requests if r.path.endswith(":batchGenerateContent")]
    inlined = create.json["batch"]["inputConfig"]["requests"]["requests"]
    assert [entry["metadata"]["key"] for entry in inlined] == ["0", "1", "2"]
    assert inlined[0]["request"]["generationConfig"] == {"temperature": 0.4}
    assert inlined[0]["request"]["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert not generate_requests(server)  # nothing went through the one-by-one endpoint
    for state in ("PENDING", "RUNNING", "SUCCEEDED"):
        assert f": {state}" in captured.stdout
    assert "batch job batches/" in captured.stdout and "3 done" in captured.stdout


def test_batch_items_that_fail_are_recorded_and_run_again_alone(mip, quick_batches):
    server = quick_batches
    mip.user_ns["xs"] = ["ok", "bad [[offline status=500 fail_times=1 tag=batchfail]]"]
    each(mip, "--each xs --out res --batch", "Say {item}")
    assert [r.finish_reason for r in mip.user_ns["res"]] == ["STOP", "ERROR"]
    assert "server error" in mip.user_ns["res"][1].error
    since = len(server.requests)
    each(mip, "--each xs --out res --batch", "Say {item}")
    (create,) = [r for r in server.requests[since:] if r.path.endswith(":batchGenerateContent")]
    assert len(create.json["batch"]["inputConfig"]["requests"]["requests"]) == 1
    assert [r.finish_reason for r in mip.user_ns["res"]] == ["STOP", "STOP"]


def test_a_failed_batch_job_marks_its_items(mip, quick_batches):
    mip.user_ns["xs"] = ["a [[offline job=FAILED]]", "b"]
    with pytest.raises(UsageError, match="Every request failed.*ended FAILED"):
        each(mip, "--each xs --out res --batch", "Say {item}")


def test_a_left_batch_job_is_collected_later_by_name_or_by_running_the_cell_again(mip, quick_batches):
    server = quick_batches
    server.batch_seconds = 2.0
    mip.user_ns["xs"] = ["one", "two", "three"]
    with interrupt_after(0.4):  # leave while the job is pending
        with pytest.raises(UsageError, match=r"Left Gemini batch job (batches/\S+) running"):
            each(mip, "--each xs --out res --batch", f"Say {{item}} {ECHO}")
    pending = mip.user_ns["res"]
    job = pending[0].batch_job
    assert all(r.finish_reason == "BATCH_PENDING" and r.batch_job == job for r in pending)
    # By name, into another variable (e.g. after a kernel restart):
    each(mip, f"--batch-job {job} --out other")
    assert mip.user_ns["other"] == ["Say one", "Say two", "Say three"]
    # Or the same cell again: it collects the same job, it does not submit a new one.
    server.clear()
    each(mip, "--each xs --out res --batch", f"Say {{item}} {ECHO}")
    assert not [r for r in server.requests if r.path.endswith(":batchGenerateContent")]
    assert mip.user_ns["res"] == ["Say one", "Say two", "Say three"]


def test_map_can_use_the_batch_api(gemini_env, quick_batches):
    out = gemini_magic.map(f"Name {{item}} {ECHO}", ["a", "b"], batch=True, progress=False)
    assert out == ["Name a", "Name b"]


# -- mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, cell, message",
    [
        ("--each nothing", "Say {item}", "no variable named 'nothing'"),
        ("--each d", "Say {item}", "d is a dict: give a list, tuple, pandas Series or DataFrame"),
        ("--each g", "Say {item}", "make it a list first"),
        ("--each empty", "Say {item}", "empty"),
        ("--each xs --concurrency 0", "Say {item}", "--concurrency 0: must be between 1 and 100"),
        ("--each xs --concurrency 101", "Say {item}", "between 1 and 100"),
        ("--each xs --rpm 0", "Say {item}", "--rpm 0: must be a positive"),
        ("--each df", "Say {colour}", r"uses \{colour\}: not a column or key of df.*offers: item, index, word"),
        ("--each xs", "Say hello", "never uses the item"),
        ("--each xs", "  ", "empty template"),
        ("--batch", "Say {item}", "--batch needs --each"),
        ("--batch-job 12345", None, "not a batch job name"),
        ("--each xs --no-vars", "Say {item}", "cannot be used with --no-vars"),
        ("--each xs -t 5", "Say {item}", "between 0 and 2"),
    ],
)
def test_mistakes_are_one_line_usage_errors_before_anything_is_sent(mip, server, line, cell, message):
    mip.user_ns.update(xs=["a"], d={"a": 1}, g=(x for x in "ab"), empty=[], df=pd.DataFrame({"word": ["sun"]}))
    try:
        with pytest.raises(UsageError, match=message):
            each(mip, line, cell)
    finally:
        for name in ("d", "g", "empty"):
            mip.user_ns.pop(name)
    assert server.requests == []


def test_the_help_lists_the_options(mip):
    doc = mip.magics_manager.magics["cell"]["gemini"].__doc__
    for option in ("--each", "--concurrency", "--rpm", "--tpm", "--batch", "--batch-job"):
        assert option in doc


def test_the_progress_bar_counts_done_failed_and_tokens(mip):
    mip.run_line_magic("config", "GeminiMagics.retries = 0")
    mip.user_ns["xs"] = ["a", "b [[offline status=500 tag=bar]]", "c"]
    captured = each(mip, "--each xs", "Say {item}")
    final = captured.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert "3/3" in final and "✓ 2 ✗ 1" in final and "tokens" in final


def test_collecting_a_job_by_name_can_be_left_too(mip, quick_batches):
    from gemini_magic.client import Connection, Request, submit_batch

    quick_batches.batch_seconds = 2.0
    job = submit_batch([Request(prompt="slow", model="gemini-2.5-flash", connection=Connection())], [0])
    with interrupt_after(0.3):
        with pytest.raises(UsageError, match=f"Left Gemini batch job {job.name} running at Google; Run the cell"):
            each(mip, f"--batch-job {job.name} --out other")
    assert "other" not in mip.user_ns  # nothing to keep yet, and nothing overwritten


def test_each_takes_a_numpy_array_and_sends_images_first(mip, server):
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    mip.user_ns["pic"] = buffer.getvalue()
    mip.user_ns["xs"] = np.array([1.5, 2.5])
    each(mip, "--each xs --out res --image pic", "What is {item}?")
    mip.user_ns.pop("pic")
    assert len(mip.user_ns["res"]) == 2
    for request in generate_requests(server):
        parts = request.json["contents"][-1]["parts"]
        inline = parts[0]["inlineData"]
        assert inline.get("mimeType", inline.get("mime_type")) == "image/png"  # the SDK sends the latter
        assert parts[1]["text"] in ("What is 1.5?", "What is 2.5?")


def test_json_answers_are_parsed_per_item_and_a_bad_one_is_a_failed_item(mip):
    mip.user_ns["schema"] = {"type": "object", "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}}}
    mip.user_ns["xs"] = ["Oslo", "Lima"]
    each(mip, "--each xs --out res --schema schema", "Describe {item}")
    res = mip.user_ns["res"]
    assert [r.parsed for r in res] == [{"city": "city 1", "rank": 1}] * 2  # the offline server's example value
    mip.user_ns["xs"] = ["Oslo", f"Lima {ECHO}"]  # this one answers with its prompt: not JSON
    each(mip, "--each xs --out res -f json", "Describe {item}")
    mip.user_ns.pop("schema")
    res = mip.user_ns["res"]
    assert res[1].error.startswith("The answer is not valid JSON") and res[0].error is None


def test_map_returns_what_finished_when_interrupted(gemini_env, server, capsys):
    gemini_magic.map("Warm up {item}", [0, 1], progress=False)
    with interrupt_after(0.5):
        out = gemini_magic.map("Number {item} [[offline latency=0.2]]", list(range(8)), concurrency=2, progress=False)
    done = [r for r in out if r.finish_reason == "STOP"]
    assert len(out) == 8 and 1 <= len(done) < 8 and all(r.interrupted for r in out if r not in done)
    assert "call map again with resume=<this result> to send only the rest" in capsys.readouterr().err
    since = len(server.requests)
    again = gemini_magic.map(
        "Number {item} [[offline latency=0.2]]", list(range(8)), concurrency=8, progress=False, resume=out
    )
    assert len(generate_requests(server, since)) == 8 - len(done) and all(r.finish_reason == "STOP" for r in again)
