"""Untrusted Markdown in, Markdown that shows the same content but is inert in any renderer, out."""

from __future__ import annotations

from .blocks import CLOSE, CODE, FENCE, FENCED, LANG, OPEN, TEXT, BlockScanner, dedent
from .inline import inert_inline


def inert_blocks(text: str, allow_images: bool) -> tuple[str, bool, bool]:
    """Inert Markdown for ``\\n``-only text, and whether it may use / define link references."""
    ending = "\n" if text.endswith("\n") else ""
    lines = text[: len(text) - len(ending)].split("\n") if text else []
    out: list[str] = []
    para: list[str] = []
    uses = defines = False
    scanner = BlockScanner()

    def flush():
        nonlocal uses, defines
        if para:
            md, u, d = inert_inline("\n".join(para), allow_images)
            out.append(md)
            uses, defines = uses or u, defines or d
            para.clear()

    for line in lines:
        kind = scanner.classify(line)
        if kind == TEXT:
            para.append(line)
            continue
        flush()
        if kind == FENCED:
            out.append(dedent(line, scanner.fence_indent) if line.strip(" \t") else "")
        elif kind == OPEN:
            opened = FENCE.fullmatch(line)
            info = opened[3].split() if opened else []
            lang = info[0] if info and LANG.fullmatch(info[0]) else ""
            out.append((scanner.fence or "") + lang)
        elif kind == CLOSE:
            out.append(scanner.last_fence or "")  # exactly the opener: Python-Markdown needs that
        else:  # blank lines become empty: a first line of spaces is code to Python-Markdown
            out.append(line if kind == CODE else "")
    flush()
    if scanner.fence is not None:
        out.append(scanner.fence)  # close it, or Python-Markdown would not see code
    return "\n".join(out) + ending, uses, defines


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def inert_markdown(text: str, *, allow_images: bool = False) -> str:
    """Markdown that shows the same content as ``text`` but is inert in any renderer.

    - ``<`` that could start a tag or comment is written ``&lt;`` outside code;
      ``<https://...>`` autolinks become ``[https://...](https://...)``.
    - Link and reference-definition destinations whose scheme is not http, https or
      mailto (after decoding entities, escapes and whitespace, case-insensitively)
      lose the scheme: ``[x](javascript:alert(1))`` -> ``[x](#alert(1))``.
    - Images become links ``[🖼 alt](url)``; with ``allow_images=True`` inline images
      with an http(s) address stay images.
    - Code is kept; see the module docstring for how.

    Line endings are normalized to ``\\n``.
    """
    return inert_blocks(normalize_newlines(text), allow_images)[0]
