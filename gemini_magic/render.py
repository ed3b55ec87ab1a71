"""Untrusted Markdown in, inert Markdown or sanitized HTML out, also while it streams.

Model output is untrusted. Three layers keep it harmless:

- :func:`inert_markdown` rewrites the Markdown itself so that *any* renderer,
  sanitizing or not (JupyterLab renders ``text/markdown`` made in the live session
  without sanitizing), shows it as text: no raw HTML, no ``javascript:``-like links,
  no remote images unless asked for.
- :func:`render_html` renders that with Python-Markdown and cleans the result with
  an nh3 allow-list (defense in depth).
- :class:`IncrementalRenderer` gives the same HTML as :func:`render_html` while the
  text arrives in chunks, rendering each finished block once and only re-rendering
  the block still being written.

How code survives: code is the one place where ``<`` stays raw, so a line only
counts as code where CommonMark, marked (JupyterLab), mistune (nbconvert) and
Python-Markdown all agree (see :class:`_BlockScanner`). Fenced and indented code
blocks are copied unchanged (renderers escape them). Fences are rewritten into one
canonical form (column 0, a closing fence, a plain language word) that every
renderer reads the same way, which also moves a fence nested in a list item out to
the top level. An inline code span that holds a tag-like ``<``, ``[`` or ``]`` becomes
``<code>…</code>`` with every special character written as an entity: it shows the
same text, and no renderer can pair its backticks differently and expose its
content as Markdown. Everything else outside code is text, where escapes are
written as entities that display the same.

Known cosmetic costs, all in the safe direction (shown as text, not as code): code
in block quotes, multi-line code spans, a fence right after an unclosed ``[`` that
starts a line; ``<`` followed by a letter inside ``$math$`` shows as ``&lt;`` in
MathJax; a reference definition whose address is on the next line stops being one.
"""

from __future__ import annotations

import html as _html
import re
import threading
from bisect import insort
from urllib.parse import quote

import markdown
import nh3
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension

__all__ = ["inert_markdown", "render_html", "IncrementalRenderer", "SAFE_SCHEMES"]

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_MARK = "\N{FRAME WITH PICTURE}"  # shown in place of "!" for an image turned into a link

# --------------------------------------------------------------------------- blocks

_LIST_ITEM = re.compile(r"[ \t]*(?:[-+*]|\d+[.)])(?:[ \t]|$)")
_FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_LANG = re.compile(r"[\w#+.-]+")

# What _BlockScanner.classify returns.
BLANK, TEXT, CODE, OPEN, FENCED, CLOSE = "blank", "text", "code", "open", "fenced", "close"


def _indent(line: str) -> int:
    """Columns of leading whitespace, tabs to multiples of 4 (as Python-Markdown)."""
    stripped = line.lstrip(" \t")
    prefix = line[: len(line) - len(stripped)]
    return len(prefix.expandtabs(4)) if "\t" in prefix else len(prefix)


class _BlockScanner:
    """Classify lines one at a time: just enough block structure for safety and cuts.

    It errs towards "not code": a line only counts as code when every common
    renderer (CommonMark, GFM/marked, mistune, Python-Markdown) agrees, because
    text outside code gets escaped and text inside code does not.

    - A fence opens on a line of 3+ backticks or tildes at *any* indentation (so a
      fence nested in a list item counts) outside code, unless a link label may be
      open (see ``label``); it closes on the first line of at least as many of the
      same character, at any indentation, optionally followed by more backticks or
      tildes (marked closes there too). When unclosed, it runs to the end.
    - Indented code: 4+ columns after a blank line, and not while a list may be
      open (there an indented line continues the list item). A list may be open
      from any list-marker line until a line that follows a blank line and starts
      with a visible character (no indentation, not even a Unicode space).
    - ``label``: marked and mistune read a reference definition with a regex whose
      label may run over lines (mistune's over blank lines too, up to 500
      characters) and swallow a fence line, showing the code after it as Markdown.
      So from a ``[`` that starts a line until a ``]`` surely left in the output,
      and for 1000 characters at most, no fence opens.
    - ``cut`` is set when the line starts a block that nothing before can change:
      it ends any list as above, is no list item (which could make an earlier
      list loose), no ``>`` (Python-Markdown merges block quotes separated by
      blank lines), and no label may be open.
    """

    __slots__ = ("fence", "last_fence", "fence_indent", "code", "blank", "in_list", "label", "cut")

    LABEL_REACH = 1000

    def __init__(self):
        self.fence = None  # the opening fence string while inside a fenced block
        self.last_fence = None  # the fence that the last CLOSE line closed
        self.fence_indent = 0
        self.code = False
        self.blank = True  # the previous line was blank (or there was none)
        self.in_list = False
        self.label = None  # characters since a "[" that may still open a label, or None
        self.cut = False

    def classify(self, line: str) -> str:
        """Kind of ``line`` (without its newline); also updates ``cut``."""
        self.cut = False
        label_open = self.label is not None
        if label_open:  # counted as in our output, where blank lines are empty
            self.label += (len(line) if line.strip(" \t") else 0) + 1
            if self.label > self.LABEL_REACH:
                self.label = label_open = None
        if self.fence is not None:
            if _closes(line, self.fence):
                self.last_fence, self.fence = self.fence, None
                self.blank = False
                return CLOSE
            return FENCED
        if not line.strip(" \t"):
            self.blank = True
            return BLANK
        indent = _indent(line)
        if indent >= 4 and (self.code or (self.blank and not self.in_list)):
            self.code = True
            self.blank = False
            return CODE
        self.code = False
        if _LIST_ITEM.match(line):
            self.in_list = True
        elif self.blank and _starts_visibly(line):
            self.in_list = False
            self.cut = line[0] != ">" and not label_open
        self.blank = False
        m = _FENCE.fullmatch(line)
        if m and not (m[2][0] == "`" and "`" in m[3]) and not label_open:
            self.fence, self.fence_indent = m[2], _indent(m[1])
            return OPEN
        if "[" in line or "]" in line:
            self._track_label(line)
        return TEXT

    def _track_label(self, line: str) -> None:
        start = _LINE_PREFIX.match(line).end()
        if line.startswith(("[", "!["), start):
            self.label = len(line) - start
        # A "]" closes the label if it surely stays a raw, unescaped "]" in our output.
        if "]" in line[start + 1 :] and not any(c in line for c in "`<\\"):
            self.label = None

    def starts_block(self, prefix: str) -> bool:
        """Whether a line that begins with ``prefix`` is sure to get ``cut``
        whatever follows (lets a block end before the next line is complete)."""
        return (self.fence is None and self.blank and self.label is None and prefix[:1] != ">"
                and _starts_visibly(prefix) and _MAYBE_ITEM.match(prefix) is None)


def _starts_visibly(line: str) -> bool:
    """Whether the first character is not whitespace to any renderer: JavaScript's
    ``\\s`` (marked) also counts U+2028, U+FEFF and the like, so such a line could
    be blank there and not end a list."""
    return line[:1] != "" and not line[0].isspace() and line[0] not in "\ufeff\u200b"


_MAYBE_ITEM = re.compile(r"[-+*](?:[ \t]|$)|\d*$|\d+[.)](?:[ \t]|$)")


def _closes(line: str, fence: str) -> bool:
    s = line.strip(" \t")
    return s.startswith(fence) and not s.lstrip(fence[0]).strip("`~")


def _dedent(line: str, columns: int) -> str:
    """Remove up to ``columns`` of leading whitespace (a fence's own indentation)."""
    i = col = 0
    while col < columns and i < len(line) and line[i] in " \t":
        col = (col // 4 + 1) * 4 if line[i] == "\t" else col + 1
        if col > columns:
            break
        i += 1
    return line[i:]


def _inert(text: str, allow_images: bool) -> tuple[str, bool, bool]:
    """Inert Markdown for ``\\n``-only text, and whether it may use / define link references."""
    ending = "\n" if text.endswith("\n") else ""
    lines = text[: len(text) - len(ending)].split("\n") if text else []
    out, para = [], []
    uses = defines = False
    scanner = _BlockScanner()

    def flush():
        nonlocal uses, defines
        if para:
            md, u, d = _inline("\n".join(para), allow_images)
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
            out.append(_dedent(line, scanner.fence_indent) if line.strip(" \t") else "")
        elif kind == OPEN:
            info = _FENCE.fullmatch(line)[3].split()
            lang = info[0] if info and _LANG.fullmatch(info[0]) else ""
            out.append(scanner.fence + lang)
        elif kind == CLOSE:
            out.append(scanner.last_fence)  # exactly the opener: Python-Markdown needs that
        else:  # blank lines become empty: a first line of spaces is code to Python-Markdown
            out.append(line if kind == CODE else "")
    flush()
    if scanner.fence is not None:
        out.append(scanner.fence)  # close it, or Python-Markdown would not see code
    return "\n".join(out) + ending, uses, defines


# --------------------------------------------------------------------------- inline

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
_LINE_PREFIX = re.compile(r"[ \t>]*(?:(?:[-+*]|\d+[.)])[ \t]+[ \t>]*)*")  # indentation, ">", list markers
_DEF_DEST = re.compile(r"[ \t]*(?:<[^<>\n]*>|\S+)[ \t]*")
_ONE_LINE_TITLE = re.compile(r"(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\))[ \t]*")
_NEXT_LINE_START = re.compile(r"\n[ \t>]*")
_TILDE_FENCE = re.compile(r"^[ \t]*(?=~~~)", re.M)
_TITLE_OPENERS = {'"': "&quot;", "'": "&#39;", "(": "&#40;"}
_EDIT_ENTITIES = {"~": "&#126;", **_TITLE_OPENERS}
_UNSAFE_CODE = re.compile(r"<[A-Za-z/!?]|[\[\]]")  # code spans that must not be read as text
_TICKS = {}

# Characters written as entities where text must not be read as Markdown or HTML.
_TEXT_ENTITIES = str.maketrans(
    {c: f"&#{ord(c)};" for c in "`*_[]\\!~|$:@#"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
)


def _closing_ticks(k: int) -> re.Pattern:
    pattern = _TICKS.get(k)
    if pattern is None:
        pattern = _TICKS[k] = re.compile(r"(?<!`)`{%d}(?!`)" % k)
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
    name = []
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
    return _LINE_PREFIX.fullmatch(run, run.rfind("\n", 0, bracket) + 1, bracket) is not None


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


def _inline(run: str, allow_images: bool) -> tuple[str, bool, bool]:
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
            k = _TICK_RUN.match(run, j).end() - j
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
            if opener and opener[2] and nxt == "(" and allow_images and scheme in ("http", "https") \
                    and not pointy:  # a "<" left in place is escaped: the address would change
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


# --------------------------------------------------------------------------- public, one-shot

def _normalize(text: str) -> str:
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
    return _inert(_normalize(text), allow_images)[0]


_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "pre", "blockquote", "hr", "br",
               "table", "thead", "tbody", "tr", "th", "td"}
_INLINE_TAGS = {"code", "em", "strong", "a", "del", "sup", "sub"}
_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}
_LANGUAGE_CLASS = re.compile(r"language-[\w#+.-]+")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":  # only fenced_code's class="language-python"
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    if tag == "img" and attribute == "src":  # no relative (server-side) image sources
        return value if value[:8].lower().startswith(("http://", "https://")) else None
    return value


def _cleaner(allow_images: bool) -> nh3.Cleaner:
    tags, attributes = _BLOCK_TAGS | _INLINE_TAGS, dict(_ATTRIBUTES)
    if allow_images:
        tags, attributes["img"] = tags | {"img"}, {"src", "alt", "title"}
    return nh3.Cleaner(
        tags=tags,
        attributes=attributes,
        attribute_filter=_attribute_filter,
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )


_CLEANERS = {False: _cleaner(False), True: _cleaner(True)}
_local = threading.local()  # one Markdown instance per thread: reset() is ~3x cheaper than a new one


def _to_html(md_text: str, allow_images: bool, references: dict | None = None) -> tuple[str, dict]:
    """Sanitized HTML for inert Markdown, and the link references defined by then.

    ``references`` seeds definitions from earlier blocks rendered separately.
    """
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(
            # Extension objects, not names: names cost a scan of installed packages.
            extensions=[FencedCodeExtension(), TableExtension(use_align_attribute=True), SaneListExtension()]
        )
    md.reset()
    if references:
        md.references.update(references)
    raw = md.convert(md_text)
    return (_CLEANERS[allow_images].clean(raw) if raw else ""), dict(md.references)


def render_html(text: str, *, allow_images: bool = False) -> str:
    """Sanitized HTML for untrusted Markdown: :func:`inert_markdown`, Python-Markdown
    (``fenced_code``, ``tables``), then nh3 with an allow-list of Markdown's own tags."""
    return _to_html(inert_markdown(text, allow_images=allow_images), allow_images)[0]


# --------------------------------------------------------------------------- streaming

class IncrementalRenderer:
    """Render a Markdown stream chunk by chunk with the result of :func:`render_html`.

    ``feed`` only stores text and classifies each newly completed line; a block is
    finalized when a line shows that nothing after it can change it (see
    :class:`_BlockScanner`). ``take_frozen`` renders the blocks finalized since the
    last call, once; ``tail_html`` renders what is still open. Plain concatenation
    of every ``take_frozen()`` result and the last ``tail_html()`` (after
    ``finish()``) equals ``render_html(text)``: pieces carry their own ``"\\n"``
    separators in front.

    Reference links are the exception to "once": a later ``[id]: url`` line can
    turn an earlier ``[text][id]`` into a link. So from the first block that might
    use a reference (a ``[...]`` not followed by ``(...)``), finalized blocks are
    held back from ``take_frozen`` and shown by ``tail_html`` instead: rendered once
    and cached while no definition is in sight, rendered again as one document
    together with the open tail once one is.
    """

    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images
        self._chunks = []
        self._skip_lf = False  # the last chunk ended with "\r": a "\n" next belongs to it
        self._lines = []  # complete lines, "\n"-terminated
        self._partial = []  # pieces of the line being written
        self._scanner = _BlockScanner()
        self._cuts = []  # line indexes where finalized blocks end, not yet taken
        self._start = 0  # first line not yet taken by take_frozen
        self._frozen = []  # what take_frozen returned
        self._emitted = False  # some non-empty HTML was returned by take_frozen
        self._held = []  # [(inert markdown, html)]: finalized but held back, see class doc
        self._held_defines = False
        self._references = {}  # link references defined in the emitted blocks
        self._finished = False
        self._taken_all = False

    @property
    def text(self) -> str:
        """All text fed so far, exactly as fed."""
        return "".join(self._chunks)

    def feed(self, chunk: str) -> None:
        """Append streamed text. Costs O(len(chunk)) plus a scan of each completed line."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if not chunk:
            return
        self._chunks.append(chunk)
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == "\n":
                chunk = chunk[1:]
        if "\r" in chunk:
            # A final "\r" ends its line right away: whether or not "\n" follows, it is one line break.
            self._skip_lf = chunk.endswith("\r")
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in chunk:
            if chunk:
                self._partial.append(chunk)
            return
        lines = chunk.split("\n")
        lines[0] = "".join(self._partial) + lines[0]
        last = lines.pop()
        self._partial = [last] if last else []
        for line in lines:
            self._scanner.classify(line)
            if self._scanner.cut:
                self._cuts.append(len(self._lines))
            self._lines.append(line + "\n")

    def take_frozen(self) -> str:
        """HTML of the blocks finalized since the last call ("" if none)."""
        if self._finished:
            if self._taken_all:
                return ""
            self._taken_all = True
            html = self._rest_html()
            self._frozen.append(html)
            return html
        if self._partial and self._scanner.starts_block(self._partial[0] + "".join(self._partial[1:3])):
            self._cuts.append(len(self._lines))  # no need to wait for the line's end
        if not self._cuts:
            return ""
        blocks, start = [], self._start
        for end in self._cuts:
            if end > start:  # a cut taken early comes again when its line completes
                blocks.append("".join(self._lines[start:end]))
                start = end
        self._cuts.clear()
        self._start = start

        emit, held = [], []
        for block in blocks:
            md, uses, defines = _inert(block, self.allow_images)
            if self._held or held or uses:
                held.append(md)
                self._held_defines = self._held_defines or defines
            else:
                emit.append(md)
        if held:
            md = "".join(held)
            self._held.append((md, _to_html(md, self.allow_images, self._references)[0]))
        if not emit:
            return ""
        html, self._references = _to_html("".join(emit), self.allow_images, self._references)
        html = self._joined(html)
        self._frozen.append(html)
        return html

    def tail_html(self) -> str:
        """HTML of everything not yet returned by take_frozen (the open tail)."""
        return "" if self._taken_all else self._rest_html()

    def html(self) -> str:
        """All HTML so far: what take_frozen returned plus the tail."""
        return "".join(self._frozen) + self.tail_html()

    def finish(self) -> None:
        """End of stream: everything is final (the next take_frozen returns the rest)."""
        self._finished = True

    def _joined(self, html: str) -> str:
        if not html:
            return ""
        sep = "\n" if self._emitted else ""
        self._emitted = True
        return sep + html

    def _rest_html(self) -> str:
        tail = "".join(self._lines[self._start:]) + "".join(self._partial)
        tail_md, _, defines = _inert(tail, self.allow_images)
        if self._held and (self._held_defines or defines):
            # A definition may change any held block: render them as one document.
            md = "".join(md for md, _ in self._held) + tail_md
            html = _to_html(md, self.allow_images, self._references)[0]
        else:
            parts = [h for _, h in self._held]
            parts.append(_to_html(tail_md, self.allow_images, self._references)[0])
            html = "\n".join(p for p in parts if p)
        if not html:
            return ""
        return ("\n" if self._emitted else "") + html
