"""The open tail of a streamed answer, settled for display: no raw Markdown markers while it grows.

Pure, and for display only (the saved answer is never changed). On the raw text, before
:func:`inert_markdown` makes it inert (what is added here is only closing markers):

- a code span, emphasis or strikethrough still open at the end is closed (``**bol`` shows
  as bold ``bol``; a lone trailing marker is dropped);
- a link still being written shows its text (``[docs](https://exa`` shows ``docs``);
- a table whose separator row has not arrived is held back (its header is not shown as text);
- (open fences are already closed by :func:`inert_markdown`).
"""

from __future__ import annotations

import re

_SEPARATOR_ROW = re.compile(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-*:?\s*)*\|?\s*")
_FENCE = re.compile(r"\s*(`{3,}|~{3,})")
_RUN = re.compile(r"`+|\*+|_+|~~|\\.")


def settle_open_tail(markdown: str) -> str:
    """``markdown`` (cut anywhere by the stream) as it should look mid-stream."""
    ending = "\n" if markdown.endswith("\n") else ""
    lines = markdown[: len(markdown) - len(ending)].split("\n")
    start = _last_paragraph_start(lines)
    if start is None:
        return markdown
    paragraph = lines[start:]
    kept = _without_unfinished_table(paragraph)
    if kept != paragraph:
        return "\n".join(lines[:start] + kept).rstrip("\n") + "\n"
    return "\n".join(lines[:start] + [_close_inline("\n".join(paragraph))]) + ending


def _last_paragraph_start(lines: list[str]) -> int | None:
    """Where the last paragraph starts, or None if the text ends inside or right after a fence."""
    fenced, start = False, 0
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced, start = not fenced, i + 1
        elif not fenced and not line.strip():
            start = i + 1
    if fenced or start >= len(lines) or any(_FENCE.match(line) for line in lines[start:]):
        return None
    return start


def _without_unfinished_table(paragraph: list[str]) -> list[str]:
    rows = [i for i, line in enumerate(paragraph) if "|" in line]
    if not rows:
        return paragraph
    first = rows[0]
    if any("|" not in line for line in paragraph[first:] if line.strip()):
        return paragraph  # pipes in prose, not a table being written
    body = [line for line in paragraph[first:] if line.strip()]
    if len(body) >= 2 and _SEPARATOR_ROW.fullmatch(body[1]) and body[1].count("-") >= 3:
        return paragraph
    return paragraph[:first]


def _close_inline(text: str) -> str:
    stack: list = []
    open_code, cut = None, None
    position = 0
    for match in _RUN.finditer(text):
        run = match.group()
        if run.startswith("\\"):
            continue
        if open_code is not None:
            if run == open_code:
                open_code = None
            continue
        if run[0] == "`":
            open_code, position = run, match.start()
            continue
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else ""
        if stack and stack[-1][0] == run and not before.isspace():
            stack.pop()
        elif after and not after.isspace() and not (run[0] == "_" and before.isalnum()):
            stack.append((run, match.start()))
        elif not after:  # a marker the next chunk will continue: not shown yet
            cut = match.start() if cut is None else cut
    del position
    if open_code is not None:
        return text + open_code
    if cut is not None and not stack:
        text = text[:cut]
    text = _settle_link(text)
    return text + "".join(run for run, _ in reversed(stack))


_OPEN_LINK = re.compile(r"\[([^\[\]]*)(?:\]\([^)]*|\]?)$")


def _settle_link(text: str) -> str:
    """``[text](url`` or ``[text`` at the end shows as ``text``."""
    match = _OPEN_LINK.search(text)
    return text[: match.start()] + match.group(1) if match else text
