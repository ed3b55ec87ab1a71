"""Recorded answers that replay (GeminiMagics.replay), the dry run, and cost where it happened.

An IPython shell against the offline Gemini server; the record file is a real
SQLite file in a temporary directory.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.output.escape import shown as read  # what a reader sees of escaped text
from tests.support import TEST_KEY

PROMPT = "Explain what a p-value is, for a first-year student."


def generations(server):
    return [r for r in server.requests if "GenerateContent" in r.path or ":generateContent" in r.path]


@pytest.fixture(autouse=True)
def forget_variables(shell):
    yield
    for name in ("first", "again", "defs", "topics", "rows", "city", "_gemini_dry_run"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def record_file(tmp_path):
    return str(tmp_path / "lesson.gemini.sqlite")


@pytest.fixture
def replaying(ip, record_file):
    """The shell with replay on, recording into ``record_file``."""
    ip.run_line_magic("config", f"GeminiMagics.replay_file = {record_file!r}")
    ip.run_line_magic("config", 'GeminiMagics.replay = "auto"')
    yield ip
    from gemini_magic.replay import close_stores

    close_stores()


def ask(ip, line="", cell=PROMPT):
    with capture_output() as captured:
        ip.run_cell_magic("gemini", line, cell)
    return ip.user_ns["_gemini"], captured.stdout


def test_a_recorded_answer_replays_at_once_and_sends_nothing(replaying, server):
    live, _ = ask(replaying)
    assert len(generations(server)) == 1 and live.replayed_at is None
    again, shown = ask(replaying)
    assert len(generations(server)) == 1  # nothing sent the second time
    assert again == live and again.usage == live.usage and again.finish_reason == "STOP"
    assert again.replayed_at is not None and again.cost == 0.0
    assert "replayed, recorded " in again.footer() and "nothing sent" in again.footer()
    assert live.text in shown and "replayed, recorded" in shown  # through the same view as a live answer


def test_any_change_to_the_request_asks_gemini_again(replaying, server):
    ask(replaying)
    for line, cell in [
        ("-t 0.3", PROMPT),
        ("-m gemini-2.5-pro", PROMPT),
        ("", PROMPT + " "),
        ('-s "Be terse."', PROMPT),
        ("--max-tokens 50", PROMPT),
        ("-f json", PROMPT),
    ]:
        before = len(generations(server))
        ask(replaying, line, cell)
        assert len(generations(server)) == before + 1, line
    before = len(generations(server))
    ask(replaying, "-t 0.3")  # recorded just above
    assert len(generations(server)) == before


def test_refresh_asks_again_and_replaces_the_record(replaying, server, record_file):
    ask(replaying)
    replaying.run_line_magic("config", "GeminiMagics.temperature = 0.5")
    ask(replaying)  # another request, recorded beside the first
    replaying.run_line_magic("config", "GeminiMagics.temperature = None")
    fresh, _ = ask(replaying, "--refresh")
    assert len(generations(server)) == 3 and fresh.replayed_at is None
    rows = sqlite3.connect(record_file).execute("SELECT key FROM answers ORDER BY recorded_at, rowid").fetchall()
    assert len(rows) == 2  # replaced, not added


def test_no_replay_on_a_cell_asks_gemini_and_records_nothing(replaying, server, record_file):
    ask(replaying, "--no-replay")
    ask(replaying, "--no-replay")
    assert len(generations(server)) == 2
    assert not os.path.exists(record_file)


def test_replay_on_one_cell_with_the_setting_off(ip, server, tmp_path):
    ip.run_line_magic("config", f"GeminiMagics.replay_file = {str(tmp_path / 'x.sqlite')!r}")
    ask(ip, "--replay")
    again, _ = ask(ip, "--replay")
    assert len(generations(server)) == 1 and again.replayed_at is not None
    ask(ip)  # the setting is off: asks
    assert len(generations(server)) == 2


def test_only_mode_needs_no_key_and_names_the_difference(replaying, server, monkeypatch):
    ask(replaying)
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    replaying.run_line_magic("config", 'GeminiMagics.replay = "only"')
    again, _ = ask(replaying)
    assert again.replayed_at is not None
    with pytest.raises(UsageError) as model_changed:
        ask(replaying, "-m gemini-2.5-pro")
    assert "model differs: gemini-2.5-pro vs gemini-flash-latest recorded" in str(model_changed.value)
    with pytest.raises(UsageError) as prompt_changed:
        ask(replaying, "", PROMPT.replace("first-year", "second-year"))
    assert f"prompt differs at character {PROMPT.index('first') + 1}" in str(prompt_changed.value)
    assert "nothing was sent" in str(prompt_changed.value).lower()
    assert len(generations(server)) == 1


def test_only_mode_with_an_empty_file_says_so(replaying, server):
    replaying.run_line_magic("config", 'GeminiMagics.replay = "only"')
    with pytest.raises(UsageError, match="nothing is recorded in lesson.gemini.sqlite yet"):
        ask(replaying)
    assert generations(server) == []


@pytest.mark.parametrize("fault", ["status=500", "finish=SAFETY after=2", "block=SAFETY", "drop_after=2"])
def test_failed_and_blocked_answers_are_not_recorded(replaying, server, record_file, fault):
    replaying.run_line_magic("config", "GeminiMagics.retries = 0")
    prompt = f"{PROMPT} [[offline {fault} tag=replay]]"
    with pytest.raises(UsageError):
        ask(replaying, "", prompt)
    assert sqlite3.connect(record_file).execute("SELECT COUNT(*) FROM answers").fetchone() == (0,)


def test_the_record_file_holds_neither_the_key_nor_the_endpoint(replaying, server, record_file):
    ask(replaying)
    ask(replaying, "--chat", "And a z-score?")
    from gemini_magic.replay import close_stores

    close_stores()  # everything in the main file
    from pathlib import Path

    raw = b"".join(Path(p).read_bytes() for p in (record_file, record_file + "-wal") if os.path.exists(p))
    assert TEST_KEY.encode() not in raw
    assert server.url.split("//")[1].encode() not in raw and b"127.0.0.1" not in raw


def test_a_chat_replays_turn_by_turn(replaying, server):
    first, _ = ask(replaying, "--chat", "What is a mean?")
    second, _ = ask(replaying, "--chat", "And a median?")
    replaying.run_line_magic("gemini", "--reset")
    assert ask(replaying, "--chat", "What is a mean?")[0] == first
    assert ask(replaying, "--chat", "And a median?")[0] == second
    assert len(generations(server)) == 2
    sent = generations(server)[1].json["contents"]
    assert len(sent) == 3  # the second turn was recorded with its history


def test_a_half_done_each_costs_only_the_missing_items(replaying, server):
    replaying.user_ns["topics"] = ["mean", "median"]
    with capture_output():
        replaying.run_cell_magic("gemini", "--each topics --out first", "Define {item}.")
    assert len(generations(server)) == 2
    replaying.user_ns["topics"] = ["mean", "median", "mode", "range"]
    with capture_output() as captured:
        replaying.run_cell_magic("gemini", "--each topics --out again", "Define {item}.")
    assert len(generations(server)) == 4  # two new items only
    assert replaying.user_ns["again"][:2] == replaying.user_ns["first"]
    assert [bool(r.replayed_at) for r in replaying.user_ns["again"]] == [True, True, False, False]
    assert "2 replayed (nothing sent)" in captured.stdout


def test_only_mode_fails_the_missing_items_alone(replaying, server):
    replaying.user_ns["topics"] = ["mean"]
    with capture_output():
        replaying.run_cell_magic("gemini", "--each topics --out first", "Define {item}.")
    replaying.run_line_magic("config", 'GeminiMagics.replay = "only"')
    replaying.user_ns["topics"] = ["mean", "mode"]
    with capture_output() as captured:
        replaying.run_cell_magic("gemini", "--each topics --out again", "Define {item}.")
    assert "1 failed" in captured.stdout
    kept, missing = replaying.user_ns["again"]
    assert kept == replaying.user_ns["first"][0] and kept.replayed_at
    assert "not recorded" in missing.error
    assert len(generations(server)) == 1


def test_map_records_and_replays_per_item(replaying, server):
    import gemini_magic

    first = gemini_magic.map("Define {item}.", ["mean", "mode"], progress=False)
    again = gemini_magic.map("Define {item}.", ["mean", "mode"], progress=False)
    assert again == first and all(r.replayed_at for r in again)
    assert len(generations(server)) == 2


def test_batch_results_are_recorded_per_item(replaying, quick_batches):
    replaying.user_ns["topics"] = ["mean", "mode"]
    with capture_output():
        replaying.run_cell_magic("gemini", "--each topics --batch --out first", "Define {item}.")
    assert len([r for r in quick_batches.requests if ":batchGenerateContent" in r.path]) == 1
    quick_batches.clear()
    with capture_output() as captured:
        replaying.run_cell_magic("gemini", "--each topics --batch --out again", "Define {item}.")
    assert quick_batches.requests == []  # no job, no request at all
    assert replaying.user_ns["again"] == replaying.user_ns["first"]
    assert "2 replayed" in captured.stdout


def test_a_replayed_answer_can_stream_at_a_set_pace(replaying, server, record_file):
    from gemini_magic.replay import deltas, open_store

    live, _ = ask(replaying)
    (record,) = open_store(record_file).records()
    at_once = list(deltas(record))
    started = time.perf_counter()
    paced = list(deltas(record, pace=5000))  # 200 characters a piece, 25 pieces a second
    took = time.perf_counter() - started
    assert len(at_once) == 1 and len(paced) == -(-len(live) // 200)
    assert "".join(d.text for d in paced) == live.text
    assert took >= (len(paced) - 1) * 0.04 * 0.9


# -- the dry run -------------------------------------------------------------------


def test_a_dry_run_sends_no_generate_request_and_says_what_it_would(ip, server):
    ip.user_ns["city"] = "Lyon"
    with capture_output() as captured:
        ip.run_cell_magic(
            "gemini", '--dry-run -t 0.2 --max-tokens 200 -s "Be terse." --search', "Describe {city} in one line."
        )
    assert generations(server) == []
    assert [r.path.rsplit(":", 1)[1] for r in server.requests] == ["countTokens"]
    dry = ip.user_ns["_gemini_dry_run"]
    assert dry.request["contents"][0]["parts"] == [{"text": "Describe Lyon in one line."}]  # after {name} filling
    assert dry.request["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert dry.request["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 200}
    assert dry.request["tools"] == [{"googleSearch": {}}]
    assert dry.counted_by == "count_tokens" and dry.prompt_tokens > 0
    assert dry.answer_tokens == 200  # --max-tokens is the assumption
    assert dry.cost is not None and dry.batch_cost == pytest.approx(dry.cost / 2)
    assert "text, 26 characters" in read(dry.markdown) and "Google Search" in read(dry.markdown)
    assert "prices as of" in read(dry.markdown)
    (shown,) = captured.outputs
    assert shown.data["text/markdown"] == dry.markdown and "Dry run: nothing sent" in shown.data["text/plain"]
    assert "_gemini" not in ip.user_ns


def test_a_dry_run_without_a_key_estimates_and_says_so(bare_ip, server):
    with capture_output():
        bare_ip.run_cell_magic("gemini", "--dry-run", PROMPT)
    dry = bare_ip.user_ns["_gemini_dry_run"]
    assert server.requests == [] and dry.counted_by == "estimate"
    assert any("no API key" in note for note in dry.notes)
    bare_ip.user_ns.pop("_gemini_dry_run")


def test_a_dry_run_of_each_counts_a_sample_and_extrapolates(ip, server):
    ip.user_ns["rows"] = [f"review number {i}" for i in range(50)]
    with capture_output():
        ip.run_cell_magic("gemini", "--each rows --batch --dry-run", "Summarise: {item}")
    dry = ip.user_ns.pop("_gemini_dry_run")
    assert generations(server) == [] and len(server.requests) == 5  # countTokens on a sample of 5
    assert dry.prompts == 50 and dry.counted == 5
    assert any("counted on 5 of 50 prompts and extrapolated" in note for note in dry.notes)
    assert dry.answer_tokens == 50 * 1000


def test_a_dry_run_of_a_chat_shows_the_history(ip, server):
    ask(ip, "--chat", "What is a mean?")
    with capture_output():
        ip.run_cell_magic("gemini", "--chat --dry-run", "And a median?")
    dry = ip.user_ns.pop("_gemini_dry_run")
    assert [c["role"] for c in dry.request["contents"]] == ["user", "model", "user"]
    assert "chat history | 2 earlier turns" in read(dry.markdown)


def test_a_model_missing_from_the_price_table_says_so(ip, server):
    with capture_output():
        ip.run_cell_magic("gemini", "--dry-run -m gemini-3.8-flash", PROMPT)
    dry = ip.user_ns.pop("_gemini_dry_run")
    assert dry.cost is None and dry.batch_cost is None
    assert any("gemini-3.8-flash is not in the price table" in note for note in dry.notes)
    assert "no price standard" in read(dry.markdown)


# -- cost where it happened --------------------------------------------------------


def test_the_footer_and_gemini_cost_show_what_the_answer_cost(ip, server):
    from gemini_magic.pricing import usage_cost

    answer, shown = ask(ip)
    assert answer.cost == usage_cost(answer.model, answer.usage) and answer.cost > 0
    assert f"${answer.cost:.4f}" in answer.footer() and f"${answer.cost:.4f}" in shown
    markdown = answer._repr_markdown_()
    assert "\\$" in markdown and f"${answer.cost:.4f}" in read(markdown)  # escaped: never $…$ math


def test_prices_can_be_set_with_config(ip, server):
    ip.run_line_magic("config", 'GeminiMagics.prices = {"gemini-3.8-flash": {"input": 1.0, "output": 1.0}}')
    answer, _ = ask(ip, "-m gemini-3.8-flash")
    assert answer.cost == pytest.approx(answer.usage.total_tokens / 1e6)
    from traitlets import TraitError

    with pytest.raises(TraitError, match="give"):
        ip.magics_manager.registry["GeminiMagics"].prices = {"x": {"input": "cheap"}}


def test_the_each_summary_shows_the_cost(ip, server):
    ip.user_ns["topics"] = ["mean", "mode"]
    with capture_output() as captured:
        ip.run_cell_magic("gemini", "--each topics --out defs", "Define {item}.")
    total = sum(r.cost for r in ip.user_ns["defs"])
    from gemini_magic.pricing import dollars

    assert dollars(total) in captured.stdout


# -- the record file from the command line -----------------------------------------


def test_the_record_file_is_inspected_from_the_command_line(replaying, server, record_file):
    answer, _ = ask(replaying)
    from gemini_magic.replay import close_stores

    close_stores()

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "gemini_magic.replay", *args], capture_output=True, text=True, check=False
        )

    listed = cli("list", record_file)
    assert (
        listed.returncode == 0 and "1 recorded answer in" in listed.stdout and "Explain what a p-value" in listed.stdout
    )
    key = listed.stdout.splitlines()[1].split()[0]
    shown = cli("show", record_file, key)
    assert shown.returncode == 0 and answer.text in shown.stdout and PROMPT in shown.stdout
    assert "would remove 0 of 1" in cli("prune", record_file, "--unused-days", "1", "--dry-run").stdout
    assert "removed 1 records" in cli("prune", record_file, "--unused-days", "0").stdout
    assert "0 recorded answers" in cli("list", record_file).stdout
    assert cli("list", record_file + ".missing").returncode == 1


def test_the_file_on_disk_holds_every_record_after_each_cell(replaying, server, record_file, tmp_path):
    ask(replaying)
    ask(replaying, "-t 0.4")
    copy = tmp_path / "committed.gemini.sqlite"
    copy.write_bytes(Path(record_file).read_bytes())  # the file alone, as git would take it, kernel still running
    assert sqlite3.connect(copy).execute("SELECT COUNT(*) FROM answers").fetchone() == (2,)


def test_a_file_that_is_not_a_record_file_fails_in_one_line(replaying, server, record_file):
    Path(record_file).write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(UsageError, match="not a gemini_magic record file"):
        ask(replaying)
    assert generations(server) == []


def test_the_command_line_shows_record_text_without_terminal_escapes(tmp_path):
    from gemini_magic.client import Request
    from gemini_magic.replay import Store, recording_key, summary
    from gemini_magic.response import GeminiResponse

    path = str(tmp_path / "escapes.gemini.sqlite")
    store = Store(path)
    request = Request(prompt="Hi", model="gemini-2.5-flash", parts=("Hi \x1b]0;owned\x07",))
    store.put(
        recording_key(request),
        summary(request),
        GeminiResponse("Red \x1b[31mtext\x1b[0m", model="gemini-2.5-flash", finish_reason="STOP"),
    )
    store.close()
    for command in (["list", path], ["show", path, recording_key(request)[:8]]):
        shown = subprocess.run(
            [sys.executable, "-m", "gemini_magic.replay", *command], capture_output=True, text=True, check=True
        ).stdout
        assert "\x1b" not in shown and "\x07" not in shown
    assert "Red �[31mtext" in shown


def test_a_dry_run_with_replay_on_says_what_is_already_recorded(replaying, server):
    replaying.user_ns["topics"] = ["mean", "mode"]
    with capture_output():
        replaying.run_cell_magic("gemini", "--each topics --out first", "Define {item}.")
    replaying.user_ns["topics"] = ["mean", "mode", "range"]
    with capture_output():
        replaying.run_cell_magic("gemini", "--each topics --dry-run", "Define {item}.")
    dry = replaying.user_ns["_gemini_dry_run"]
    assert dry.recorded == 2 and any("2 of 3 already recorded" in note for note in dry.notes)
    with capture_output():
        replaying.run_cell_magic("gemini", "--dry-run", "Define mean.")
    assert replaying.user_ns["_gemini_dry_run"].recorded == 1
    assert len(generations(server)) == 2
