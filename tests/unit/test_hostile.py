"""Hostile input: whatever a server, a dataset or a key file sends, nothing gets past the
escaping, the key never shows, and the kernel neither hangs nor fills up.

The server here is the package's own offline server playing a hostile gateway
(``server.script(Reply(...))`` sends a reply exactly as written), reached by the
real google-genai SDK over HTTP.
"""

import json
import os
import resource
import time

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.offline import OfflineGemini
from gemini_magic.offline.scripts import Reply, bomb
from gemini_magic.output.escape import shown
from tests.support import TEST_KEY


def event(text="", finish=None, **fields):
    candidate = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **fields}


def ask(ip, line="", cell="Tell me about t-tests."):
    with capture_output() as captured:
        ip.run_cell_magic("gemini", line, cell)
    return captured


def fails(ip, line="", cell="Tell me about t-tests.", match=None):
    """Run a cell that must fail with one UsageError line; return the message."""
    with capture_output() as captured, pytest.raises(UsageError) as failure:
        ip.run_cell_magic("gemini", line, cell)
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in captured.stderr
    if match:
        assert match.lower() in message.lower(), message
    return message


def saved_markdown(answer):
    from gemini_magic.output.final import final_bundle

    bundle, metadata = final_bundle(answer)
    return bundle["text/markdown"] + bundle["text/plain"] + json.dumps(metadata)


# -- the key -------------------------------------------------------------------------


def test_a_key_echoed_in_a_successful_answer_is_redacted_everywhere(ip, server, tmp_path):
    half = len(TEST_KEY) // 2
    server.script(
        Reply(
            events=[
                event(f"Your key is {TEST_KEY[:half]}"),
                event(f"{TEST_KEY[half:]} and again {TEST_KEY}.", modelVersion=f"model-{TEST_KEY}"),
                event("", finish="STOP", usageMetadata={"promptTokenCount": 3, "totalTokenCount": 5}),
            ]
        )
    )
    captured = ask(ip, "--out answer")
    answer = ip.user_ns["answer"]
    assert answer.complete and "Your key is <redacted>" in answer
    ip.user_ns["_gemini_chat"].save(str(tmp_path / "chat.json"))
    ip.user_ns["_gemini_chat"].save(str(tmp_path / "chat.md"))
    everything = [
        answer.text,
        answer.model,
        repr(answer),
        captured.stdout,
        saved_markdown(answer),
        (tmp_path / "chat.json").read_text(),
        (tmp_path / "chat.md").read_text(),
    ]
    for text in everything:
        assert TEST_KEY[:8] not in text


def test_a_key_cut_in_the_middle_of_a_long_error_shows_no_part_of_it(ip, server):
    message = "x" * 190 + TEST_KEY + " tail"  # the old cut at 197 characters fell inside the key
    server.script(Reply(status=400, body=json.dumps({"error": {"code": 400, "message": message}}).encode()))
    error = fails(ip)
    assert TEST_KEY[:8] not in error and TEST_KEY[:8] not in ip.user_ns["_gemini"].error


def test_spaces_and_a_newline_around_the_key_do_not_turn_redaction_off(ip, server, monkeypatch):
    key = "plain-key-not-shaped-like-google-0042"
    monkeypatch.setenv("GEMINI_API_KEY", f"  {key}\n")  # as read from a file
    server.script(Reply(status=400, body=json.dumps({"error": {"code": 400, "message": f"bad key {key}"}}).encode()))
    error = fails(ip)
    assert key[:8] not in error and "<redacted>" in error


def test_a_redirect_to_another_server_is_refused_and_the_key_stays_home(ip, server, caplog):
    import logging

    with OfflineGemini(delay=0) as elsewhere:
        target = f"{elsewhere.url}/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse&key={TEST_KEY}"
        server.script(Reply(status=302, headers=[("Location", target)], body=b""))
        with caplog.at_level(logging.DEBUG):
            error = fails(ip, match="redirect")
        assert elsewhere.requests == []
    assert TEST_KEY[:8] not in error and TEST_KEY[:8] not in caplog.text
    assert ip.user_ns["_gemini"].finish_reason == "ERROR"


def test_the_environment_never_goes_into_a_prompt(ip, server):
    ip.user_ns["os"] = os
    ip.user_ns["x"] = ask  # any function: its __globals__ reach os
    fails(ip, cell="Summarise {os.environ}", match="os.environ")
    fails(ip, cell="Summarise {x.__globals__[os].environ}", match="machinery")
    fails(ip, cell="Summarise {x.__init__.__globals__}", match="machinery")
    assert server.requests == []


# -- what the server says is shown as text ----------------------------------------------


HOSTILE = (
    "![x](http://attacker.example/p.png) <img src=x onerror=alert(1)> [y](javascript:alert(2)) **b** www.evil.example"
)


def test_server_names_reasons_and_errors_are_shown_as_plain_text(ip, server):
    from gemini_magic.output.final import final_bundle

    server.script(Reply(events=[event("ok", finish=f"STOP {HOSTILE}", modelVersion=HOSTILE)]))
    ask(ip)
    markdown = final_bundle(ip.user_ns["_gemini"])[0]["text/markdown"]
    assert_inert(markdown)
    assert HOSTILE in shown(markdown)  # shown exactly, as text

    ip.run_line_magic("config", "GeminiMagics.retries = 0")
    server.script(Reply(status=500, body=json.dumps({"error": {"code": 500, "message": HOSTILE}}).encode()))
    fails(ip, "--max-tokens 5")
    assert_inert(final_bundle(ip.user_ns["_gemini"])[0]["text/markdown"])


def assert_inert(markdown, allowed_links=()):
    """Rendered as nbconvert would (mistune, with autolinks), it has no element or attribute the
    server's text asked for: no image, no link but ours, no emphasis, no event handler."""
    from html.parser import HTMLParser

    import mistune

    html = mistune.create_markdown(escape=False, plugins=["strikethrough", "table", "url"])(markdown)
    found = []

    class Elements(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Elements().feed(html)
    for tag, attrs in found:
        assert tag in ("p", "sub", "blockquote", "strong", "code", "ol", "ul", "li", "a", "details", "summary"), (
            tag,
            html,
        )
        assert not any(name.startswith("on") or name in ("src", "style") for name in attrs), (tag, attrs)
        if tag == "a":
            assert attrs.get("href") in allowed_links, (attrs, html)


def test_each_labels_and_errors_from_the_data_are_text(ip, server):
    import pandas as pd

    from gemini_magic.output.summary import summary

    ip.user_ns["items"] = pd.Series(["a", "b"], index=[HOSTILE, "fine"])
    server.script(Reply(status=400, body=json.dumps({"error": {"code": 400, "message": HOSTILE}}).encode(), times=5))
    with capture_output(), pytest.raises(UsageError, match="Every request failed"):
        ip.run_cell_magic("gemini", "--each items --out answers", "Say {item}")
    answers = ip.user_ns["answers"]
    assert answers.iloc[0].error and HOSTILE[:20] in answers.iloc[0].error
    from gemini_magic.many.results import Counts, Outcome

    counts = Counts(total=2)
    for answer in answers:
        counts.add(answer)
    markdown = summary(
        Outcome(list(answers), counts, 1.0, job=f"batches/x{HOSTILE}"), ["answers"], label=lambda i: answers.index[i]
    )[0]["text/markdown"]
    assert_inert(markdown)


def test_a_batch_job_with_a_hostile_name_and_an_unknown_state_ends_in_one_line(ip, server):
    name = "batches/x<img src=x onerror=alert(1)>"
    operation = {
        "name": name,
        "metadata": {
            "name": name,
            "state": "BATCH_STATE_<img src=y onerror=alert(2)>",
            "model": "models/gemini-flash-latest",
        },
    }
    server.script(
        Reply(match="batches/", body=json.dumps(operation).encode(), headers=[("Content-Type", "application/json")])
    )
    started = time.monotonic()
    with capture_output() as captured, pytest.raises(UsageError) as failure:
        ip.run_line_magic("gemini", f"--batch-job '{name}' --out jobs")
    message = str(failure.value)
    assert time.monotonic() - started < 30  # not polled forever
    assert "UNKNOWN" in message and "ended" in message and "UNKNOWN" in captured.stdout


# -- bounded resources -----------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap_and_keeps_the_kernel_small(ip, server):
    ip.run_line_magic("config", "GeminiMagics.max_answer_chars = 100000")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server.script(
        Reply(body=bomb(256 << 20), headers=[("Content-Encoding", "gzip"), ("Content-Type", "text/event-stream")])
    )
    fails(ip, match="more than")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, grown_mb  # the body inflates to 256 MB; reading stops at about 1 MB


def test_an_answer_longer_than_the_cap_is_cut_and_kept(ip, server):
    ip.run_line_magic("config", "GeminiMagics.max_answer_chars = 1000")
    fails(ip, cell="Go on. [[offline chunks=200 chunk_chars=20]]", match="more than 1,000 characters")
    answer = ip.user_ns["_gemini"]
    assert len(answer) == 1000 and answer.finish_reason == "ERROR"


def test_a_server_trickling_bytes_trips_the_timeout_in_one_line(ip, server):
    ip.run_line_magic("config", "GeminiMagics.timeout = 1")
    server.script(Reply(events=[event("a slow answer " * 8, finish="STOP")], piece=1, pause=0.05))
    fails(ip, match="too slowly")
    assert ip.user_ns["_gemini"].elapsed < 15


def test_image_files_are_checked_before_they_are_read(ip, server, tmp_path):
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    noise = tmp_path / "noise.png"
    noise.write_bytes(os.urandom(2000))
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as file:
        file.truncate(200_000_000)  # sparse: no disk used
    (tmp_path / "folder.png").mkdir()
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    from pathlib import Path

    # A Path in braces is any file, up to the Files API's 2 GB: the huge one fails on its bytes.
    for path, reason, as_path in (
        (zero, "not a regular file", "not a regular file"),
        (fifo, "not a regular file", "not a regular file"),
        (noise, "not a PNG", "not a PNG"),
        (huge, "more than", "not a PNG"),
        (tmp_path / "folder.png", "not a regular file", "a directory"),
        (empty, "empty", "empty"),
    ):
        fails(ip, f"--image {path}", match=reason)
        ip.user_ns["picture"] = Path(path)
        fails(ip, cell="Describe {picture}", match=as_path)
    assert server.requests == []


def test_parsing_what_a_user_types_is_linear(ip, server):
    from gemini_magic.prompt import build_parts

    for text in ("$x$ " * 100_000, "`c` " * 100_000, "{ " * 100_000):
        started = time.perf_counter()
        build_parts(text, {})
        assert time.perf_counter() - started < 10  # quadratic took minutes; linear takes well under a second
    started = time.perf_counter()
    fails(ip, "-t 1 " * 150_000, match="option words")
    fails(ip, "-s " + "w" * 1_000_000)  # one huge word: read in one pass
    assert time.perf_counter() - started < 20


# -- names and prompts that would break the session ------------------------------------------


@pytest.mark.parametrize("name", ["__builtins__", "get_ipython", "In", "Out", "_ih", "exit", "_1", "print"])
def test_out_refuses_names_the_session_needs(ip, server, name):
    fails(ip, f"--out {name}", match="belongs to Python or IPython")
    assert server.requests == []


def test_each_cannot_write_over_its_own_input(ip, server):
    ip.user_ns["items"] = ["a", "b"]
    fails(ip, "--each items --out items", cell="Say {item}", match="--each's input")
    assert ip.user_ns["items"] == ["a", "b"]


@pytest.mark.parametrize("model", ["a#frag", "''", "x:generateContent", "../models/x", "'a b'"])
def test_model_names_are_checked_before_sending(ip, server, model):
    fails(ip, f"-m {model}", match="model")
    assert server.requests == []


def test_a_prompt_with_no_visible_text_is_empty(ip, server):
    fails(ip, cell="\u200b\u200d \ufeff", match="empty prompt")
    assert server.requests == []


def test_a_value_whose_attributes_raise_is_one_line(ip, server):
    class Hostile:
        def __getattr__(self, name):
            raise RuntimeError("boom " * 100)

        def __str__(self):
            raise RuntimeError("no text either")

    ip.user_ns["h"] = Hostile()
    fails(ip, cell="Describe {h}", match="could not be read")
    fails(ip, cell="Describe {h.anything}", match="has no attribute")


# -- answers that are not complete say so ---------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(events=[event("half an answer")]),  # no finish reason
        Reply(events=[event("text"), b"[1, 2, 3]"]),  # a non-object event
        Reply(body=b""),  # an empty 200
        Reply(body=b"<html>a captive portal</html>", headers=[("Content-Type", "text/html")]),  # not SSE
    ],
    ids=["no-finish-reason", "non-object-event", "empty-body", "not-sse"],
)
def test_an_answer_that_ends_without_finishing_is_an_error_and_keeps_its_text(ip, server, reply):
    server.script(reply)
    message = fails(ip)
    assert "without saying it was finished" in message or "could not be read" in message
    answer = ip.user_ns["_gemini"]
    assert not answer.complete and answer.finish_reason in ("INCOMPLETE", "ERROR")


def test_wrong_typed_fields_give_one_line(ip, server):
    server.script(Reply(events=[{"candidates": [{"content": {"parts": [{"text": 5}]}}]}]))
    fails(ip, match="could not be read")


# -- any string, in any field a server controls ---------------------------------------------


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MARKUP = st.sampled_from(
    [
        "<",
        ">",
        "&",
        "[",
        "]",
        "(",
        ")",
        "!",
        "*",
        "_",
        "`",
        "\\",
        ":",
        "/",
        "#",
        "|",
        "~",
        "$",
        "\n",
        "http://h.example/p.png",
        "javascript:",
        "www.",
        "@",
        "<img src=x onerror=f()>",
        "<a href='http://h'>",
        "<script>",
        "&lt;",
        "](",
        "![",
        "&#x3C;",
        "\u202e",
        "\x1b[31m",
    ]
)
HOSTILE_TEXT = st.lists(st.one_of(MARKUP, st.text(max_size=5)), max_size=12).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=HOSTILE_TEXT,
    finish=HOSTILE_TEXT,
    error=HOSTILE_TEXT,
    title=HOSTILE_TEXT,
    query=HOSTILE_TEXT,
    label=HOSTILE_TEXT,
    job=HOSTILE_TEXT,
)
def test_no_server_field_can_put_markup_or_a_remote_resource_in_an_output(
    model, finish, error, title, query, label, job
):
    from gemini_magic.many.results import Counts, Outcome
    from gemini_magic.output.final import final_bundle
    from gemini_magic.output.summary import summary
    from gemini_magic.response import GeminiResponse

    answer = GeminiResponse(
        "plain answer",
        model=model,
        finish_reason=finish,
        error=error or None,
        citations=[(title, "https://ok.example/page")],
        search_queries=[query],
    )
    markdown = final_bundle(answer)[0]["text/markdown"]
    search = [f"https://www.google.com/search?q={__import__('urllib.parse').parse.quote_plus(query)}"]
    assert_inert(markdown, allowed_links=("https://ok.example/page", *search))
    counts = Counts(total=1)
    counts.add(answer)
    markdown = summary(Outcome([answer], counts, 1.0, fatal=error or None, job=job), ["out"], label=lambda i: label)[0][
        "text/markdown"
    ]
    assert_inert(markdown)
