"""Conversation across cells: --chat sends the earlier turns; a re-run cell replaces its own.

The conversation is the visible object ``_gemini_chat``. Tests check the
``contents`` and ``systemInstruction`` the server received, and, in a real
kernel, that a cell is recognised by the cell id the front end sends.
"""

import json
import time

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.chat import Conversation, Turn
from gemini_magic.prompt import Blob
from tests.kernel_helpers import Execution, kernel_env, running_kernel
from tests.support import TEST_KEY

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


@pytest.fixture(autouse=True)
def fresh_conversation(ip):
    ip.user_ns.pop("_gemini_chat", None)
    yield
    ip.user_ns.pop("_gemini_chat", None)
    ip.user_ns.pop("picture", None)


def ask(ip, line, prompt):
    with capture_output() as captured:
        ip.run_cell_magic("gemini", line, prompt)
    return captured


def last_body(server):
    return [r for r in server.requests if "enerateContent" in r.path][-1].json


def turns_sent(server):
    """(role, texts) of each content the last request carried."""
    return [(c["role"], [p.get("text") for p in c["parts"]]) for c in last_body(server)["contents"]]


# -- the conversation object --------------------------------------------------------


def test_a_cell_replaces_its_own_turn_and_sees_only_the_turns_before_it():
    chat = Conversation()
    chat.record(Turn(["a?"], "A", cell="cell-a"))
    chat.record(Turn(["b?"], "B", cell="cell-b"))
    chat.record(Turn(["c?"], "C", cell=None))  # no cell id: always a new turn
    assert chat.before("cell-b") == chat.turns[:1]
    assert chat.before("cell-new") == chat.turns

    chat.record(Turn(["a again?"], "A2", cell="cell-a"))
    assert [t.answer for t in chat] == ["A2", "B", "C"]  # in place, no duplicate
    assert Conversation.history(chat.before("cell-b")) == (("user", ("a again?",)), ("model", ("A2",)))


def test_several_magics_in_one_cell_get_their_own_turns():
    chat = Conversation()
    assert [chat.key("c1", 5), chat.key("c1", 5), chat.key("c1", 6), chat.key(None, 6)] == ["c1", "c1#2", "c1", None]


def test_it_shows_its_turns_and_saves_as_markdown_or_json(tmp_path):
    chat = Conversation(
        [Turn(["Describe ", Blob("image/png", PNG), " please"], "A plot.", "c1", "gemini-x")], "Be terse."
    )
    shown = repr(chat)
    assert shown.splitlines()[:3] == [
        "Conversation: 1 turn (system: 'Be terse.')",
        "[1] you: 'Describe please' (+1 image)",
        "    gemini: 'A plot.'",
    ]
    chat.save(tmp_path / "chat.md")
    markdown = (tmp_path / "chat.md").read_text()
    assert "## 1. You\n\nDescribe [image/png image] please\n\n## 1. Gemini (gemini-x)\n\nA plot." in markdown
    chat.save(tmp_path / "chat.json")
    saved = json.loads((tmp_path / "chat.json").read_text())
    assert saved["turns"][0]["prompt"][1] == {
        "inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA"}
    }
    again = Conversation.load(tmp_path / "chat.json")
    assert again.turns == chat.turns and again.system == "Be terse."
    assert chat.reset() == 1 and len(chat) == 0 and chat.system is None


# -- the magic ----------------------------------------------------------------------


def test_without_chat_each_prompt_goes_alone_but_every_answer_is_recorded(ip, server):
    ask(ip, "", "First question")
    ask(ip, "", "Second question")
    assert turns_sent(server) == [("user", ["Second question"])]
    chat = ip.user_ns["_gemini_chat"]
    assert [t.text for t in chat] == ["First question", "Second question"]
    assert all(turn.answer.startswith("## Offline demo answer") for turn in chat)


def test_chat_sends_the_earlier_turns(ip, server):
    ask(ip, "--out first", "What is a p-value?")
    first = ip.user_ns.pop("first")
    ask(ip, "--chat", "And a z-score?")
    assert turns_sent(server) == [
        ("user", ["What is a p-value?"]),
        ("model", [first.text]),
        ("user", ["And a z-score?"]),
    ]
    assert "1 earlier turn(s) were sent" in ip.user_ns["_gemini"]  # the offline answer says what it got


def test_system_applies_to_the_whole_conversation(ip, server):
    ask(ip, '--chat -s "Answer like a tutor."', "What is a mean?")
    ask(ip, "--chat", "And a median?")
    assert last_body(server)["systemInstruction"]["parts"][0]["text"] == "Answer like a tutor."
    assert len(last_body(server)["contents"]) == 3
    assert "system: 'Answer like a tutor.'" in repr(ip.user_ns["_gemini_chat"])


def test_images_stay_in_the_history(ip, server):
    ip.user_ns["picture"] = PNG
    ask(ip, "", "What is in {picture}?")
    ask(ip, "--chat", "What colour is it?")
    first_user = last_body(server)["contents"][0]
    assert first_user["parts"][0] == {"text": "What is in "}
    assert first_user["parts"][1]["inlineData"]["data"] == "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA"


def test_reset_starts_over(ip, server):
    ask(ip, "", "One")
    ask(ip, "", "Two")
    with capture_output() as captured:
        ip.run_line_magic("gemini", "--reset")
    assert captured.stdout == "Conversation reset: 2 turns forgotten.\n"
    assert server.requests[-1].json["contents"][0]["parts"][0]["text"] == "Two"  # nothing new was sent
    ask(ip, "--chat", "Three")
    assert turns_sent(server) == [("user", ["Three"])]


def test_chat_can_be_the_default_and_no_chat_opts_out(ip, server):
    ip.run_line_magic("config", "GeminiMagics.chat = True")
    ask(ip, "", "One")
    ask(ip, "", "Two")
    assert len(last_body(server)["contents"]) == 3
    ask(ip, "--no-chat", "Alone")
    assert turns_sent(server) == [("user", ["Alone"])]
    with pytest.raises(UsageError, match="--chat and --no-chat: choose one"):
        ask(ip, "--chat --no-chat", "Both")


def test_a_failed_answer_is_not_recorded(ip, server):
    with pytest.raises(UsageError):
        ask(ip, "", "Boom [[offline status=400]]")
    assert len(ip.user_ns["_gemini_chat"]) == 0


# -- in a real kernel: cells told apart by the front end's cell id ------------------


def execute_in_cell(kernel, code, cell_id, timeout=60):
    """Like Kernel.execute, with the cell id JupyterLab puts in the request's metadata."""
    client = kernel.client
    content = dict(
        code=code, silent=False, store_history=True, user_expressions={}, allow_stdin=False, stop_on_error=True
    )
    msg = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
    client.shell_channel.send(msg)
    result = Execution()
    deadline = time.monotonic() + timeout
    while True:
        message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        result.messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    result.reply = kernel.reply_to(msg["header"]["msg_id"], timeout)
    return result


@pytest.mark.kernel
def test_running_a_cell_again_replaces_its_turn(gemini_server):
    env = kernel_env(GEMINI_API_KEY=TEST_KEY, GOOGLE_GEMINI_BASE_URL=gemini_server.url)
    with running_kernel(env) as kernel:
        assert kernel.execute("%load_ext gemini_magic").status == "ok"
        assert execute_in_cell(kernel, "%%gemini --chat\nWhat is a mean?", "cell-a").status == "ok"
        assert execute_in_cell(kernel, "%%gemini --chat\nAnd a median?", "cell-b").status == "ok"
        gemini_server.clear()
        # The user edits the first cell and runs it again.
        assert execute_in_cell(kernel, "%%gemini --chat\nWhat is a mode?", "cell-a").status == "ok"
        (request,) = [r for r in gemini_server.requests if "enerateContent" in r.path]
        assert len(request.json["contents"]) == 1  # cell-a sees no turns before its own
        assert kernel.value("[(t.cell, t.text) for t in _gemini_chat.turns]") == [
            ["cell-a", "What is a mode?"],
            ["cell-b", "And a median?"],
        ]
        # Two magics in one cell keep two turns, also when the cell runs again.
        for _ in range(2):
            run = execute_in_cell(kernel, "%gemini One\n%gemini Two", "cell-c")
            assert run.status == "ok"
        assert kernel.value("[t.cell for t in _gemini_chat.turns]") == ["cell-a", "cell-b", "cell-c", "cell-c#2"]


def test_files_in_a_turn_are_counted_and_saved_inline_by_uri_or_by_path(tmp_path):
    from gemini_magic.prompt import FileData, LocalFile

    pdf = Blob("application/pdf", b"%PDF-1.7\n", "paper.pdf")
    video = FileData("https://youtu.be/dQw4w9WgXcQ", None, "https://youtu.be/dQw4w9WgXcQ")
    talk = LocalFile("/data/talk.mp3", "audio/mpeg", 30_000_000, "ab" * 32, "talk.mp3")
    chat = Conversation([Turn(["Compare ", pdf, video, talk, Blob("image/png", PNG)], "They agree.", "c1")])
    assert "(+1 image, 3 files)" in repr(chat)
    assert chat.turns[0].text == (
        "Compare [application/pdf file paper.pdf][video file https://youtu.be/dQw4w9WgXcQ]"
        "[audio/mpeg file talk.mp3][image/png image]"
    )
    chat.save(tmp_path / "chat.json")
    saved = json.loads((tmp_path / "chat.json").read_text())["turns"][0]["prompt"]
    assert saved[1] == {
        "inlineData": {"mimeType": "application/pdf", "data": "JVBERi0xLjcK", "displayName": "paper.pdf"}
    }
    assert saved[2]["fileData"]["fileUri"] == "https://youtu.be/dQw4w9WgXcQ"
    assert saved[3]["localFile"] == {
        "path": "/data/talk.mp3",
        "mimeType": "audio/mpeg",
        "sizeBytes": 30_000_000,
        "sha256": "ab" * 32,
        "displayName": "talk.mp3",
    }
    loaded = Conversation.load(tmp_path / "chat.json")
    assert loaded.turns[0].prompt == chat.turns[0].prompt
    assert [p.name for p in loaded.turns[0].files] == ["paper.pdf", "https://youtu.be/dQw4w9WgXcQ", "talk.mp3"]
