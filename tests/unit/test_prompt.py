"""Prompt templates: {name} filled from the namespace, every other brace left alone.

``build_parts`` is pure (no IPython, no SDK), so these tests call it directly;
tests/unit/test_formats.py and tests/unit/test_chat.py check what reaches the server.
"""

import io

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from gemini_magic.prompt import Blob, PromptError, build_parts, load_image, to_image

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 16


def text(template, **namespace):
    (only,) = build_parts(template, namespace)
    return only


# -- what is a reference --------------------------------------------------------


def test_names_attributes_and_keys_are_filled_in():
    class Point:
        x = 3

    data = {"key": "v", 1: "one", "two words": 2}
    assert text("Hi {name}!", name="Ada") == "Hi Ada!"
    assert text("{p.x} {d[key]} {d['key']} {d[1]} {d[two words]}", p=Point, d=data) == "3 v v one 2"
    assert text("{items[0].x}", items=[Point]) == "3"
    assert text("{ratio:.1%} of {n:,}", ratio=0.256, n=12000) == "25.6% of 12,000"


@pytest.mark.parametrize(
    "template",
    [
        'JSON stays: {"a": 1, "b": [1, 2]}',
        "a set {1, 2} and a dict {k: v for k, v in pairs}",
        r"LaTeX: $\frac{a}{b}$, $x^{2}$, $x_{i}$, $\mathbf{v}$, \{x\}",
        "shell: ${HOME} and $x",
        "keywords: {None} {True}",
        "nothing is evaluated: {x.bit_length()} {x + 1}",
        "a lone brace { or } and {} and {  }",
        "code: `print(f'{undefined}')` inline",
        '```python\nprint(f"{undefined} {x}")\nd = {x}\n```\n',
        "~~~\n{undefined}\n~~~",
    ],
)
def test_braces_that_are_not_references_are_left_exactly_as_written(template):
    assert build_parts(template, {"x": 1}) == [template]


def test_code_is_left_alone_even_when_the_name_exists():
    template = "Explain `{x}` and\n```\nprint(f'{x}')\n```\nwith x = {x}"
    assert text(template, x=42) == "Explain `{x}` and\n```\nprint(f'{x}')\n```\nwith x = 42"


def test_math_is_left_alone_but_dollar_amounts_are_not_math():
    assert text(r"$x_{i}$ and $$\sum_{i} x^{i}$$ and \(a_{i}\) for i={i}", i=3) == (
        r"$x_{i}$ and $$\sum_{i} x^{i}$$ and \(a_{i}\) for i=3"
    )
    assert text("costs $5 for {item} or $10", item="tea") == "costs $5 for tea or $10"
    assert text("save it as report_{day}.csv", day="monday") == "save it as report_monday.csv"


def test_double_braces_write_single_ones():
    assert text("{{x}} is {x}; {{ jinja }}", x=1) == "{x} is 1; { jinja }"
    # a "}}" with no "{{" before it is not an escape: LaTeX closes groups that way
    assert text(r"$\sqrt{\frac{1}{2}}$ and {x}", x=1) == r"$\sqrt{\frac{1}{2}}$ and 1"


def test_an_unknown_name_is_an_error_naming_it():
    with pytest.raises(PromptError, match=r"\{nope\}: no variable named 'nope'.*\{\{nope\}\}.*--no-vars"):
        build_parts("Tell me about {nope}.", {})


def test_a_missing_attribute_or_key_is_an_error_naming_the_reference():
    with pytest.raises(PromptError, match=r"\{d\.colums\}: d has no attribute 'colums'"):
        build_parts("{d.colums}", {"d": {}})
    with pytest.raises(PromptError, match=r"\{d\[k\]\}: d\['k'\] failed \(KeyError"):
        build_parts("{d[k]}", {"d": {}})


def test_expand_false_sends_the_template_as_written():
    assert build_parts("{nope} {{x}} {x}", {"x": 1}, expand=False) == ["{nope} {{x}} {x}"]


# -- values -----------------------------------------------------------------------


def test_a_long_string_is_cut_with_a_note():
    (part,) = build_parts("{doc}", {"doc": "x" * 50}, max_chars=10)
    assert part.startswith("x" * 10 + "\n[… truncated: the first 10 of 50 characters]")


def test_a_dataframe_becomes_a_compact_markdown_table():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"] * 10, "temp": [1.5, 19.25, 30.0] * 10, "n": range(30)})
    (part,) = build_parts("Summarize:\n{df}\nThanks.", {"df": df}, max_rows=5)
    assert part == (
        "Summarize:\n"
        "**DataFrame**: 30 rows × 3 columns\n"
        "Columns (dtype): city (str), temp (float64), n (int64)\n"
        "\n"
        "| city | temp | n |\n"
        "|---|---|---|\n"
        "| Oslo | 1.5 | 0 |\n"
        "| Lima | 19.25 | 1 |\n"
        "| Pune | 30 | 2 |\n"
        "| Oslo | 1.5 | 3 |\n"
        "| Lima | 19.25 | 4 |\n"
        "\n"
        "(truncated: showing the first 5 of 30 rows)\n"
        "\nThanks."
    )


def test_a_series_keeps_a_meaningful_index_and_cells_cannot_break_the_table():
    pd = pytest.importorskip("pandas")
    counts = pd.Series({"a|b": 3, "new\nline": 1}, name="count")
    part = text("{counts}", counts=counts)
    assert part.startswith("**Series 'count'**: 2 values, dtype int64\n")
    assert "| a\\|b | 3 |" in part and "| new line | 1 |" in part
    assert "truncated" not in part


def test_images_become_image_parts_in_place():
    parts = build_parts("Compare {a} with {b}.", {"a": PNG, "b": JPEG})
    assert parts == ["Compare ", Blob("image/png", PNG), " with ", Blob("image/jpeg", JPEG), "."]


def test_a_matplotlib_figure_and_its_axes_become_png_images():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2, 3])
    try:
        (part,) = build_parts("{fig}", {"fig": fig})
        assert part.mime_type == "image/png" and part.data.startswith(b"\x89PNG")
        assert build_parts("{ax}", {"ax": ax})[0].mime_type == "image/png"
    finally:
        plt.close(fig)


def test_a_pil_image_becomes_png_or_stays_jpeg():
    PIL = pytest.importorskip("PIL.Image")
    image = PIL.new("RGB", (4, 4), "red")
    assert to_image(image).mime_type == "image/png"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    assert to_image(PIL.open(io.BytesIO(buffer.getvalue()))).mime_type == "image/jpeg"


def test_a_path_is_read_but_a_string_in_braces_stays_text(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(PNG)
    assert build_parts("{p}", {"p": path}) == [Blob("image/png", PNG)]
    assert build_parts("{p}", {"p": str(path)}) == [str(path)]


def test_bytes_of_a_known_type_are_a_file_and_other_bytes_an_error():
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Page >>\nendobj\n"
    assert build_parts("Summarise {paper}", {"paper": pdf}) == ["Summarise ", Blob("application/pdf", pdf)]
    with pytest.raises(PromptError, match=r"\{blob\}: 3 bytes of no type Gemini takes \(accepted: PDF; text"):
        build_parts("{blob}", {"blob": b"abc"})


def test_image_arguments_take_a_variable_or_a_file(tmp_path):
    path = tmp_path / "chart.jpg"
    path.write_bytes(JPEG)
    assert load_image("picture", {"picture": PNG}) == Blob("image/png", PNG)
    assert load_image("where", {"where": str(path)}) == Blob("image/jpeg", JPEG)
    assert load_image(str(path), {}) == Blob("image/jpeg", JPEG)
    with pytest.raises(PromptError, match="--image nothing: no variable named 'nothing' and no image file"):
        load_image("nothing", {})
    with pytest.raises(PromptError, match="--image n: a int is not an image"):
        load_image("n", {"n": 3})


# -- in the magic: what the server receives ------------------------------------------


def user_parts(server):
    (request,) = [r for r in server.requests if "enerateContent" in r.path]
    (content,) = request.json["contents"]
    return content["parts"]


@pytest.fixture
def ns(ip):
    names = {"df": None, "fig": PNG, "n": 3, "price": 5}
    pd = pytest.importorskip("pandas")
    names["df"] = pd.DataFrame({"x": [1, 2]})
    ip.user_ns.update(names)
    yield ip.user_ns
    for name in names:
        ip.user_ns.pop(name, None)


def run(ip, line, cell=None):
    with capture_output():
        if cell is None:
            ip.run_cell(line)
        else:
            ip.run_cell_magic("gemini", line, cell)


def test_a_cell_sends_variables_tables_and_images(ip, server, ns):
    run(ip, "", "Describe {fig} given {df}, n={n}.")
    parts = user_parts(server)
    assert parts[0] == {"text": "Describe "}
    assert parts[1]["inlineData"]["mime_type"] == "image/png"
    assert parts[2]["text"].startswith(" given \n**DataFrame**: 2 rows × 1 columns\n")
    assert parts[2]["text"].endswith("| 2 |\n, n=3.")


def test_a_line_magic_fills_braces_the_same_way_and_leaves_dollars_alone(ip, server, ns):
    run(ip, "%gemini Summarize {df} for $price, not {{df}}")
    (part,) = user_parts(server)
    assert part["text"].startswith("Summarize \n**DataFrame**")  # not IPython's own {df} expansion
    assert part["text"].endswith("for $price, not {df}")


def test_a_line_magic_ending_in_a_question_mark_fills_braces_too(ip, server, ns):
    run(ip, "%gemini What is n={n}?")
    assert user_parts(server) == [{"text": "What is n=3?"}]


def test_no_vars_sends_braces_as_written_in_a_cell_and_a_line(ip, server, ns):
    run(ip, "--no-vars", "Keep {df} and {{x}} and {undefined}")
    assert user_parts(server) == [{"text": "Keep {df} and {{x}} and {undefined}"}]
    server.clear()
    run(ip, "%gemini --no-vars Keep {df} and $price")
    assert user_parts(server) == [{"text": "Keep {df} and $price"}]


def test_variables_can_be_turned_off_by_config(ip, server, ns):
    ip.run_line_magic("config", "GeminiMagics.variables = False")
    run(ip, "", "Keep {df}")
    assert user_parts(server) == [{"text": "Keep {df}"}]


def test_image_options_come_first_in_the_order_given(ip, server, ns, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(JPEG)
    run(ip, f"--image fig --image {path}", "Compare these.")
    parts = user_parts(server)
    assert [p.get("inlineData", {}).get("mime_type") for p in parts] == ["image/png", "image/jpeg", None]
    assert parts[2] == {"text": "Compare these."}


def test_an_image_alone_is_a_prompt(ip, server, ns):
    run(ip, "%gemini --image fig")
    assert [p["inlineData"]["mime_type"] for p in user_parts(server)] == ["image/png"]


@pytest.mark.parametrize(
    "line, cell, message",
    [
        ("", "Tell me about {undefined}.", r"\{undefined\}: no variable named 'undefined'"),
        ("", "{df.nope}", r"\{df.nope\}: df has no attribute 'nope'"),
        ("--image n", "Look", "--image n: a int is not an image"),
        ("--image missing.png", "Look", "--image missing.png: no variable named 'missing.png' and no image file"),
    ],
)
def test_prompt_mistakes_are_one_line_usage_errors_before_any_request(ip, server, ns, line, cell, message):
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("gemini", line, cell)
    assert server.requests == []
