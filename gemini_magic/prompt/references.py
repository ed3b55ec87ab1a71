"""Finding ``{name}`` references in a prompt template and filling them from the namespace (see the package docs)."""

from __future__ import annotations

import keyword
import re
from typing import Any, Mapping

from .images import to_image
from .parts import PromptError
from .values import MAX_CHARS, MAX_ROWS, describe_value

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
