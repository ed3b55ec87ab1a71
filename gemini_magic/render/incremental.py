"""The same HTML as :func:`render_html`, while the text arrives in chunks: each finished block rendered once."""

from __future__ import annotations

from .blocks import BlockScanner
from .html import to_html
from .inert import inert_blocks
from .tail import settle_open_tail


class IncrementalRenderer:
    """Render a Markdown stream chunk by chunk with the result of :func:`render_html`.

    ``feed`` only stores text and classifies each newly completed line; a block is
    finalized when a line shows that nothing after it can change it (see
    :class:`BlockScanner`). ``take_frozen`` renders the blocks finalized since the
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

    def __init__(self, *, allow_images: bool = False, typeset: bool = False):
        self.allow_images = allow_images
        self.typeset = typeset  # math as MathML, code highlighted: see render.enrich
        self._chunks: list[str] = []
        self._skip_lf = False  # the last chunk ended with "\r": a "\n" next belongs to it
        self._lines: list[str] = []  # complete lines, "\n"-terminated
        self._partial: list[str] = []  # pieces of the line being written
        self._scanner = BlockScanner()
        self._cuts: list[int] = []  # line indexes where finalized blocks end, not yet taken
        self._start = 0  # first line not yet taken by take_frozen
        self._frozen: list[str] = []  # what take_frozen returned
        self._emitted = False  # some non-empty HTML was returned by take_frozen
        self._held: list[tuple[str, str]] = []  # [(inert markdown, html)]: finalized but held back, see class doc
        self._held_defines = False
        self._references: dict = {}  # link references defined in the emitted blocks
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

        emit: list[str] = []
        held: list[str] = []
        for block in blocks:
            md, uses, defines = inert_blocks(block, self.allow_images)
            if self._held or held or uses:
                held.append(md)
                self._held_defines = self._held_defines or defines
            else:
                emit.append(md)
        if held:
            md = "".join(held)
            self._held.append((md, to_html(md, self.allow_images, self._references, typeset=self.typeset)[0]))
        if not emit:
            return ""
        html, self._references = to_html("".join(emit), self.allow_images, self._references, typeset=self.typeset)
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
        tail = "".join(self._lines[self._start :]) + "".join(self._partial)
        if not self._finished:  # mid-stream: no raw markers of what is still being written
            tail = settle_open_tail(tail)
        tail_md, _, defines = inert_blocks(tail, self.allow_images)
        if self._held and (self._held_defines or defines):
            # A definition may change any held block: render them as one document.
            md = "".join(md for md, _ in self._held) + tail_md
            html = to_html(md, self.allow_images, self._references, typeset=self.typeset)[0]
        else:
            parts = [h for _, h in self._held]
            parts.append(to_html(tail_md, self.allow_images, self._references, typeset=self.typeset)[0])
            html = "\n".join(p for p in parts if p)
        if not html:
            return ""
        return ("\n" if self._emitted else "") + html
