"""The text a (non-image) value puts in a prompt, bounded: strings, DataFrames and Series as tables, the rest formatted."""

from __future__ import annotations

from typing import Any

from .parts import PromptError

MAX_CHARS = 20_000  # per inserted value
MAX_ROWS = 20  # rows of a DataFrame or Series
MAX_COLUMNS = 30
MAX_CELL_CHARS = 80


def describe_value(value: Any, spec: str = "", *, max_chars: int = MAX_CHARS, max_rows: int = MAX_ROWS) -> str:
    """The text a (non-image) value puts in the prompt, bounded."""
    kind = pandas_kind(value)
    if kind and not spec:
        return _frame_markdown(value, kind, max_rows)
    try:
        text = format(value, spec) if spec else (value if isinstance(value, str) else str(value))
    except Exception as error:
        raise PromptError(f"{{...:{spec}}}: cannot format a {type(value).__name__} with {spec!r} ({error})") from None
    return _bounded(text, max_chars)


def _bounded(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n[… truncated: the first {max_chars:,} of {len(text):,} characters]\n"


def pandas_kind(value: Any) -> str:
    """ "DataFrame" or "Series" for pandas values (and subclasses), else "" (pandas is never imported)."""
    for cls in type(value).__mro__:
        if cls.__name__ in ("DataFrame", "Series") and cls.__module__.split(".", 1)[0] == "pandas":
            return cls.__name__
    return ""


def _frame_markdown(value: Any, kind: str, max_rows: int) -> str:
    frame = value.to_frame() if kind == "Series" else value
    rows, columns = frame.shape
    lines = []
    if kind == "Series":
        name = f" {value.name!r}" if value.name is not None else ""
        lines.append(f"**Series{name}**: {rows:,} values, dtype {value.dtype}")
    else:
        lines.append(f"**DataFrame**: {rows:,} rows × {columns:,} columns")
        dtypes = ", ".join(f"{_cell(c)} ({t})" for c, t in list(frame.dtypes.items())[:MAX_COLUMNS])
        more = f", … {columns - MAX_COLUMNS} more" if columns > MAX_COLUMNS else ""
        lines.append(f"Columns (dtype): {dtypes}{more}")
    shown = frame.iloc[:max_rows, :MAX_COLUMNS]
    show_index = not _default_index(frame.index)
    header = ([_cell(frame.index.name or "")] if show_index else []) + [_cell(c) for c in shown.columns]
    if header:
        lines.append("")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for label, row in zip(shown.index, shown.itertuples(index=False, name=None)):
            cells = ([_cell(label)] if show_index else []) + [_cell(v) for v in row]
            lines.append("| " + " | ".join(cells) + " |")
    notes = []
    if rows > max_rows:
        notes.append(f"the first {max_rows} of {rows:,} rows")
    if columns > MAX_COLUMNS:
        notes.append(f"the first {MAX_COLUMNS} of {columns:,} columns")
    if notes:
        lines.append("")
        lines.append(f"(truncated: showing {' and '.join(notes)})")
    return "\n".join(lines) + "\n"


def _default_index(index) -> bool:
    return type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1 and index.name is None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = format(value, ".6g")
    else:
        text = str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"
