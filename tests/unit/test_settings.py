"""One settings object: checked when set, read the same by a cell, --each and map().

Also the defects a review found where one decision was made in several places.
"""

import threading

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import gemini_magic
from gemini_magic.errors import GeminiMagicError, KeyRejectedError, Mistake, SettingError
from gemini_magic.settings import Settings


def test_a_setting_out_of_range_is_refused_when_it_is_set(ip, caplog):
    with capture_output() as captured:
        ip.run_line_magic("config", "GeminiMagics.temperature = 5")
    # %config reports it on one line (through logging), with no traceback
    assert "GeminiMagics.temperature = 5.0: must be between 0 and 2" in caplog.text
    assert "Traceback" not in captured.stderr + caplog.text
    assert ip.magics_manager.registry["GeminiMagics"].temperature is None  # unchanged


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("concurrency", 0, "between 1 and 100"),
        ("timeout", -1.0, "positive number of seconds"),
        ("model", "a/b", "not a Gemini model name"),
        ("max_chars", 0, "positive"),
        ("retries", 99, "between 0 and 20"),
    ],
)
def test_every_checked_setting_says_why(name, value, reason):
    with pytest.raises(Exception, match=reason):
        setattr(Settings(), name, value)


def test_a_cell_option_goes_through_the_same_check_and_names_the_option(ip, server):
    with capture_output(), pytest.raises(UsageError, match=r"-t/--temperature 3\.0: must be between 0 and 2"):
        ip.run_cell_magic("gemini", "-t 3", "Hi")
    assert server.requests == []


def test_map_reads_the_magic_settings_and_checks_its_arguments_the_same_way(ip, server):
    ip.run_line_magic("config", "GeminiMagics.model = 'gemini-2.5-pro'")
    answers = gemini_magic.map("Say {item}", ["a"], progress=False)
    assert answers[0].complete
    assert any("/models/gemini-2.5-pro:" in r.path for r in server.requests)
    with pytest.raises(SettingError, match="temperature 5: must be between 0 and 2"):
        gemini_magic.map("Say {item}", ["a"], temperature=5, progress=False)
    with pytest.raises(SettingError, match="--concurrency 0"):
        gemini_magic.map("Say {item}", ["a"], concurrency=0, progress=False)


def test_settings_have_one_default_each():
    fresh = Settings()
    assert fresh.model == "gemini-flash-latest" and fresh.timeout == 120.0 and fresh.retries == 3
    assert fresh.concurrency == 16 and fresh.batch_poll == 30.0


def test_errors_are_one_hierarchy_told_apart_by_type():
    assert issubclass(SettingError, Mistake) and issubclass(Mistake, GeminiMagicError)
    assert KeyRejectedError("x").fatal and not Mistake("x").fatal


def test_unloading_leaves_no_stale_settings_behind(ip):
    for _ in range(5):
        ip.run_line_magic("unload_ext", "gemini_magic")
        ip.run_line_magic("load_ext", "gemini_magic")
    from gemini_magic.magics import GeminiMagics

    assert sum(isinstance(c, GeminiMagics) for c in ip.configurables) == 1


def test_each_answers_carry_citations_and_thoughts_like_a_single_prompt(ip, server):
    ip.user_ns["xs"] = ["Oslo", "Lima"]
    with capture_output():
        ip.run_cell_magic("gemini", "--each xs --out res --search --show-thoughts", "Tell me about {item}")
    for answer in ip.user_ns["res"]:
        assert answer.citations and answer.search_queries and answer.thoughts


def test_collecting_a_failed_batch_job_by_name_fails_in_one_line(ip, quick_batches):
    from gemini_magic.client import Connection, Request, submit_batch

    job = submit_batch(
        [Request(prompt="x [[offline job=FAILED]]", model="gemini-2.5-flash", connection=Connection())], [0]
    )
    with capture_output(), pytest.raises(UsageError, match="ended FAILED with no answers"):
        ip.run_line_magic("gemini", f"--batch-job {job.name} --out got")
    assert "got" not in ip.user_ns


def test_every_reader_of_a_finished_offline_batch_job_sees_the_same_answers(gemini_env, quick_batches):
    import time

    from gemini_magic.client import Connection, Request, get_batch, submit_batch

    prompts = [f"item {i} [[offline fail_times=1 tag=race{i}]]" for i in range(8)]
    job = submit_batch(
        [Request(prompt=p, model="gemini-2.5-flash", connection=Connection()) for p in prompts], list(range(8))
    )
    time.sleep(quick_batches.batch_seconds + 0.2)
    seen = []

    def read():
        answers = get_batch(Connection(), job.name).answers
        seen.append([isinstance(answer, GeminiMagicError) for _, answer in answers])

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(seen) == 6 and all(s == seen[0] for s in seen)
