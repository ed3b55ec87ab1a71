"""Turning a prompt template and the user's variables into request parts.

Pure: no IPython, no SDK. ``build_parts`` returns plain parts, ``str`` for text
and :class:`Image` for images, which ``client.py`` turns into SDK parts::

    build_parts("Describe {fig}; the data: {df}", {"fig": fig, "df": df})
    # -> ["Describe ", Image("image/png", b"..."), "; the data: \\n**DataFrame** ..."]

What is a reference
-------------------
``{name}``, ``{name.attr}``, ``{name[key]}`` (chained as you like, e.g.
``{df.columns[0]}``) and an optional format spec (``{ratio:.1%}``). In ``[key]``
digits are an int and anything else a string, quoted or not, as in
``str.format``. Everything else is left exactly as written:

- braces that hold anything else: JSON, dict and set literals, ``{1, 2}``;
- code: fenced blocks and ```inline code``` are never touched, so f-strings
  and templates in pasted code stay as they are;
- math: ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` (``$x_{i}$``);
- LaTeX groups: a brace right after ``\\command``, ``^``, ``}``, ``$`` or a
  backslash (``\\frac{a}{b}``, ``x^{2}``, ``${HOME}``);
- Python keywords (``{None}``).

``{{`` writes ``{`` (and the ``}}`` that closes it writes ``}``): ``{{df}}`` is
the text ``{df}``. A reference to a name that is not defined raises
:class:`PromptError` naming it; ``expand=False`` turns all of this off.

How values become parts
-----------------------
- ``str``: as is, cut to ``max_chars`` with a note saying so;
- pandas ``DataFrame`` / ``Series``: a compact Markdown table with the shape and
  dtypes, at most ``max_rows`` rows and ``max_columns`` columns, saying when
  it is truncated;
- a PIL image, a matplotlib ``Figure`` (or ``Axes``), PNG/JPEG/WebP ``bytes``,
  an ``IPython.display.Image`` or a ``pathlib.Path`` to an image file: an
  :class:`Image` part;
- anything else: ``format(value, spec)``, bounded like a string.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any, Mapping, Union

__all__ = ["Image", "PromptError", "build_parts", "load_image", "to_image", "describe_value", "MAX_CHARS", "MAX_ROWS"]

MAX_CHARS = 20_000  # per inserted value
MAX_ROWS = 20  # rows of a DataFrame or Series
MAX_COLUMNS = 30
MAX_CELL_CHARS = 80

IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


class PromptError(ValueError):
    """A prompt that cannot be built; the message is one line naming the culprit."""


@dataclass(frozen=True)
class Image:
    """An image to send inline with the prompt."""

    mime_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Image({self.mime_type!r}, {len(self.data):,} bytes)"


Part = Union[str, Image]

# -- finding references --------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(
    r"\{(?P<path>" + _NAME + r"(?:\." + _NAME + r"|\[[^\[\]{}\n]*\])*)(?::(?P<spec>[^{}\s]*))?\}"
)
_STEP = re.compile(r"\.(?P<attr>" + _NAME + r")|\[(?P<key>[^\[\]]*)\]")
# A fence opens a code block until a closing fence of the same kind (or the end).
_FENCE = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*(?:\n|\Z).*?(?:^[ ]{0,3}(?P=fence)[`~]*[ \t]*(?:\n|\Z)|\Z)",
    re.MULTILINE | re.DOTALL,
)
# Inline code: a backtick run up to the same run, within one paragraph.
_INLINE_CODE = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.DOTALL)
# Math: $$...$$, \[...\], \(...\), and $...$ as Pandoc reads it (no space inside the
# dollars, no digit right after the closing one), so "$5 and $10" is not math.
_MATH = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|(?<![\\$])\$(?=[^\s$])(?:[^$\n\\]|\\.)*?(?<=[^\s\\])\$(?!\d)",
    re.DOTALL,
)
# A LaTeX group outside math: right after \command, ^, } (\frac{a}{b}), $ or a backslash.
_LATEX_BEFORE = re.compile(r"(?:\\[A-Za-z]+\*?|[\\^}$])$")


def build_parts(
    template: str,
    namespace: Mapping[str, Any],
    *,
    expand: bool = True,
    max_chars: int = MAX_CHARS,
    max_rows: int = MAX_ROWS,
) -> list:
    """The parts of a prompt: ``str`` for text, :class:`Image` for images.

    Raises :class:`PromptError` for a reference to an undefined name, a missing
    attribute or key, or a value that cannot be sent (bytes that are no image).
    """
    if not expand:
        return [template] if template else []
    parts: list = []
    position = 0
    for code in _code_spans(template):
        _expand_text(template[position : code.start()], namespace, parts, max_chars, max_rows)
        _append(parts, code.group())
        position = code.end()
    _expand_text(template[position:], namespace, parts, max_chars, max_rows)
    return parts


def _code_spans(text: str):
    """Fenced blocks, inline code and math, in order, not overlapping."""
    position = 0
    while position < len(text):
        fence = _FENCE.search(text, position)
        end = fence.start() if fence else len(text)
        inline = _INLINE_CODE.search(text, position, end)
        math = _MATH.search(text, position, inline.start() if inline else end)
        match = math or inline or fence
        if match is None:
            return
        yield match
        position = max(match.end(), position + 1)


def _expand_text(text: str, namespace, parts: list, max_chars: int, max_rows: int) -> None:
    out: list[str] = []
    position = 0
    escaped_open = 0  # "{{" seen: the next "}}" writes "}"
    length = len(text)
    while position < length:
        brace = _next_brace(text, position)
        if brace < 0:
            break
        out.append(text[position:brace])
        if text.startswith("{{", brace):
            out.append("{")
            escaped_open += 1
            position = brace + 2
            continue
        if text.startswith("}}", brace):
            out.append("}" if escaped_open else "}}")
            escaped_open = max(0, escaped_open - 1)
            position = brace + 2
            continue
        match = _REFERENCE.match(text, brace) if text[brace] == "{" else None
        if match is None or _is_literal(text, brace, match):
            out.append(text[brace])
            position = brace + 1
            continue
        written = match.group()
        value = _resolve(match.group("path"), namespace, written)
        position = match.end()
        try:
            image = to_image(value, strict=False)
        except PromptError as error:
            raise PromptError(f"{written}: {error}") from None
        if image is not None:
            _append(parts, "".join(out))
            out = []
            parts.append(image)
            continue
        inserted = describe_value(value, match.group("spec") or "", max_chars=max_chars, max_rows=max_rows)
        if "\n" in inserted and not inserted.startswith("\n"):
            inserted = _block(inserted, before=text[brace - 1 : brace], after=text[position : position + 1])
        out.append(inserted)
    out.append(text[position:])
    _append(parts, "".join(out))


def _next_brace(text: str, position: int) -> int:
    found = [i for i in (text.find("{", position), text.find("}", position)) if i >= 0]
    return min(found) if found else -1


def _is_literal(text: str, brace: int, match: re.Match) -> bool:
    root = match.group("path").split(".", 1)[0].split("[", 1)[0]
    if keyword.iskeyword(root):
        return True
    return bool(_LATEX_BEFORE.search(text[max(0, brace - 40) : brace]))


def _block(inserted: str, before: str, after: str) -> str:
    """A multi-line value (a table) starts and ends on its own lines."""
    if before and not before.endswith("\n"):
        inserted = "\n" + inserted
    if after and after != "\n":
        inserted = inserted.rstrip("\n") + "\n"
    return inserted


def _append(parts: list, text: str) -> None:
    if not text:
        return
    if parts and isinstance(parts[-1], str):
        parts[-1] += text
    else:
        parts.append(text)


def _resolve(path: str, namespace, written: str) -> Any:
    root = re.match(_NAME, path).group()
    if root not in namespace:
        raise PromptError(
            f"{written}: no variable named {root!r} (define it first; for literal braces write "
            f"{{{written}}}, put code in ``` fences, or use --no-vars)"
        )
    value = namespace[root]
    done = root
    for step in _STEP.finditer(path, len(root)):
        attr, key = step.group("attr"), step.group("key")
        if attr is not None:
            try:
                value = getattr(value, attr)
            except Exception as error:
                raise PromptError(f"{written}: {done} has no attribute {attr!r} ({type(error).__name__})") from None
        else:
            index = _key(key)
            try:
                value = value[index]
            except Exception as error:
                raise PromptError(f"{written}: {done}[{index!r}] failed ({type(error).__name__}: {error})") from None
        done += step.group()
    return value


def _key(key: str):
    key = key.strip()
    if re.fullmatch(r"-?\d+", key):
        return int(key)
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1]
    return key


# -- values --------------------------------------------------------------------


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
    """"DataFrame" or "Series" for pandas values (and subclasses), else "" (pandas is never imported)."""
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


# -- images --------------------------------------------------------------------

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def _sniff(data: bytes):
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def to_image(value: Any, *, strict: bool = True):
    """``value`` as an :class:`Image`, or None when it is not an image.

    With ``strict`` a value that is no image raises :class:`PromptError`;
    a ``str`` is then read as a path. Bytes that are not PNG, JPEG or WebP
    always raise: they cannot be sent as text either.
    """
    if isinstance(value, Image):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        mime = _sniff(data)
        if mime is None:
            raise PromptError(f"{len(data):,} bytes that are not a PNG, JPEG or WebP image")
        return Image(mime, data)
    cls = type(value)
    module = cls.__module__ or ""
    if module.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "mode"):
        return _pil_image(value)
    if module.startswith("matplotlib."):
        figure = value if hasattr(value, "savefig") else getattr(value, "figure", None)
        if figure is not None and hasattr(figure, "savefig"):
            import io

            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", bbox_inches="tight")
            return Image("image/png", buffer.getvalue())
    if module.startswith("IPython.") and cls.__name__ == "Image" and isinstance(getattr(value, "data", None), bytes):
        return to_image(value.data)
    if hasattr(value, "__fspath__") or (strict and isinstance(value, str)):
        return _image_file(value, strict)
    if strict:
        raise PromptError(
            f"a {cls.__name__} is not an image (give a PIL image, a matplotlib Figure, "
            "PNG/JPEG bytes or the path of an image file)"
        )
    return None


def load_image(name: str, namespace: Mapping[str, Any]) -> Image:
    """The image for ``--image NAME``: a variable holding an image (or a path), else a file."""
    import os

    try:
        if name in namespace:
            return to_image(namespace[name])
        if os.path.isfile(name):
            return to_image(name)
    except PromptError as error:
        raise PromptError(f"--image {name}: {error}") from None
    raise PromptError(f"--image {name}: no variable named {name!r} and no image file by that name")


def _pil_image(image) -> Image:
    import io

    buffer = io.BytesIO()
    if image.format == "JPEG":
        image.save(buffer, format="JPEG")
        return Image("image/jpeg", buffer.getvalue())
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(buffer, format="PNG")
    return Image("image/png", buffer.getvalue())


def _image_file(path, strict: bool):
    import os

    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    mime = IMAGE_SUFFIXES.get(suffix)
    if mime is None:
        if strict:
            raise PromptError(f"{path!r}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
        return None
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the image ({error.strerror or error})") from None
    return Image(_sniff(data) or mime, data)
