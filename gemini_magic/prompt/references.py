"""Finding ``{name}`` references in a prompt template and filling them from the namespace (see the package docs)."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

from .files import bytes_part, read_file
from .images import MAX_FILE_BYTES, to_image
from .parts import PromptError
from .values import MAX_CHARS, MAX_ROWS, describe_value

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(r"\{(?P<path>" + _NAME + r"(?:\." + _NAME + r"|\[[^\[\]{}\n]*\])*)(?::(?P<spec>[^{}\s]*))?\}")
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
    max_file_bytes: int = MAX_FILE_BYTES,
) -> list:
    """The parts of a prompt: ``str`` for text, :class:`Blob` (or :class:`LocalFile`) for
    images and files.

    Raises :class:`PromptError` for a reference to an undefined name, a missing
    attribute or key, or a value that cannot be sent (bytes of no known type, a path
    to a missing file or a type Gemini does not take).
    """
    if not expand:
        return [template] if template else []
    parts: list = []
    position = 0
    for code in _code_spans(template):
        _expand_text(template[position : code.start()], namespace, parts, max_chars, max_rows, max_file_bytes)
        _append(parts, code.group())
        position = code.end()
    _expand_text(template[position:], namespace, parts, max_chars, max_rows, max_file_bytes)
    # Text runs were gathered as lists of pieces (joined once: += on a growing str is quadratic).
    joined = ["".join(part) if isinstance(part, list) else part for part in parts]
    return [part for part in joined if not isinstance(part, str) or part]


def _code_spans(text: str):
    """Fenced blocks, inline code and math, in order, not overlapping.

    Each kind's next match is kept until the scan passes it, so the text is
    searched once per kind, not once per span (linear, however many spans)."""
    position = 0
    n = len(text)
    found: dict = {}

    def next_of(pattern, limit):
        match = found.get(pattern, False)
        if (
            match is False
            or (match is not None and match.start() < position)
            or (match is None and found.get((pattern, "from"), n) > position)
        ):
            match = pattern.search(text, position)
            found[pattern], found[(pattern, "from")] = match, position
        if match is not None and match.start() >= limit:
            return None
        return match

    while position < n:
        fence = next_of(_FENCE, n)
        end = fence.start() if fence else n
        inline = next_of(_INLINE_CODE, end)
        math = next_of(_MATH, inline.start() if inline else end)
        match = math or inline or fence
        if match is None:
            return
        yield match
        position = max(match.end(), position + 1)


def _expand_text(text: str, namespace, parts: list, max_chars: int, max_rows: int, max_file_bytes: int) -> None:
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
            image = _file_part(value, max_file_bytes)
            if image is None:
                inserted = describe_value(value, match.group("spec") or "", max_chars=max_chars, max_rows=max_rows)
        except PromptError as error:
            raise PromptError(f"{written}: {error}") from None
        except Exception as error:  # a value whose own methods fail (e.g. a __getattr__ that raises)
            raise PromptError(
                f"{written}: the value could not be read ({type(error).__name__}: {_brief(error)})"
            ) from None
        if image is not None:
            _append(parts, "".join(out))
            out = []
            parts.append(image)
            continue
        if "\n" in inserted and not inserted.startswith("\n"):
            inserted = _block(inserted, before=text[brace - 1 : brace], after=text[position : position + 1])
        out.append(inserted)
    out.append(text[position:])
    _append(parts, "".join(out))


def _file_part(value: Any, max_file_bytes: int):
    """A path (``pathlib.Path``, not a str: that is text) or bytes of a known type as a file part;
    an image value as an image; None for anything else."""
    if hasattr(value, "__fspath__") and not isinstance(value, str):
        return read_file(value, max_inline=max_file_bytes)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_part(bytes(value))
    return to_image(value, strict=False, max_bytes=max_file_bytes)


_BRACE = re.compile(r"[{}]")


def _next_brace(text: str, position: int) -> int:
    match = _BRACE.search(text, position)
    return match.start() if match else -1


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
    if parts and isinstance(parts[-1], list):
        parts[-1].append(text)
    else:
        parts.append([text])


def _resolve(path: str, namespace, written: str) -> Any:
    root = path[: re.match(_NAME, path).end()]  # type: ignore[union-attr]  # paths start with a name
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
            if attr.startswith("__"):
                raise PromptError(
                    f"{written}: {attr!r} is Python's own machinery, not data; it is never put in a prompt"
                )
            try:
                value = getattr(value, attr)
            except Exception as error:
                raise PromptError(f"{written}: {done} has no attribute {attr!r} ({type(error).__name__})") from None
        else:
            index = _key(key)
            try:
                value = value[index]
            except Exception as error:
                raise PromptError(
                    f"{written}: {done}[{index!r}] failed ({type(error).__name__}: {_brief(error)})"
                ) from None
        done += step.group()
        _refuse_secrets(value, written)
    _refuse_secrets(value, written)
    return value


def _refuse_secrets(value: Any, written: str) -> None:
    import os

    if value is os.environ or isinstance(value, type(os.environ)):
        raise PromptError(
            f"{written}: the environment (os.environ) holds secrets such as your API key, so it is never put in a prompt"
        )


def _brief(error: Exception, limit: int = 120) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(key: str):
    key = key.strip()
    if re.fullmatch(r"-?\d+", key):
        return int(key)
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1]
    return key
