"""Files in the prompt: which types are taken (by their bytes, by suffix for text), the usage
errors found before anything is sent, and the offline server's Files API through the real SDK."""

import base64
import io
import os
import time

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.prompt import Blob, FileData, LocalFile, PromptError, build_parts, read_file
from gemini_magic.prompt.files import detect, sniff, youtube
from tests.support import TEST_KEY

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Pages >>\n2 0 obj\n<< /Type /Page >>\n3 0 obj\n<< /Type /Page >>\n%%EOF\n"


@pytest.mark.parametrize(
    "head, mime",
    [
        (b"%PDF-1.4\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
        (b"RIFF\x24\0\0\0WAVEfmt ", "audio/wav"),
        (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
        (b"ID3\x04\0\0\0\0\0\0", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\0\0", "audio/mpeg"),  # an MPEG-1 layer III frame, no ID3 tag
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "audio/aac"),  # ADTS
        (b"fLaC\0\0\0\x22", "audio/flac"),
        (b"OggS\0\x02\0\0", "audio/ogg"),
        (b"FORM\0\0\0\x10AIFFCOMM", "audio/aiff"),
        (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
        (b"\0\0\0\x14ftypqt  \0\0\0\0", "video/quicktime"),
        (b"\0\0\0\x18ftypheic\0\0\0\0", "image/heic"),
        (b"\0\0\0\x18ftypM4A \0\0\0\0", "audio/aac"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video/webm"),
        (b"\0\0\x01\xba\x44\0\x04\0", "video/mpeg"),
    ],
)
def test_a_file_is_known_by_its_first_bytes(head, mime):
    assert sniff(head) == mime
    assert detect(head, "no-suffix-needed") == mime


def test_text_is_known_by_its_suffix_and_bytes_win_over_a_name():
    assert detect(b"a,b\n1,2\n", "data.csv") == "text/csv"
    assert detect(b"# Notes\n", "notes.md") == "text/markdown"
    assert detect(b"print(1)\n", "script.py") == "text/x-python"
    assert detect(b"{}", "config.json") == "application/json"
    assert detect(b"<html></html>", "page.HTML") == "text/html"
    assert detect(PDF, "paper.txt") == "application/pdf"  # a PDF named .txt is a PDF
    assert detect(b"\0\x01\x02binary", "data.txt") is None  # NUL bytes are not text
    assert detect(b"PK\x03\x04", "report.docx") is None


def test_small_files_are_read_and_large_ones_only_hashed(tmp_path):
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(PDF)
    assert read_file(paper) == Blob("application/pdf", PDF)
    assert read_file(paper).name == "paper.pdf"
    large = read_file(paper, max_inline=10)
    assert isinstance(large, LocalFile) and large.size == len(PDF) and large.mime_type == "application/pdf"
    import hashlib

    assert large.sha256 == hashlib.sha256(PDF).hexdigest()


def test_a_path_in_braces_is_a_file_and_bytes_of_a_known_type_too(tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("city,people\nOslo,709000\n")
    parts = build_parts("Plot {table} and {paper}", {"table": table, "paper": PDF})
    assert parts == ["Plot ", Blob("text/csv", table.read_bytes()), " and ", Blob("application/pdf", PDF)]


def test_text_that_is_not_utf8_is_refused(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(PromptError, match="not UTF-8 text"):
        read_file(latin)


def test_youtube_urls_are_told_from_other_urls():
    assert youtube("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert youtube("https://youtu.be/dQw4w9WgXcQ?t=42")
    assert youtube("https://www.youtube.com/shorts/dQw4w9WgXcQ")
    assert not youtube("https://example.com/watch?v=dQw4w9WgXcQ")
    assert not youtube("https://www.youtube.com/channel/UC123")


# -- usage errors: one line, nothing sent ----------------------------------------------


def fails(ip, line, cell="Summarise it."):
    with capture_output() as captured, pytest.raises(UsageError) as failure:
        ip.run_cell_magic("gemini", line, cell)
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in captured.stderr
    return message


def test_each_file_mistake_is_one_line_and_nothing_is_sent_or_uploaded(ip, server, tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with open(tmp_path / "huge.mp4", "wb") as file:  # sparse: past 2 GB, no disk used
        file.write(b"\0\0\0\x20ftypisom")
        file.truncate(2 * 1024**3 + 1)
    for spec, reason in (
        (tmp_path / "missing.pdf", "missing.pdf: no such file"),
        (tmp_path / "folder", "a directory, not a file"),
        (tmp_path / "empty.pdf", "the file is empty"),
        (tmp_path / "report.docx", "is not one Gemini takes; accepted: PDF; text (.txt .md .csv"),
        (tmp_path / "huge.mp4", "more than the Files API's limit of 2 GB"),
        ("https://example.com/paper.pdf", "only a YouTube video is sent by URL"),
    ):
        message = fails(ip, f"--file {spec}")
        assert message.startswith(f"--file {spec}: ") and reason in message, message
        assert message.count(str(spec)) == 1  # the path is said once
    ip.user_ns["count"] = 3
    assert "holds a int, not a path" in fails(ip, "--file count")
    assert server.requests == [] and server.uploads == []


def test_count_with_each_is_a_mistake(ip, server):
    ip.user_ns["rows"] = ["a", "b"]
    assert "--count counts one prompt" in fails(ip, "--count --each rows", "Say {item}")
    assert server.requests == []


# -- the offline server's Files API, through the real SDK -----------------------------


@pytest.fixture
def client(server):
    from google import genai
    from google.genai import types

    return genai.Client(api_key=TEST_KEY, http_options=types.HttpOptions(base_url=server.url))


def test_the_offline_server_takes_resumable_uploads_in_pieces_and_keeps_only_their_hash(client, server):
    from google.genai import types

    data = b"\0\0\0\x20ftypisom" + bytes(9 * 1024 * 1024)  # two pieces: the SDK sends 8 MB at a time
    file = client.files.upload(
        file=io.BytesIO(data), config=types.UploadFileConfig(mime_type="video/mp4", display_name="clip.mp4")
    )
    start, *pieces = [r for r in server.requests if r.path.startswith("/upload/")]
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-command"] == "start"
    assert start.json == {"file": {"mime_type": "video/mp4", "size_bytes": len(data), "display_name": "clip.mp4"}}
    assert start.headers["x-goog-upload-header-content-length"] == str(len(data))
    assert [p.headers["x-goog-upload-command"] for p in pieces] == ["upload", "upload, finalize"]
    assert [p.headers["x-goog-upload-offset"] for p in pieces] == ["0", str(8 * 1024 * 1024)]
    assert all(p.query["upload_protocol"] == "resumable" and "key" not in p.query for p in pieces)
    assert file.uri.startswith(server.url + "/v1beta/files/") and file.size_bytes == len(data)
    import hashlib

    (upload,) = server.uploads
    assert upload["sha256"] == hashlib.sha256(data).hexdigest() and "data" not in upload
    assert base64.b64decode(file.sha256_hash) == hashlib.sha256(data).digest()


def test_a_video_is_processing_then_active_and_a_file_expires(client, server, monkeypatch):
    from google.genai import errors, types

    monkeypatch.setattr(server, "processing_seconds", 0.3)
    monkeypatch.setattr(server, "file_seconds", 0.8)
    clip = client.files.upload(
        file=io.BytesIO(b"\x1a\x45\xdf\xa3" + bytes(100)), config=types.UploadFileConfig(mime_type="video/webm")
    )
    assert clip.state.value == "PROCESSING"
    video = types.Part(file_data=types.FileData(file_uri=clip.uri, mime_type="video/webm"))
    with pytest.raises(errors.ClientError, match="not in an ACTIVE state"):
        client.models.generate_content(model="gemini-2.5-flash", contents=[video, "What happens?"])
    time.sleep(0.35)
    assert client.files.get(name=clip.name).state.value == "ACTIVE"
    assert client.models.generate_content(model="gemini-2.5-flash", contents=[video, "What happens?"]).text
    time.sleep(0.5)
    with pytest.raises(errors.ClientError, match="may not exist"):
        client.files.get(name=clip.name)
    with pytest.raises(errors.ClientError, match="may not exist"):
        client.models.generate_content(model="gemini-2.5-flash", contents=[video, "What happens?"])


def test_the_offline_server_counts_tokens_by_modality(client, server):
    from google.genai import types

    contents = [
        types.Part.from_bytes(data=PDF, mime_type="application/pdf"),  # two pages
        types.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n" + bytes(40), mime_type="image/png"),
        "Compare them." * 4,
    ]
    client.models.count_tokens(model="gemini-2.5-flash", contents=contents)
    from gemini_magic.offline.files import count_by_modality

    body = server.requests[-1].json
    assert count_by_modality(server, body) == {
        "totalTokens": 13 + 258 + 2 * 258,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 13},
            {"modality": "DOCUMENT", "tokenCount": 516},
            {"modality": "IMAGE", "tokenCount": 258},
        ],
    }


def test_file_data_parts_reach_the_server_as_the_sdk_sends_them(client, server):
    from gemini_magic.client import Request
    from gemini_magic.client.request import sdk_contents

    request = Request(
        prompt="",
        model="gemini-2.5-flash",
        parts=(FileData("https://youtu.be/dQw4w9WgXcQ"), "Summarise the video."),
    )
    client.models.generate_content(model="gemini-2.5-flash", contents=sdk_contents(request))
    from gemini_magic.offline.request import field_of

    video, text = server.requests[-1].json["contents"][0]["parts"]
    assert field_of(video["fileData"], "fileUri") == "https://youtu.be/dQw4w9WgXcQ"  # Google reads either spelling
    assert text == {"text": "Summarise the video."}


def test_a_large_file_changed_on_disk_is_hashed_again(tmp_path):
    path = tmp_path / "talk.mp3"
    path.write_bytes(b"ID3\x04" + b"a" * 100)
    first = read_file(path, max_inline=10)
    assert read_file(path, max_inline=10).sha256 == first.sha256
    path.write_bytes(b"ID3\x04" + b"b" * 100)  # same size, new content
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert read_file(path, max_inline=10).sha256 != first.sha256
