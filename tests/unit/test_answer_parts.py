"""Answers with more than text: images, the code Gemini ran, the pages it read.

Through the real SDK over HTTP against the offline server (its directives, or a
scripted reply for what a hostile server could send), in an IPython shell.
"""

import base64
import json

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.answer_parts import AnswerImage
from gemini_magic.errors import GeminiMagicError
from gemini_magic.offline.media import demo_png
from gemini_magic.offline.scripts import Reply
from gemini_magic.output.final import final_outputs
from gemini_magic.render import render_html

PNG = demo_png(1)


def ask(ip, line="", cell="Draw a histogram."):
    with capture_output() as captured:
        ip.run_cell_magic("gemini", line, cell)
    return captured


def fails(ip, line="", cell="Draw a histogram.", match=""):
    with capture_output() as captured, pytest.raises(UsageError) as failure:
        ip.run_cell_magic("gemini", line, cell)
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in captured.stderr
    assert match.lower() in message.lower(), message
    return message


def parts_event(*parts, finish="STOP", **candidate):
    fields = {"content": {"role": "model", "parts": list(parts)}, **candidate}
    if finish:
        fields["finishReason"] = finish
    return {"candidates": [fields]}


def image_part(data: bytes, mime="image/png"):
    return {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}


def kinds(outputs):
    return ["image" if any(k.startswith("image/") for k in bundle) else "markdown" for bundle, _ in outputs]


# -- images --------------------------------------------------------------------------


def test_an_image_model_answer_keeps_its_images_in_order_between_the_text(ip, server):
    captured = ask(ip, "-m gemini-2.5-flash-image", "Draw two bars. [[offline image=2]]")
    answer = ip.user_ns["_gemini"]
    assert [image.size for image in answer.images] == [(96, 96), (96, 96)]  # PIL images (Pillow is installed)
    assert f"[image 1: image/png 96×96, {len(PNG):,} bytes, kept in _gemini.images]" in captured.stdout

    outputs = final_outputs(answer)
    assert kinds(outputs) == ["markdown", "image", "markdown", "image", "markdown"]
    first, second = outputs[1][0]["image/png"], outputs[3][0]["image/png"]
    assert base64.b64decode(first) == demo_png(1) and base64.b64decode(second) == demo_png(2)
    # The text around the images is the answer's own text, in order; the footer is on the last output.
    shown = "".join(bundle["text/plain"] for bundle, _ in outputs if "text/markdown" in bundle)
    assert shown.startswith(answer.text[:40]) and answer.footer() in outputs[-1][0]["text/plain"]
    assert outputs[-1][1]["gemini_magic"]["images"] == 2
    assert answer.text == answer.text.replace("image 1", "")  # the text is Gemini's text alone


def test_without_images_an_answer_keeps_one_output(ip, server):
    ask(ip, "", "Hello.")
    assert kinds(final_outputs(ip.user_ns["_gemini"])) == ["markdown"]
    assert ip.user_ns["_gemini"].images == [] and ip.user_ns["_gemini"].executed == []


@pytest.mark.parametrize(
    "mime, data",
    [
        ("text/html", b"<script>alert(1)</script>"),
        ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("image/png", b"<html><script>alert(1)</script></html>"),  # says PNG, is not
    ],
)
def test_an_image_part_that_is_not_a_raster_image_is_never_shown_as_markup(ip, server, mime, data):
    server.script(Reply(events=[parts_event({"text": "Here: "}, image_part(data, mime), {"text": " done."})]))
    ask(ip)
    answer = ip.user_ns["_gemini"]
    (image,) = answer.images
    assert isinstance(image, AnswerImage) and image.data == data  # kept, as bytes
    outputs = final_outputs(answer)
    everything = json.dumps([bundle for bundle, _ in outputs])
    assert not any(k.startswith("image/") or k == "text/html" for bundle, _ in outputs for k in bundle)
    assert "<script" not in everything and "<svg" not in everything
    assert "not shown: only PNG, JPEG, WebP and GIF images are" in outputs[1][0]["text/plain"]


def test_a_huge_image_is_cut_off_at_the_answer_cap_and_the_text_is_kept(ip, server):
    ip.run_line_magic("config", "GeminiMagics.max_answer_chars = 100000")
    huge = PNG + b"\0" * 200_000
    server.script(Reply(events=[parts_event({"text": "Before. "}, finish=None), parts_event(image_part(huge))]))
    fails(ip, match="more than 100,000 characters")
    answer = ip.user_ns["_gemini"]
    assert answer.text == "Before. " and answer.images == [] and answer.finish_reason == "ERROR"


def test_an_image_whose_data_is_not_base64_ends_the_answer_in_one_line_keeping_the_text(ip, server):
    broken = {"inlineData": {"mimeType": "image/png", "data": "!!not base64$$"}}
    server.script(Reply(events=[parts_event({"text": "Before. "}, finish=None), parts_event(broken)]))
    fails(ip)
    answer = ip.user_ns["_gemini"]
    assert answer.text == "Before. " and answer.error


def test_a_header_claiming_a_giant_image_is_not_shown(ip, server):
    giant = bytearray(PNG)
    giant[16:24] = (100_000).to_bytes(4, "big") * 2  # 100,000 × 100,000 pixels
    server.script(Reply(events=[parts_event(image_part(bytes(giant)))]))
    ask(ip)
    (bundle, _), *_ = [o for o in final_outputs(ip.user_ns["_gemini"]) if "not shown" in o[0].get("text/plain", "")]
    assert "image/png" not in bundle


# -- code execution ------------------------------------------------------------------


def test_code_execution_shows_the_code_and_its_output_fenced_and_keeps_them(ip, server):
    ask(ip, "--code-execution", "What is the mean of my numbers?")
    assert server.requests[-1].json["tools"] == [{"codeExecution": {}}]
    answer = ip.user_ns["_gemini"]
    ((code, outcome, output),) = answer.executed
    assert "print(sum(values) / len(values))" in code and outcome == "OUTCOME_OK" and output == "3.875\n"
    assert "Code Gemini ran" not in answer.text  # the text is Gemini's text; the code is shown beside it
    (bundle, metadata), *_ = final_outputs(answer)
    markdown = bundle["text/markdown"]
    assert "**Code Gemini ran**\n\n```python\nvalues = [3, 1, 4, 1, 5, 9, 2, 6]" in markdown
    assert "**Output**\n\n```text\n3.875\n```" in markdown
    assert metadata["gemini_magic"]["executed"] == 1
    assert '<code class="language-python">' in render_html(markdown)  # the front end highlights it


def test_code_execution_is_a_setting_too(ip, server):
    ip.run_line_magic("config", "GeminiMagics.code_execution = True")
    ask(ip, "", "Compute something.")
    assert server.requests[-1].json["tools"] == [{"codeExecution": {}}]
    assert ip.user_ns["_gemini"].executed


def test_a_failed_run_says_so(ip, server):
    ask(ip, "--code-execution", "Divide by zero. [[offline outcome=FAILED]]")
    ((_, outcome, output),) = ip.user_ns["_gemini"].executed
    assert outcome == "OUTCOME_FAILED" and "ZeroDivisionError" in output
    assert "**Output (the code failed)**" in final_outputs(ip.user_ns["_gemini"])[0][0]["text/markdown"]


def test_code_and_output_with_fences_and_tags_stay_inside_their_blocks(ip, server):
    code = "print('```')\nprint('<script>alert(1)</script>')"
    output = "```\n</pre><script>alert(1)</script>\n````\n**not bold**"
    server.script(
        Reply(
            events=[
                parts_event(
                    {"text": "Running it.\n\n"},
                    {"executableCode": {"language": "PYTHON", "code": code}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": output}},
                    {"text": "Done."},
                )
            ]
        )
    )
    ask(ip, "--code-execution")
    answer = ip.user_ns["_gemini"]
    assert answer.executed == [(code, "OUTCOME_OK", output)]
    markdown = final_outputs(answer)[0][0]["text/markdown"]
    assert "`````text\n" + output + "\n`````" in markdown  # a fence longer than any inside
    html = render_html(markdown)
    assert "<script" not in html and "<strong>not bold</strong>" not in html
    assert "&lt;script&gt;" in html and html.rstrip().endswith("</p>")  # "Done." is after the blocks


# -- URL context ---------------------------------------------------------------------


def test_url_sends_the_pages_with_the_tool_and_lists_what_was_read(ip, server):
    ask(ip, "--url https://example.com/guide --url https://news.example/paywall-story", "Summarise these.")
    body = server.requests[-1].json
    assert body["tools"] == [{"urlContext": {}}]
    assert (
        body["contents"][-1]["parts"][-1]["text"]
        == "Pages:\nhttps://example.com/guide\nhttps://news.example/paywall-story"
    )
    answer = ip.user_ns["_gemini"]
    assert answer.url_context == [
        ("https://example.com/guide", "read"),
        ("https://news.example/paywall-story", "paywall"),
    ]
    bundle, metadata = final_outputs(answer)[0]
    assert "**Pages read**" in bundle["text/markdown"]
    html = render_html(bundle["text/markdown"])
    assert '<a href="https://example.com/guide"' in html and "paywall" in html
    assert metadata["gemini_magic"]["url_context"] == 2


@pytest.mark.parametrize(
    "line, match",
    [
        ("--url ftp://example.com/file", "not a web address"),
        ("--url example.com", "not a web address"),
        ("--url javascript:alert(1)", "not a web address"),
        (" ".join(f"--url https://example.com/{i}" for i in range(21)), "at most 20"),
    ],
)
def test_a_bad_url_is_a_usage_error_and_nothing_is_sent(ip, server, line, match):
    fails(ip, line, match=match)
    assert not server.requests


def test_only_web_pages_are_listed_and_statuses_are_words(ip, server):
    metadata = {
        "urlMetadata": [
            {"retrievedUrl": "javascript:alert(1)", "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS"},
            {"retrievedUrl": "https://example.com/a", "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_UNSAFE"},
            {"retrievedUrl": "https://example.com/b", "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_ERROR"},
        ]
    }
    server.script(Reply(events=[parts_event({"text": "ok"}, urlContextMetadata=metadata)]))
    ask(ip, "--url https://example.com/a")
    markdown = final_outputs(ip.user_ns["_gemini"])[0][0]["text/markdown"]
    assert "javascript" not in markdown
    assert ("https://example.com/a", "unsafe") in ip.user_ns["_gemini"].url_context
    assert "failed" in markdown and "unsafe" in markdown


# -- every path ----------------------------------------------------------------------


def test_a_whole_answer_keeps_its_parts_as_a_streamed_one_does(ip, server):
    ask(ip, "--code-execution", "Mean? [[offline image=1]]")
    streamed = ip.user_ns["_gemini"]
    ask(ip, "--code-execution --no-stream", "Mean? [[offline image=1]]")
    whole = ip.user_ns["_gemini"]
    assert whole.executed == streamed.executed and len(whole.images) == 1
    assert kinds(final_outputs(whole)) == kinds(final_outputs(streamed))


def test_each_and_map_keep_images_and_executed_code(ip, server):
    ip.user_ns["topics"] = ["bars", "dots"]
    ask(ip, "--each topics --code-execution --out drawings", "Draw {item}. [[offline image=1]]")
    drawings = ip.user_ns["drawings"]
    assert [len(d.images) for d in drawings] == [1, 1] and all(d.executed for d in drawings)

    import gemini_magic

    answers = gemini_magic.map("Draw {item}. [[offline image=2]]", ["a", "b"], progress=False)
    assert [len(a.images) for a in answers] == [2, 2]
    answers = gemini_magic.map(
        "Check {item}.", ["a", "b"], code_execution=True, urls=["https://example.com/x"], progress=False
    )
    assert all(a.executed and a.url_context == [("https://example.com/x", "read")] for a in answers)
    with pytest.raises(GeminiMagicError, match="not a web address"):
        gemini_magic.map("Check {item}.", ["a"], urls=["file:///etc/passwd"], progress=False)


def test_json_answers_parse_and_keep_the_code_run(ip, server):
    ask(ip, "-f json --code-execution --out data", "Give the mean as JSON.")
    answer = ip.user_ns["_gemini"]
    assert ip.user_ns["data"]["offline"] is True and answer.executed


def test_a_replayed_answer_keeps_its_images_and_code(ip, server, tmp_path):
    ip.run_line_magic("config", f"GeminiMagics.replay_file = {str(tmp_path / 'r.sqlite')!r}")
    ip.run_line_magic("config", "GeminiMagics.replay = 'auto'")
    ask(ip, "--code-execution --url https://example.com/x", "Plot it. [[offline image=1]]")
    first = ip.user_ns["_gemini"]
    sent = len(server.requests)
    ask(ip, "--code-execution --url https://example.com/x", "Plot it. [[offline image=1]]")
    again = ip.user_ns["_gemini"]
    assert len(server.requests) == sent and again.replayed_at
    assert again.executed == first.executed and again.url_context == first.url_context
    assert [i.tobytes() for i in again.images] == [i.tobytes() for i in first.images]
    assert kinds(final_outputs(again)) == kinds(final_outputs(first))


def test_a_chat_goes_on_after_an_answer_with_images(ip, server):
    ask(ip, "--chat", "Draw it. [[offline image=1]]")
    ask(ip, "--chat", "Now describe it.")
    body = server.requests[-1].json
    assert len(body["contents"]) == 3 and all("inlineData" not in p for p in body["contents"][1]["parts"])


def test_a_dry_run_shows_the_tools_and_the_pages_it_would_send(ip, server):
    ask(ip, "--dry-run --code-execution --url https://example.com/a", "Summarise it.")
    request = ip.user_ns["_gemini_dry_run"].request
    assert request["tools"] == [{"codeExecution": {}}, {"urlContext": {}}]
    assert request["contents"][-1]["parts"][-1] == {"text": "Pages:\nhttps://example.com/a"}
    assert not [r for r in server.requests if "generateContent" in r.path]
    ip.user_ns.pop("_gemini_dry_run")


def test_an_answer_with_images_and_code_pickles_with_them(ip, server):
    import pickle

    ask(ip, "--code-execution --url https://example.com/a", "Plot it. [[offline image=1]]")
    answer = ip.user_ns["_gemini"]
    again = pickle.loads(pickle.dumps(answer))
    assert again == answer and again.executed == answer.executed and again.url_context == answer.url_context
    assert [i.tobytes() for i in again.images] == [i.tobytes() for i in answer.images]
