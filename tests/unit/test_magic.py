"""%%gemini and %gemini in an IPython shell, against the offline Gemini server.

The shell here is terminal-like (no kernel), so the answer is printed as it
streams; the live widget is covered by the kernel tests.
"""

import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from tests.support import TEST_KEY, expected_answer

PROMPT = "Explain what a p-value is, for a first-year student."


def generation_requests(server):
    return [r for r in server.requests if ":streamGenerateContent" in r.path or ":generateContent" in r.path]


def test_load_ext_registers_the_cell_and_line_magic(ip):
    assert "gemini" in ip.magics_manager.magics["cell"]
    assert "gemini" in ip.magics_manager.magics["line"]


def test_unload_ext_removes_them(ip):
    ip.run_line_magic("unload_ext", "gemini_magic")
    try:
        assert "gemini" not in ip.magics_manager.magics["cell"]
        assert "gemini" not in ip.magics_manager.magics["line"]
    finally:
        ip.run_line_magic("load_ext", "gemini_magic")


def test_the_cell_is_the_prompt_and_the_answer_lands_in_gemini_and_out(ip, server):
    with capture_output() as captured:
        result = ip.run_cell_magic("gemini", "-t 0.2 --out summary", PROMPT)
    assert result is None  # not shown twice through Out
    expected = expected_answer(server, PROMPT, temperature=0.2)
    assert ip.user_ns["summary"] == expected
    assert ip.user_ns["_gemini"] is ip.user_ns["summary"]
    assert expected in captured.stdout  # streamed to the terminal
    answer = ip.user_ns["summary"]
    assert answer.finish_reason == "STOP" and answer.error is None and not answer.interrupted
    assert answer.usage.total_tokens > 0 and answer.elapsed > 0
    assert answer.model


def test_the_request_carries_prompt_model_and_generation_options(ip, server):
    with capture_output():
        ip.run_cell_magic("gemini", '-m gemini-2.5-pro -t 0.7 --max-tokens 300 -s "Be terse."', PROMPT)
    (request,) = generation_requests(server)
    assert "/models/gemini-2.5-pro:streamGenerateContent" in request.path
    assert request.json["contents"][0]["parts"][0]["text"] == PROMPT
    assert request.json["systemInstruction"]["parts"][0]["text"] == "Be terse."  # quotes removed
    assert request.json["generationConfig"] == {"temperature": 0.7, "maxOutputTokens": 300}


def test_system_instruction_can_come_from_a_variable(ip, server):
    ip.user_ns["style"] = "Answer like a pirate."
    with capture_output():
        ip.run_cell_magic("gemini", "--system style", PROMPT)
    (request,) = generation_requests(server)
    assert request.json["systemInstruction"]["parts"][0]["text"] == "Answer like a pirate."


def test_line_magic_takes_the_rest_of_the_line_even_with_apostrophes(ip, server):
    with capture_output():
        ip.run_line_magic("gemini", "-s 'One sentence.' what's a z-score?")
    (request,) = generation_requests(server)
    assert request.json["contents"][0]["parts"][0]["text"] == "what's a z-score?"
    assert request.json["systemInstruction"]["parts"][0]["text"] == "One sentence."
    assert ip.user_ns["_gemini"] == expected_answer(server, "what's a z-score?", system_instruction="One sentence.")


def test_defaults_come_from_config(ip, server):
    ip.run_line_magic("config", 'GeminiMagics.model = "gemini-2.5-flash"')
    ip.run_line_magic("config", "GeminiMagics.temperature = 0.1")
    ip.run_line_magic("config", 'GeminiMagics.system = "Be brief."')
    with capture_output():
        ip.run_cell_magic("gemini", "", PROMPT)
    (request,) = generation_requests(server)
    assert "/models/gemini-2.5-flash:" in request.path
    assert request.json["generationConfig"] == {"temperature": 0.1}
    assert request.json["systemInstruction"]["parts"][0]["text"] == "Be brief."


def test_the_default_model_is_a_flash_model_overridable_by_environment(shell, gemini_env, monkeypatch):
    from gemini_magic.magics import GeminiMagics
    from gemini_magic.settings import DEFAULT_MODEL

    assert "flash" in DEFAULT_MODEL
    assert GeminiMagics(shell=shell).model == DEFAULT_MODEL
    monkeypatch.setenv("GEMINI_MAGIC_MODEL", "gemini-2.5-pro")
    assert GeminiMagics(shell=shell).model == "gemini-2.5-pro"


def test_no_stream_asks_for_the_whole_answer_at_once(ip, server):
    with capture_output():
        ip.run_cell_magic("gemini", "--no-stream", PROMPT)
    (request,) = generation_requests(server)
    assert request.path.endswith(":generateContent")
    assert ip.user_ns["_gemini"] == expected_answer(server, PROMPT)


def test_offline_mode_needs_no_key_and_leaves_the_environment_alone(bare_ip, server):
    import os

    with capture_output():
        bare_ip.run_cell_magic("gemini", "--offline", "Hello there")
    answer = bare_ip.user_ns["_gemini"]
    assert "offline" in answer.lower()
    assert answer.finish_reason == "STOP"
    assert "GOOGLE_GEMINI_BASE_URL" not in os.environ
    assert generation_requests(server) == []  # the demo used its own server


def test_offline_mode_can_be_chosen_by_environment(shell, server, monkeypatch):
    monkeypatch.setenv("GEMINI_MAGIC_OFFLINE", "1")
    shell.run_line_magic("load_ext", "gemini_magic")  # the default is read when the magics are made
    try:
        with capture_output():
            shell.run_cell_magic("gemini", "", "Hello there")
        assert "offline" in shell.user_ns.pop("_gemini").lower()
    finally:
        shell.run_line_magic("unload_ext", "gemini_magic")


def test_without_a_key_it_says_exactly_what_to_set(bare_ip, server):
    with pytest.raises(UsageError, match="GEMINI_API_KEY.*--offline"):
        bare_ip.run_cell_magic("gemini", "", PROMPT)
    assert server.requests == []


@pytest.mark.parametrize(
    "line, cell, message",
    [
        ("", "   \n  ", "empty prompt"),
        ("--bogus", PROMPT, "unrecognized arguments: --bogus"),
        ("--out 2x", PROMPT, "not a valid Python variable name"),
        ("--out class", PROMPT, "not a valid Python variable name"),
        ("-t 3", PROMPT, "between 0 and 2"),
        ("-t warm", PROMPT, "invalid float value"),
        ("--max-tokens 0", PROMPT, "positive"),
        ("-s no_such_variable", PROMPT, "no variable named 'no_such_variable'"),
        ('-s "unclosed', PROMPT, "no closing quotation"),
        ("stray words", PROMPT, "unexpected text"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors_and_send_nothing(ip, server, line, cell, message):
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("gemini", line, cell)
    assert server.requests == []
    assert "_gemini" not in ip.user_ns


def test_help_lists_the_options(ip):
    doc = ip.magics_manager.magics["cell"]["gemini"].__doc__
    for option in ("--model", "--temperature", "--max-tokens", "--system", "--out", "--no-stream", "--offline"):
        assert option in doc
    assert "%%gemini" in doc


def test_load_ext_is_instant_and_does_not_import_the_sdk():
    script = textwrap.dedent(
        """
        import sys, time
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        start = time.perf_counter()
        ip.run_line_magic("load_ext", "gemini_magic")
        elapsed = time.perf_counter() - start
        print(elapsed, "google.genai" in sys.modules, "ipywidgets" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    elapsed, sdk_loaded, widgets_loaded = out.split()
    assert sdk_loaded == "False" and widgets_loaded == "False"


def test_the_key_is_not_in_what_the_server_logged(ip, server):
    with capture_output():
        ip.run_cell_magic("gemini", "", PROMPT)
    assert TEST_KEY not in repr(server.requests)


def test_a_line_prompt_ending_in_a_question_mark_asks_gemini_not_ipython_help(ip, server):
    with capture_output() as captured:
        ip.run_cell("%gemini What is a z-score?")
    assert "not found" not in captured.stdout
    (request,) = generation_requests(server)
    assert request.json["contents"][0]["parts"][0]["text"] == "What is a z-score?"


def test_the_help_still_works(ip):
    with capture_output() as captured:
        ip.run_cell("%gemini?")
    assert "--max-tokens" in captured.stdout
