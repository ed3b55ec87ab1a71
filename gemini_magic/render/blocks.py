"""Just enough Markdown block structure, a line at a time, for safety and for cutting a stream into blocks."""

from __future__ import annotations

import re

LINE_PREFIX = re.compile(r"[ \t>]*(?:(?:[-+*]|\d+[.)])[ \t]+[ \t>]*)*")  # indentation, ">", list markers

_LIST_ITEM = re.compile(r"[ \t]*(?:[-+*]|\d+[.)])(?:[ \t]|$)")
FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
LANG = re.compile(r"[\w#+.-]+")

# What BlockScanner.classify returns.
BLANK, TEXT, CODE, OPEN, FENCED, CLOSE = "blank", "text", "code", "open", "fenced", "close"


def _indent(line: str) -> int:
    """Columns of leading whitespace, tabs to multiples of 4 (as Python-Markdown)."""
    stripped = line.lstrip(" \t")
    prefix = line[: len(line) - len(stripped)]
    return len(prefix.expandtabs(4)) if "\t" in prefix else len(prefix)


class BlockScanner:
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
        self.fence: str | None = None  # the opening fence string while inside a fenced block
        self.last_fence: str | None = None  # the fence that the last CLOSE line closed
        self.fence_indent = 0
        self.code = False
        self.blank = True  # the previous line was blank (or there was none)
        self.in_list = False
        self.label: int | None = None  # characters since a "[" that may still open a label, or None
        self.cut = False

    def classify(self, line: str) -> str:
        """Kind of ``line`` (without its newline); also updates ``cut``."""
        self.cut = False
        label_open = self.label is not None
        if self.label is not None:  # counted as in our output, where blank lines are empty
            self.label += (len(line) if line.strip(" \t") else 0) + 1
            if self.label > self.LABEL_REACH:
                self.label, label_open = None, False
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
        m = FENCE.fullmatch(line)
        if m and not (m[2][0] == "`" and "`" in m[3]) and not label_open:
            self.fence, self.fence_indent = m[2], _indent(m[1])
            return OPEN
        if "[" in line or "]" in line:
            self._track_label(line)
        return TEXT

    def _track_label(self, line: str) -> None:
        start = LINE_PREFIX.match(line).end()  # type: ignore[union-attr]  # it matches the empty string
        if line.startswith(("[", "!["), start):
            self.label = len(line) - start
        # A "]" closes the label if it surely stays a raw, unescaped "]" in our output.
        if "]" in line[start + 1 :] and not any(c in line for c in "`<\\"):
            self.label = None

    def starts_block(self, prefix: str) -> bool:
        """Whether a line that begins with ``prefix`` is sure to get ``cut``
        whatever follows (lets a block end before the next line is complete)."""
        return (
            self.fence is None
            and self.blank
            and self.label is None
            and prefix[:1] != ">"
            and _starts_visibly(prefix)
            and _MAYBE_ITEM.match(prefix) is None
        )


def _starts_visibly(line: str) -> bool:
    """Whether the first character is not whitespace to any renderer: JavaScript's
    ``\\s`` (marked) also counts U+2028, U+FEFF and the like, so such a line could
    be blank there and not end a list."""
    return line[:1] != "" and not line[0].isspace() and line[0] not in "\ufeff\u200b"


_MAYBE_ITEM = re.compile(r"[-+*](?:[ \t]|$)|\d*$|\d+[.)](?:[ \t]|$)")


def _closes(line: str, fence: str) -> bool:
    s = line.strip(" \t")
    return s.startswith(fence) and not s.lstrip(fence[0]).strip("`~")


def dedent(line: str, columns: int) -> str:
    """Remove up to ``columns`` of leading whitespace (a fence's own indentation)."""
    i = col = 0
    while col < columns and i < len(line) and line[i] in " \t":
        col = (col // 4 + 1) * 4 if line[i] == "\t" else col + 1
        if col > columns:
            break
        i += 1
    return line[i:]
