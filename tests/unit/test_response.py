"""GeminiResponse: the answer is a str, and it remembers how it was made."""

import pickle

from gemini_magic.output.escape import shown
from gemini_magic.response import GeminiResponse, Usage


def make(text="The **answer**.", **fields):
    defaults = dict(model="gemini-x", usage=Usage(3, 12, 0, 15), finish_reason="STOP", elapsed=1.25)
    defaults.update(fields)
    return GeminiResponse(text, **defaults)


def test_it_is_the_text_everywhere_a_string_is_used():
    answer = make()
    assert answer == "The **answer**."
    assert isinstance(answer, str)
    assert len(answer) == 15
    assert answer.upper() == "THE **ANSWER**."
    assert f"{answer}" == "The **answer**."
    assert type(answer.text) is str and answer.text == answer


def test_it_keeps_what_the_run_reported():
    answer = make()
    assert answer.model == "gemini-x"
    assert answer.usage.total_tokens == 15
    assert answer.finish_reason == "STOP"
    assert answer.elapsed == 1.25
    assert answer.interrupted is False
    assert answer.error is None
    assert answer.complete


def test_an_interrupted_or_failed_answer_is_not_complete():
    assert not make(interrupted=True, finish_reason="INTERRUPTED").complete
    assert not make(error="quota", finish_reason="ERROR").complete


def test_footer_is_one_compact_line():
    assert make().footer() == "gemini-x · 3 → 12 tokens · no price · 1.2 s"  # gemini-x is in no price table
    assert make(usage=Usage(3, 12, 40, 55)).footer() == "gemini-x · 3 → 12 tokens (+40 thinking) · no price · 1.2 s"
    # 3 tokens in at $0.30 and 12 out at $2.50 a million
    assert make(model="gemini-2.5-flash").footer() == "gemini-2.5-flash · 3 → 12 tokens · $0.0000309 · 1.2 s"
    assert make(interrupted=True).footer().endswith("interrupted")
    assert make(finish_reason="MAX_TOKENS").footer().endswith("stopped: MAX_TOKENS")


def test_markdown_repr_shows_the_answer_inert_with_its_footer():
    answer = make("Hello <script>alert(1)</script> **world**")
    markdown = answer._repr_markdown_()
    assert "**world**" in markdown
    assert "<script>" not in markdown
    assert "gemini-x" in shown(markdown)  # the model's name, escaped: a server chose it


def test_markdown_repr_shows_the_error():
    markdown = make("partial", error="Gemini quota reached <429>.")._repr_markdown_()
    assert "partial" in markdown and "quota" in markdown and "<429>" not in markdown


def test_it_survives_pickling_with_its_fields():
    answer = pickle.loads(pickle.dumps(make()))
    assert answer == "The **answer**." and answer.model == "gemini-x" and answer.usage.total_tokens == 15


def test_usage_reads_sdk_metadata_and_tolerates_missing_counts():
    class Metadata:
        prompt_token_count = 4
        candidates_token_count = 8
        thoughts_token_count = None
        total_token_count = None

    assert Usage.from_metadata(Metadata()) == Usage(4, 8, 0, 12)
    assert Usage.from_metadata(None) == Usage()
