"""Output formats (-f), thinking and Google Search grounding, against the offline server.

Each test checks the request the server received (its generationConfig and
tools) and what the user gets back: the variable, its attributes, and the
Markdown a saved notebook keeps. The shell is terminal-like; the fenced output
of -f text/json in a notebook is checked in a real kernel at the end.
"""

import json

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from tests.kernel_helpers import kernel_env, running_kernel
from tests.support import TEST_KEY


def sent(server):
    """The body of the one generate request the server received."""
    (request,) = [r for r in server.requests if "generateContent" in r.path or "GenerateContent" in r.path]
    return request.json


def ask(ip, line, prompt="Tell me about penguins."):
    with capture_output() as captured:
        ip.run_cell_magic("gemini", line, prompt)
    return captured


@pytest.fixture(autouse=True)
def clean_names(ip):
    yield
    for name in ("rows", "Row", "Rows", "schema", "plain", "code_answer", "_gemini_chat"):
        ip.user_ns.pop(name, None)


# -- json ---------------------------------------------------------------------------


def test_json_format_asks_for_json_and_keeps_the_parsed_value(ip, server):
    ask(ip, "-f json --out rows")
    assert sent(server)["generationConfig"] == {"responseMimeType": "application/json"}
    answer = ip.user_ns["_gemini"]
    assert answer.parsed == json.loads(answer.text) and answer.parsed["demo"] is True
    assert ip.user_ns["rows"] == answer.parsed  # --out gets the parsed object, _gemini the response


def test_a_pydantic_schema_shapes_the_answer_and_out_gets_model_instances(ip, server):
    from pydantic import BaseModel

    class Row(BaseModel):
        city: str
        population: int

    ip.user_ns.update(Row=Row, Rows=list[Row])
    ask(ip, "--schema Rows --out rows", "List three cities with their population.")
    config = sent(server)["generationConfig"]
    assert config["responseMimeType"] == "application/json"  # --schema implies -f json
    assert config["responseJsonSchema"]["items"] == {"$ref": "#/$defs/Row"}
    assert config["responseJsonSchema"]["$defs"]["Row"]["required"] == ["city", "population"]
    rows = ip.user_ns["rows"]
    assert rows == [
        Row(city="city 1", population=1),
        Row(city="city 2", population=2),
        Row(city="city 3", population=3),
    ]
    assert ip.user_ns["_gemini"].parsed == rows
    assert json.loads(ip.user_ns["_gemini"].text)[0] == {"city": "city 1", "population": 1}


def test_a_json_schema_dict_is_sent_as_is(ip, server):
    schema = {
        "type": "object",
        "properties": {"mood": {"type": "string", "enum": ["happy", "sad"]}},
        "required": ["mood"],
    }
    ip.user_ns["schema"] = schema
    ask(ip, "-f json --schema schema --out rows")
    assert sent(server)["generationConfig"]["responseJsonSchema"] == schema
    assert ip.user_ns["rows"] == {"mood": "happy"}


def test_an_answer_that_is_not_json_fails_in_one_line_but_is_kept(ip, server):
    with pytest.raises(UsageError, match=r"The answer is not valid JSON \(JSONDecodeError.*kept in _gemini and rows"):
        ask(ip, "-f json --out rows", "not json at all [[offline echo=1]]")
    assert ip.user_ns["_gemini"].text == "not json at all"
    assert ip.user_ns["rows"] is ip.user_ns["_gemini"]  # never lost: the text is there


@pytest.mark.parametrize(
    "line, message",
    [
        ("--schema Missing", "--schema Missing: no variable named 'Missing'"),
        ("--schema plain", "--schema plain: a int is not a pydantic model, a list\\[Model\\] or a JSON schema"),
        ("-f text --schema schema", "--schema schema: only with -f json"),
        ("-f yaml", "invalid choice: 'yaml'"),
        ("--thinking-budget -5", "--thinking-budget -5: must be 0 \\(off\\), a number of tokens, or -1"),
        ("--thinking-budget 0 --show-thoughts", "thinking is off"),
    ],
)
def test_format_and_thinking_mistakes_are_usage_errors_before_any_request(ip, server, line, message):
    ip.user_ns.update(plain=3, schema={"type": "object"})
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("gemini", line, "Hello")
    assert server.requests == []


# -- code and text ------------------------------------------------------------------


def test_code_format_puts_the_first_code_block_into_the_next_cell(ip, server):
    captured = ask(ip, "-f code --out code_answer", "Write a function that greets.")
    answer = ip.user_ns["code_answer"]
    assert answer.code.startswith("def ask(prompt: str) -> str:\n")  # the demo answer's code block
    assert ip.rl_next_input == answer.code  # where IPython keeps set_next_input's text
    assert (
        "↳ -f code: the code block is at the next prompt, and kept in _gemini.code and code_answer.code."
        in captured.stdout
    )
    assert "responseMimeType" not in sent(server).get("generationConfig", {})


def test_code_format_without_a_code_block_says_so_and_adds_no_cell(ip, server):
    ip.rl_next_input = None
    captured = ask(ip, "-f code", "just words [[offline echo=1]]")
    assert ip.user_ns["_gemini"].code is None
    assert ip.rl_next_input is None
    assert "no fenced code block, so no cell was added" in captured.stdout


def test_text_format_sends_the_plain_request(ip, server):
    captured = ask(ip, "-f text", "*stars* stay [[offline echo=1]]")
    assert not sent(server).get("generationConfig")  # nothing asked beyond the prompt
    assert "*stars* stay" in captured.stdout
    assert ip.user_ns["_gemini"] == "*stars* stay"


def test_the_format_can_be_configured(ip, server):
    ip.run_line_magic("config", 'GeminiMagics.format = "JSON"')
    ask(ip, "")
    assert sent(server)["generationConfig"] == {"responseMimeType": "application/json"}
    assert ip.user_ns["_gemini"].parsed["offline"] is True


# -- thinking -----------------------------------------------------------------------


def test_thinking_budget_and_thought_summaries(ip, server):
    ask(ip, "--thinking-budget 512 --show-thoughts")
    assert sent(server)["generationConfig"] == {"thinkingConfig": {"include_thoughts": True, "thinking_budget": 512}}
    answer = ip.user_ns["_gemini"]
    assert answer.thoughts.startswith("**Reading the prompt**")
    assert "Reading the prompt" not in answer.text  # kept apart from the answer
    markdown = answer._repr_markdown_()
    folded, rest = markdown.split("</details>", 1)
    assert folded.startswith("<details><summary>Thoughts</summary>\n\n**Reading the prompt**")
    assert rest.lstrip().startswith("## Offline demo answer")


def test_a_budget_alone_asks_for_no_thoughts_and_config_works_too(ip, server):
    ip.run_line_magic("config", "GeminiMagics.thinking_budget = -1")
    ask(ip, "")
    assert sent(server)["generationConfig"] == {"thinkingConfig": {"thinking_budget": -1}}
    assert ip.user_ns["_gemini"].thoughts == ""
    assert "<details>" not in ip.user_ns["_gemini"]._repr_markdown_()


def test_thoughts_are_inert_and_cannot_break_out_of_the_fold():
    from gemini_magic.output.sections import thoughts_markdown

    folded = thoughts_markdown("plan </details> <script>alert(1)</script>\n\n```python\nunclosed")
    assert "<script>" not in folded and folded.count("</details>") == 1
    assert folded.endswith("```\n\n</details>")  # the open fence is closed inside the fold


# -- search -------------------------------------------------------------------------


def test_search_grounds_the_answer_and_lists_its_sources(ip, server):
    ask(ip, "--search", "Who won the 2022 World Cup?")
    assert sent(server)["tools"] == [{"googleSearch": {}}]
    answer = ip.user_ns["_gemini"]
    assert answer.citations == [
        ("example.com", "https://example.com/offline-demo/search-1"),
        ("example.org", "https://example.org/offline-demo/search-2"),
    ]
    assert answer.search_queries == ["Who won the 2022 World Cup?"]
    markdown = answer._repr_markdown_()
    assert "**Sources**\n1. [example\\.com](https://example.com/offline-demo/search-1)\n" in markdown
    assert (
        "Google Search: [Who won the 2022 World Cup\\?](https://www.google.com/search?q=Who+won+the+2022+World+Cup%3F)"
        in markdown
    )


def test_only_web_links_are_listed_and_titles_stay_text():
    from gemini_magic.output.sections import sources_markdown

    markdown = sources_markdown(
        [
            ("bad", "javascript:alert(1)"),
            ("<img src=x onerror=alert(1)>](https://evil.example)", "https://ok.example/a b(c)"),
        ]
    )
    assert "javascript" not in markdown
    assert markdown == (
        "**Sources**\n"
        "1. [&lt;img src\\=x onerror\\=alert\\(1\\)&gt;\\]\\(https\\:\\/\\/evil\\.example\\)](https://ok.example/a%20b%28c%29)"
    )


# -- in a notebook ------------------------------------------------------------------


@pytest.mark.kernel
def test_in_a_notebook_text_and_json_are_shown_as_written_and_code_goes_to_a_new_cell(gemini_server):
    env = kernel_env(GEMINI_API_KEY=TEST_KEY, GOOGLE_GEMINI_BASE_URL=gemini_server.url)
    with running_kernel(env) as kernel:
        assert kernel.execute("%load_ext gemini_magic").status == "ok"

        run = kernel.execute("%%gemini -f text\n*not emphasis* [[offline echo=1]]")
        final = run.final_output()
        assert final["data"]["text/markdown"].startswith("```text\n*not emphasis*\n```\n")
        assert kernel.value("_gemini.text") == "*not emphasis*"

        run = kernel.execute("%%gemini -f json\nGive me JSON.")
        final = run.final_output()
        assert final["data"]["text/markdown"].startswith('```json\n{\n  "demo": true,\n')  # indented to read

        run = kernel.execute("%%gemini -f code\nWrite a function.")
        (payload,) = run.reply["content"]["payload"]
        assert payload["source"] == "set_next_input" and payload["replace"] is False
        assert payload["text"] == kernel.value("_gemini.code")
        assert "in a new cell below" in run.stdout
