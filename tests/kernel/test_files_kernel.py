"""Files in a real kernel, through the real SDK over HTTP: inline, uploaded, reused, processed,
counted, per row with --each and kept by URI in a conversation."""

import base64
import os

import pytest

from gemini_magic.offline.request import field_of
from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Pages >>\n2 0 obj\n<< /Type /Page >>\n%%EOF\n"
MB = 1_000_000


@pytest.fixture(scope="module")
def kernel(gemini_server):
    with gemini_kernel(
        gemini_server.url, TEST_KEY, "%config GeminiMagics.batch_poll = 0.05", draws_widgets=False
    ) as kernel:
        yield kernel


def generated(server):
    """The generate requests' bodies, oldest first."""
    return [r.json for r in server.requests if r.path.endswith(("generateContent", "GenerateContent"))]


def user_parts(body, turn=-1):
    return [c for c in body["contents"] if c["role"] == "user"][turn]["parts"]


def file_uri(part):
    """A fileData part's URI (the SDK sends nested fields in either spelling; Google reads both)."""
    return field_of(part["fileData"], "fileUri")


def inline(part):
    """An inlineData part's MIME type and bytes (the SDK sends URL-safe base64)."""
    data = part["inlineData"]
    return field_of(data, "mimeType"), base64.urlsafe_b64decode(data["data"])


def sparse(path, head: bytes, size: int):
    """A file of ``size`` bytes that starts with ``head`` (the rest is a hole: no disk, no time)."""
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
    return path


def ok(run):
    assert run.status == "ok", [m["content"] for m in run.messages if m["msg_type"] in ("error", "stream")]
    return run


def test_a_pdf_goes_inline_as_application_pdf(kernel, server, tmp_path):
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(PDF)
    ok(kernel.execute(f"%%gemini --file {paper}\nSummarise this paper in one line."))
    (body,) = generated(server)
    pdf, text = user_parts(body)
    assert inline(pdf) == ("application/pdf", PDF)
    assert text == {"text": "Summarise this paper in one line."}
    assert server.uploads == []
    assert "it carried a file (application/pdf" in kernel.value("_gemini.text")


def test_a_request_past_20_mb_uploads_its_largest_file_with_a_progress_line_and_sends_its_uri(kernel, server, tmp_path):
    talk = sparse(tmp_path / "talk.wav", b"RIFF\0\0\0\0WAVEfmt ", 12 * MB)
    slides = sparse(tmp_path / "slides.pdf", b"%PDF-1.7\n", 11 * MB)  # 23 MB in all: one must go
    run = ok(kernel.execute(f"%%gemini --file {talk} --file {slides}\nWhat is said about slide 3?"))
    (upload,) = server.uploads
    assert (upload["mimeType"], upload["sizeBytes"], upload["displayName"]) == ("audio/wav", 12 * MB, "talk.wav")
    (body,) = generated(server)
    audio, pdf, _ = user_parts(body)
    assert file_uri(audio).endswith("/v1beta/" + upload["name"])
    assert inline(pdf)[0] == "application/pdf"  # 11 MB fits: it stays inline
    assert "Uploading talk.wav" in run.stderr and "100%" in run.stderr
    assert TEST_KEY not in run.stderr and "upload_id" not in run.stderr


def test_an_uploaded_file_is_reused_by_later_cells_while_it_lives(kernel, server, tmp_path):
    recording = sparse(tmp_path / "lecture.mp3", b"ID3\x04\0\0\0\0\0\0", 21 * MB)  # past 20 MB: uploaded
    ok(kernel.execute(f"%%gemini --file {recording}\nList the topics."))
    ok(kernel.execute(f"%%gemini --file {recording}\nWho is the speaker?"))
    assert len(server.uploads) == 1
    first, second = generated(server)
    assert file_uri(user_parts(first)[0]) == file_uri(user_parts(second)[0])


def test_a_file_about_to_expire_is_uploaded_again(kernel, server, gemini_server, tmp_path, monkeypatch):
    monkeypatch.setattr(gemini_server, "file_seconds", 120)  # under the 10 minutes a reused file must still live
    clip = sparse(tmp_path / "short-lived.mp3", b"ID3\x04\0\0\0\0\0\1", 21 * MB)
    ok(kernel.execute(f"%%gemini --file {clip}\nTranscribe it."))
    ok(kernel.execute(f"%%gemini --file {clip}\nTranscribe it again."))
    assert len(server.uploads) == 2
    first, second = generated(server)
    assert file_uri(user_parts(first)[0]) != file_uri(user_parts(second)[0])


def delete_the_upload_at_google(server) -> dict:
    """Delete the one file uploaded so far, through the SDK as another client would."""
    from google import genai
    from google.genai import types

    (upload,) = server.uploads
    client = genai.Client(api_key=TEST_KEY, http_options=types.HttpOptions(base_url=server.url))
    client.files.delete(name=upload["name"])
    return upload


def test_a_file_deleted_at_google_is_uploaded_again_once(kernel, server, tmp_path):
    clip = sparse(tmp_path / "deleted.mp3", b"ID3\x04\0\0\0\0\0\2", 21 * MB)
    ok(kernel.execute(f"%%gemini --file {clip}\nTranscribe it."))
    upload = delete_the_upload_at_google(server)
    run = ok(kernel.execute(f"%%gemini --file {clip}\nTranscribe it once more."))
    assert len(server.uploads) == 2
    refused, answered = generated(server)[1:]
    assert file_uri(user_parts(refused)[0]).endswith(upload["name"])
    assert file_uri(user_parts(answered)[0]).endswith(server.uploads[1]["name"])
    assert "Offline demo answer" in kernel.value("_gemini.text")
    assert "permission" not in run.stderr


def test_a_video_is_used_once_google_has_processed_it(kernel, server, tmp_path):
    video = sparse(tmp_path / "experiment.mp4", b"\0\0\0\x20ftypisom\0\0\x02\0", 21 * MB)
    run = ok(kernel.execute(f"%%gemini --file {video}\nWhat happens at the end?"))
    polls = [r for r in server.requests if r.method == "GET" and r.path.split("/")[-2:-1] == ["files"]]
    assert polls, "the file's state was never read"
    (body,) = generated(server)
    assert server.requests.index(
        next(r for r in server.requests if r.path.endswith(("generateContent", "GenerateContent")))
    ) > (server.requests.index(polls[-1]))
    assert user_parts(body)[0]["fileData"]
    assert "Google is processing experiment.mp4" in run.stderr and "active" in run.stderr


def test_a_video_google_cannot_process_fails_the_cell_in_one_line(kernel, server, gemini_server, tmp_path, monkeypatch):
    monkeypatch.setattr(gemini_server, "processing_fails", True)
    video = sparse(tmp_path / "broken.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", 21 * MB)
    run = kernel.execute(f"%%gemini --file {video}\nWhat happens?")
    assert run.status == "error"
    message = run.reply["content"]["evalue"]
    assert message.startswith("Google could not process broken.webm: The video could not be decoded.")
    assert "\n" not in message and "Traceback" not in run.stderr
    assert generated(server) == []  # nothing was asked about a file Gemini cannot read


def test_a_youtube_url_is_sent_as_file_data(kernel, server):
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    ok(kernel.execute(f"%%gemini --file {url}\nSummarise the video in three bullets."))
    (body,) = generated(server)
    assert file_uri(user_parts(body)[0]) == url
    assert server.uploads == []
    assert "it carried a file by URI (video)" in kernel.value("_gemini.text")


def test_count_shows_tokens_by_kind_and_generates_nothing(kernel, server, tmp_path):
    paper = tmp_path / "counted.pdf"
    paper.write_bytes(PDF)
    ok(kernel.execute("%gemini Say hi."))
    run = ok(kernel.execute(f"%gemini --count --file {paper} Summarise this paper."))
    (result,) = run.of_type("execute_result")
    assert result["content"]["data"]["text/plain"] == "264 tokens: text 6 · document 258"
    assert [r.path.rsplit(":", 1)[-1] for r in server.requests[1:]] == ["countTokens"]
    assert kernel.value("_gemini.text.startswith('## Offline demo answer')") is True  # the last answer stays
    assert kernel.value("int(_) == 264 and _.by_kind == {'text': 6, 'document': 258}") is True


def test_count_uploads_what_cannot_go_inline_and_again_when_google_lost_it(kernel, server, tmp_path):
    talk = sparse(tmp_path / "counted.mp3", b"ID3\x04\0\0\0\0\0\4", 21 * MB)
    ok(kernel.execute(f"%gemini --count --file {talk} Transcribe it."))
    delete_the_upload_at_google(server)
    run = ok(kernel.execute(f"%gemini --count --file {talk} Transcribe it."))
    (result,) = run.of_type("execute_result")
    assert result["content"]["data"]["text/plain"] == "42,004 tokens: text 4 · audio 42,000"
    assert len(server.uploads) == 2
    assert not [r for r in server.requests if r.path.endswith(("generateContent", "GenerateContent"))]


def test_each_over_a_column_of_paths_sends_each_rows_file(kernel, server, tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.csv").write_text(f"name,value\n{name},1\n")
    setup = f"import pandas as pd, pathlib\ndocs = pd.DataFrame({{'doc': [pathlib.Path({str(tmp_path)!r}) / n for n in ('a.csv', 'b.csv')]}})"
    ok(kernel.execute(setup))
    ok(kernel.execute("%%gemini --each docs --out summaries\nSummarise {doc} in one line."))
    sent = sorted(inline(user_parts(b)[1]) for b in generated(server))
    assert sent == [("text/csv", b"name,value\na,1\n"), ("text/csv", b"name,value\nb,1\n")]
    assert kernel.value("len(summaries)") == 2


def test_a_batch_job_sends_its_files_by_uri(kernel, quick_batches, tmp_path):
    server = quick_batches
    for name in ("c", "d"):
        (tmp_path / f"{name}.md").write_text(f"# Notes {name}\n")
    setup = f"import pandas as pd, pathlib\nnotes = pd.Series([pathlib.Path({str(tmp_path)!r}) / n for n in ('c.md', 'd.md')])"
    ok(kernel.execute(setup))
    ok(kernel.execute("%%gemini --each notes --batch --out titles\nThe title of {item}."))
    assert sorted((u["mimeType"], u["sizeBytes"]) for u in server.uploads) == [("text/markdown", 10)] * 2
    (job,) = [r.json for r in server.requests if r.path.endswith(":batchGenerateContent")]
    requests = job["batch"]["inputConfig"]["requests"]["requests"]
    uris = {file_uri(r["request"]["contents"][0]["parts"][1]) for r in requests}
    assert len(uris) == 2 and all("/files/" in uri for uri in uris)
    assert kernel.value("len(titles)") == 2


def test_a_conversation_sends_earlier_files_by_uri_not_inline_again(kernel, server, tmp_path):
    paper = tmp_path / "chat.pdf"
    paper.write_bytes(PDF + b"% chat\n")
    ok(kernel.execute("%gemini --reset"))
    ok(kernel.execute(f"%%gemini --chat --file {paper}\nWhat is this paper about?"))
    ok(kernel.execute("%%gemini --chat\nAnd its main weakness?"))
    ok(kernel.execute("%%gemini --chat\nSay it in one word."))
    first, second, third = generated(server)
    assert inline(user_parts(first)[0])[0] == "application/pdf"
    assert len(server.uploads) == 1  # uploaded once, at the first follow-up
    for body in (second, third):
        earlier = user_parts(body, 0)[0]
        assert file_uri(earlier).endswith(server.uploads[0]["name"]) and "inlineData" not in earlier


def test_json_answers_work_with_files(kernel, server, tmp_path):
    table = tmp_path / "cities.csv"
    table.write_text("city,people\nOslo,709000\nBergen,291000\n")
    ok(kernel.execute(f"%%gemini -f json --out cities --file {table}\nThe rows as a JSON list."))
    (body,) = generated(server)
    assert inline(user_parts(body)[0])[0] == "text/csv"
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert kernel.value("type(cities).__name__") in ("dict", "list")


def test_no_file_or_upload_url_carries_the_key(kernel, server, tmp_path):
    clip = sparse(tmp_path / "keyless.mp3", b"ID3\x04\0\0\0\0\0\3", 21 * MB)
    run = ok(kernel.execute(f"%%gemini --file {clip}\nTranscribe it."))
    uploads = [r for r in server.requests if r.path.startswith("/upload/")]
    assert uploads and all(TEST_KEY not in repr(r.query) + r.path for r in uploads)
    assert TEST_KEY not in "".join(str(m["content"]) for m in run.messages)
    assert os.path.exists(clip)
