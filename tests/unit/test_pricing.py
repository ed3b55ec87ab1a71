"""The price table and its arithmetic, and record text shown inert."""

import pytest

from gemini_magic import pricing
from gemini_magic.output.escape import md
from gemini_magic.output.escape import shown as what_a_reader_sees
from gemini_magic.response import Usage


def test_a_model_is_priced_by_its_name_or_the_longest_name_it_starts_with():
    assert pricing.price_of("gemini-2.5-flash")["input"] == 0.3
    assert pricing.price_of("models/gemini-2.5-flash-preview-09-2025")["input"] == 0.3
    assert pricing.price_of("gemini-2.5-flash-lite-001")["input"] == 0.1  # not gemini-2.5-flash's price
    assert pricing.price_of("gemini-2.5-flashy") is None  # a prefix only counts up to a "-"
    assert pricing.price_of("gemma-3") is None


def test_thinking_is_billed_as_output_and_the_batch_api_costs_half():
    usage = Usage(prompt_tokens=1_000_000, response_tokens=1_000_000, thinking_tokens=1_000_000)
    assert pricing.usage_cost("gemini-2.5-flash", usage) == pytest.approx(0.3 + 2 * 2.5)
    assert pricing.usage_cost("gemini-2.5-flash", usage, batch=True) == pytest.approx((0.3 + 5.0) / 2)


def test_long_prompts_are_priced_at_the_long_context_rate():
    assert pricing.cost("gemini-2.5-pro", 200_000, 0) == pytest.approx(0.25)
    assert pricing.cost("gemini-2.5-pro", 200_001, 0) == pytest.approx(200_001 * 2.5 / 1e6)


def test_the_table_says_when_and_where_its_prices_come_from():
    table = pricing.shipped()
    assert table["as_of"] and table["source"].startswith("https://ai.google.dev/")
    assert "prices as of" in pricing.source_line()


def test_costs_are_shown_with_enough_digits_to_see_them():
    assert [pricing.dollars(v) for v in (None, 0, 0.0000309, 0.0123, 12.5)] == [
        "no price",
        "$0",
        "$0.0000309",
        "$0.0123",
        "$12.50",
    ]


def test_text_from_a_server_or_a_record_is_inert_in_markdown_and_html():
    shown = md("[click](javascript:alert(1)) <img src=x onerror=alert(1)> *bold* `code` $x$ a_b _c_")
    assert "\\[click\\]" in shown and "<img" not in shown and "&lt;img" in shown
    assert "\\*bold\\*" in shown and "\\`code\\`" in shown and "\\$x\\$" in shown
    assert "a\\_b" in shown and "\\_c\\_" in shown
    assert "a_b _c_" in what_a_reader_sees(shown)


def test_a_hostile_model_name_in_a_record_file_stays_inert(bare_ip, server, tmp_path):
    from IPython.utils.capture import capture_output

    from gemini_magic.replay import close_stores, open_store, recording_key, summary
    from gemini_magic.response import GeminiResponse

    path = str(tmp_path / "hostile.gemini.sqlite")
    bare_ip.run_line_magic("config", f"GeminiMagics.replay_file = {path!r}")
    bare_ip.run_line_magic("config", 'GeminiMagics.replay = "only"')
    magics = bare_ip.magics_manager.registry["GeminiMagics"]
    request = magics.request(prompt="Hi", parts=("Hi",))
    hostile = "[x](javascript:alert(1))<script>alert(1)</script>"
    open_store(path).put(
        recording_key(request),
        summary(request),
        GeminiResponse("Fine.", model=hostile, usage=Usage(1, 2, 0, 3), finish_reason="STOP"),
    )
    try:
        with capture_output():
            bare_ip.run_cell_magic("gemini", "", "Hi")
        from gemini_magic.output.final import final_bundle

        markdown = final_bundle(bare_ip.user_ns["_gemini"])[0]["text/markdown"]  # what the notebook keeps
        assert "Fine." in markdown and "<script>" not in markdown and "[x](" not in markdown
        assert "\\[x\\]" in markdown
    finally:
        close_stores()
