"""The classroom, end to end in real kernels: a notebook run at home with replay on against a
Gemini server, then the server stopped, the kernel restarted with no key, and the same notebook
run with ``replay = "only"``: the same answers, and not one request."""

import pytest

from gemini_magic.output.escape import shown as read  # what a reader sees of escaped text
from tests.kernel_helpers import gemini_kernel, kernel_env, running_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

NOTEBOOK = [
    "%%gemini --out intro\nWhat is a p-value?",
    "%%gemini --chat --out first_turn\nWhat is a mean?",
    "%%gemini --chat --out second_turn\nAnd a median, compared with it?",
    "topics = ['mean', 'mode', 'range']",
    "%%gemini --each topics --out definitions\nDefine {item} in one line.",
    "%%gemini -f json --out facts\nThree facts about medians.",
]
ANSWERS = "[str(intro), str(first_turn), str(second_turn), [str(d) for d in definitions], str(facts)]"


def run_notebook(kernel):
    runs = [kernel.execute(cell) for cell in NOTEBOOK]
    assert [run.status for run in runs] == ["ok"] * len(NOTEBOOK), [run.messages for run in runs]
    return runs


def test_a_notebook_recorded_at_home_replays_in_class_with_no_key_and_no_requests(tmp_path):
    from gemini_magic.offline import OfflineGemini

    record_file = tmp_path / "lesson.gemini.sqlite"
    setup = (f"%config GeminiMagics.replay_file = {str(record_file)!r}",)
    server = OfflineGemini(delay=0).start()
    try:
        with gemini_kernel(server.url, TEST_KEY, *setup, '%config GeminiMagics.replay = "auto"') as home:
            run_notebook(home)
            at_home = home.value(ANSWERS)
        sent = len(server.requests)
        assert sent == 7, [r.path for r in server.requests]  # one per answer: 4 single cells, 3 items
    finally:
        server.stop()

    with running_kernel(kernel_env()) as classroom:  # no key, no endpoint
        assert classroom.value("__import__('os').environ.get('GEMINI_API_KEY')") is None
        start = classroom.execute("\n".join(("%load_ext gemini_magic", *setup, '%config GeminiMagics.replay = "only"')))
        assert start.status == "ok"
        runs = run_notebook(classroom)
        assert classroom.value(ANSWERS) == at_home
        footer = read(runs[0].final_output()["data"]["text/markdown"])
        assert "replayed, recorded " in footer and "nothing sent" in footer
        assert "3 replayed (nothing sent)" in read(runs[4].final_output()["data"]["text/markdown"])
        assert classroom.value("'google.genai' in __import__('sys').modules") is False  # never needed
        missing = classroom.execute("%%gemini\nA question nobody recorded.")
        assert missing.status == "error" and 'replay = "only"' in missing.reply["content"]["evalue"]
    assert len(server.requests) == sent  # not one request in class
