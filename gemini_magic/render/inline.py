"""Inline Markdown made inert: no raw HTML, no unsafe link schemes, no remote images, code kept."""

from __future__ import annotations

import html as _html
import re
from bisect import insort
from urllib.parse import quote

from .blocks import LINE_PREFIX

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_MARK = "\N{FRAME WITH PICTURE}"  # shown in place of "!" for an image turned into a link


_SPECIAL = re.compile(r"[\\`<!\[\]]")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_TAG_START = re.compile(r"<[A-Za-z/!?]")  # only these make "<" start a tag or comment
_AUTOLINK = re.compile(r"<([Hh][Tt][Tt][Pp][Ss]?://[^\s<>\x00-\x1f]*)>")
_POINTY = re.compile(r"<([^<>\n]+)>(?=[ \t\n)]|$)")  # <dest> as a whole destination
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,40});?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_TICK_RUN = re.compile(r"`+")
_PARENS = re.compile(r"[()]")
_BLANK_LABEL = re.compile(r"\s*\]")
_DEF_DEST = re.compile(r"[ \t]*(?:<[^<>\n]*>|\S+)[ \t]*")
_ONE_LINE_TITLE = re.compile(r"(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\))[ \t]*")
_NEXT_LINE_START = re.compile(r"\n[ \t>]*")
_TILDE_FENCE = re.compile(r"^[ \t]*(?=~~~)", re.M)
_TITLE_OPENERS = {'"': "&quot;", "'": "&#39;", "(": "&#40;"}
_EDIT_ENTITIES = {"~": "&#126;", **_TITLE_OPENERS}
_UNSAFE_CODE = re.compile(r"<[A-Za-z/!?]|[\[\]]")  # code spans that must not be read as text
_TICKS: dict[int, re.Pattern] = {}

# Characters written as entities where text must not be read as Markdown or HTML.
_TEXT_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "`*_[]\\!~|$:@#"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _closing_ticks(k: int) -> re.Pattern:
    pattern = _TICKS.get(k)
    if pattern is None:
        pattern = _TICKS[k] = re.compile(r"(?<!`)`{" + str(k) + r"}(?!`)")
    return pattern


def _dest_scheme(run: str, i: int) -> tuple[str | None, int, int]:
    """Read a link destination at ``run[i:]`` the way the most lenient renderer would.

    Returns ``(scheme, start, stop)``: the lower-cased scheme (None when there is
    none), where the destination starts, and the index just past the scheme's ``:``.
    Entities and backslash escapes are decoded; whitespace, control characters and
    line breaks (with a block quote's ``>``) are skipped, as browsers drop them.
    """
    n = len(run)
    while i < n and run[i] in " \t\n":
        i += 1
        if run[i - 1] == "\n":
            while i < n and run[i] in " \t>":
                i += 1
    start = i
    if i < n and run[i] == "<":
        i += 1
    name: list[str] = []
    stop = min(n, i + 256)  # no real scheme is longer
    while i < stop:
        c = run[i]
        if c == "&" and (m := _ENTITY.match(run, i)):
            chars, i = _html.unescape(m.group()), m.end()
        elif c == "\\" and i + 1 < n and run[i + 1] in _ASCII_PUNCT:
            chars, i = run[i + 1], i + 2
        elif c == "\n":
            i += 1
            while i < n and run[i] in " \t>":
                i += 1
            continue
        else:
            chars, i = c, i + 1
        for ch in chars:
            if ch == ":":
                scheme = "".join(name)
                return (scheme.lower() if _SCHEME.fullmatch(scheme) else None), start, i
            if ch <= " " or ch == "\x7f" or ch.isspace():
                continue
            if not (ch.isascii() and (ch.isalnum() or ch in "+.-")):
                return None, start, i
            name.append(ch)
    return None, start, i


def _encode_dest(url: str) -> str:
    """A destination as one token with nothing Markdown could read: percent-encoded
    except URL delimiters (``&`` stays: renderers decode entities in destinations)."""
    return quote(url, safe="-._~:/?#@$&+,;=%")


def _balanced(run: str, i: int) -> bool:
    """Whether the ``(`` just before ``run[i]`` is closed (link or reference?)."""
    depth = 1
    for m in _PARENS.finditer(run, i, i + 4000):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            return True
    return False


def _code_html(content: str) -> str:
    if len(content) > 2 and content[0] == content[-1] == " " and content.strip(" "):
        content = content[1:-1]  # CommonMark strips one space on each side
    return "<code>" + content.translate(_TEXT_ENTITIES) + "</code>"


def _at_line_start(run: str, bracket: int) -> bool:
    """Whether only indentation, ``>`` or list markers precede ``run[bracket]`` on its line."""
    return LINE_PREFIX.fullmatch(run, run.rfind("\n", 0, bracket) + 1, bracket) is not None


def _single_line_title(run: str, dest_end: int, eol: int, edits: list) -> None:
    """Keep a link reference definition's title on the definition's line.

    marked (JupyterLab) and mistune (nbconvert) read definitions with regexes whose
    title (and mistune's label) may run over many lines, fence lines included, where
    CommonMark stops: they could swallow a fence's opening line and show the code
    after it as Markdown. So a title opener (``"``, ``'``, ``(``) not closed on this
    line, or starting the next line, goes into ``edits`` to be written as an entity.
    """
    if dest_end < eol and run[dest_end] in _TITLE_OPENERS and not _ONE_LINE_TITLE.fullmatch(run, dest_end, eol):
        insort(edits, dest_end)
    nxt = _NEXT_LINE_START.match(run, eol)
    if nxt is not None and run[nxt.end() : nxt.end() + 1] in _TITLE_OPENERS:
        insort(edits, nxt.end())


def inert_inline(run: str, allow_images: bool) -> tuple[str, bool, bool]:
    """Inert inline Markdown for a run of text lines (no code blocks, no blank lines).

    Returns the Markdown and whether it may use / define link references (for
    :class:`IncrementalRenderer`). One pass; a regex skips over ordinary text.
    """
    out = []
    stack = []  # open brackets: (index in out, index of "[" in run, is_image)
    images, keep = [], set()
    # Characters to write as entities: the first "~" of a "~~~" line (a fence the
    # scanner refused: another renderer would open one there and take the fences
    # we write for its end), then title openers, see _single_line_title.
    edits = [m.end() for m in _TILDE_FENCE.finditer(run)]
    uses = defines = False
    pos, n = 0, len(run)
    while True:
        m = _SPECIAL.search(run, pos)
        j = n if m is None else m.start()
        if edits and edits[0] < j:
            e = edits.pop(0)
            if e >= pos:
                out += [run[pos:e], _EDIT_ENTITIES[run[e]]]
                pos = e + 1
            continue
        if j > pos:
            out.append(run[pos:j])
        if m is None:
            break
        c = run[j]
        pos = j + 1
        if c == "\\":
            nxt = run[j + 1 : j + 2]
            if nxt == "<":
                out.append("&lt;")  # "\<" would be raw HTML to Python-Markdown
            elif nxt == "`":
                out.append("&#96;")
            elif nxt and nxt in _ASCII_PUNCT:
                out.append(run[j : j + 2])
            else:
                out.append("\\")
                continue
            pos = j + 2
        elif c == "`":
            k = _TICK_RUN.match(run, j).end() - j  # type: ignore[union-attr]  # run[j] is a backtick
            eol = run.find("\n", j)
            close = _closing_ticks(k).search(run, j + k, n if eol < 0 else eol)
            if close is None or (edits and edits[0] < close.end()):
                out.append("&#96;" * k)  # can't pair up with anything later: not code anywhere
                pos = j + k
            else:
                content = run[j + k : close.start()]
                out.append(_code_html(content) if _UNSAFE_CODE.search(content) else run[j : close.end()])
                pos = close.end()
        elif c == "<":
            if a := _AUTOLINK.match(run, j):
                url = a.group(1)
                out.append(f"[{url.translate(_TEXT_ENTITIES)}]({_encode_dest(url)})")
                pos = a.end()
            else:
                out.append("&lt;" if _TAG_START.match(run, j) else "<")
        elif c == "!":
            if run.startswith("[", j + 1):
                stack.append((len(out), j + 1, True))
                images.append(len(out))
                out.append("![")
                pos = j + 2
            else:
                out.append("!")
        elif c == "[":
            stack.append((len(out), j, False))
            out.append("[")
        else:  # "]"
            opener = stack.pop() if stack else None
            nxt = run[j + 1 : j + 2]
            if opener is not None and not _blank_label(run, opener[1] + 1, j):
                uses = uses or not (nxt == "(" and _balanced(run, j + 2))
            # "]:" can end a definition's label when its "[" starts a line, or is
            # not in this run at all (mistune lets a label span blank lines).
            is_def = nxt == ":" and (opener is None or _at_line_start(run, opener[1] - opener[2]))
            if nxt != "(" and not is_def:
                out.append("]")
                continue
            pos = j + 2
            if is_def:
                defines = True
                eol = run.find("\n", j)
                eol = n if eol < 0 else eol
                dest = _DEF_DEST.match(run, pos, eol)
                if dest is None:  # the destination would be the next line, maybe a fence
                    out.append("]&#58;")
                    continue
                _single_line_title(run, dest.end(), eol, edits)
            out.append("]" + nxt)
            scheme, start, stop = _dest_scheme(run, pos)
            if scheme is not None and scheme not in SAFE_SCHEMES:
                out.append(run[pos:start] + "#")  # javascript:alert(1) -> #alert(1)
                pos = stop
                continue
            pointy = run.startswith("<", start)
            if pointy and (p := _POINTY.match(run, start)) is not None:
                out.append(run[pos:start] + _encode_dest(p.group(1)))
                pos, pointy = p.end(), False
            if (
                opener and opener[2] and nxt == "(" and allow_images and scheme in ("http", "https") and not pointy
            ):  # a "<" left in place is escaped: the address would change
                keep.add(opener[0])
    for i in images:
        if i not in keep:
            out[i] = "[" + IMAGE_MARK + " "  # remote images leak data: make it a link
    for i in range(1, len(out)):
        if out[i - 1] == "!" and out[i].startswith("["):
            out[i - 1] = "&#33;"  # "!" + a link we wrote would be an image
    return "".join(out), uses, defines


def _blank_label(run: str, start: int, end: int) -> bool:
    m = _BLANK_LABEL.match(run, start)
    return m is not None and m.end() == end + 1
