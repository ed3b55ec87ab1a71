"""Where a streamed answer is shown: a live widget in Jupyter, plain text in a terminal.

Both views take the same calls from the stream loop: ``start``, ``add`` (for
every chunk: it must stay cheap), ``retrying``, ``finish``.
"""

from __future__ import annotations

import collections
import contextvars
import math
import sys
import threading

from .render import inert_markdown
from .response import GeminiResponse, final_markdown

# The live HTML sits in a div with the classes JupyterLab puts on its own Markdown
# output, so every rule (child selectors such as ``.jp-RenderedHTMLCommon > pre``
# too) applies as to the final output; on the widget itself they lose to the
# widget's font size and line height. width: auto, not JupyterLab's 100%: the final
# output is a shrinking flex item, and 100% plus its 20px right padding overflows.
# Blocks that JupyterLab's Markdown styles give a top margin (the others have a
# bottom margin only).
_TOP_MARGIN_BLOCKS = ("<h1", "<h2", "<h3", "<h4", "<h5", "<h6", "<hr", "<blockquote")
MARKDOWN_DIV = '<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output" style="width: auto">'


def choose_view(shell, *, allow_images: bool = False):
    """The live widget when running in a kernel, plain text in terminal IPython."""
    if getattr(shell, "kernel", None) is not None:
        return LiveView(allow_images=allow_images)
    return TextView()


def final_bundle(response: GeminiResponse, *, allow_images: bool = False) -> tuple[dict, dict]:
    """The output a saved notebook keeps: inert Markdown, plain text, provenance."""
    markdown = final_markdown(inert_markdown(response.text, allow_images=allow_images), response)
    plain = response.text + ("\n\n" if response.text else "") + response.footer()
    if response.error:
        plain += f"\n{response.error}"
    metadata = {
        "gemini_magic": {
            "model": response.model,
            "finish_reason": response.finish_reason,
            "usage": vars(response.usage),
            "elapsed": round(response.elapsed, 3),
            "interrupted": response.interrupted,
            "error": response.error,
        }
    }
    return {"text/markdown": markdown, "text/plain": plain}, metadata


class LiveView:
    """An ipywidgets view that grows as chunks arrive, then becomes static Markdown.

    Chunks are queued by the stream loop and painted by one painter thread at
    most ``frame_seconds`` apart, so a burst of tiny chunks costs one render.
    The first chunk is painted at once. Finished blocks are rendered once and
    moved into frozen child widgets of about ``segment_chars``; each update
    sends only the open segment and the tail, not the whole answer.
    """

    frame_seconds = 1 / 15
    segment_chars = 8192

    def __init__(self, *, allow_images: bool = False):
        self.allow_images = allow_images
        self._queue: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._painter = None
        self._segment = ""  # finished HTML not yet moved into a frozen widget
        self._rate = 0.0  # finished HTML per paint (moving average)
        self._frozen = 0  # frozen segment widgets so far
        self.paints = 0

    # -- called by the stream loop ------------------------------------------
    def start(self, label: str) -> None:
        import ipywidgets
        from IPython.display import display
        from ipywidgets.widgets.widget_string import HTMLStyle

        from .render import IncrementalRenderer

        self._renderer = IncrementalRenderer(allow_images=self.allow_images)
        # One Layout and one style shared by every widget, classes set at creation:
        # fewer comm_opens and no class updates (about 3 KB less per cell).
        # No widget margins: the swap to the final output must not move anything.
        self._layout, self._style = ipywidgets.Layout(margin="0"), HTMLStyle()
        self._live = self._html_widget("", "gemini-magic-live")
        self._status = ipywidgets.HTML(
            value=_status_html(f"⏳ asking {label}…"),
            layout=self._layout,
            style=self._style,
            _dom_classes=("gemini-magic-status",),
        )
        self._box = ipywidgets.VBox([self._live, self._status], layout=self._layout, _dom_classes=("gemini-magic",))
        self._handle = display(self._box, display_id=True)
        # The painter sends comm messages; give it this cell's context so they
        # carry the cell's parent header like any other output.
        context = contextvars.copy_context()
        self._painter = threading.Thread(target=context.run, args=(self._paint_loop,), daemon=True, name="gemini-painter")
        self._painter.start()

    def add(self, text: str) -> None:
        self._queue.append(text)
        if not self._wake.is_set():
            self._wake.set()

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self._status.value = _status_html(f"↻ {reason} ({attempt}/{attempts})…")

    def finish(self, response: GeminiResponse) -> None:
        self._stop_painter()
        bundle, metadata = final_bundle(response, allow_images=self.allow_images)
        # Same display_id: the widget's slot becomes the static output a saved
        # notebook keeps (a widget alone reopens as "model not found").
        self._handle.update(bundle, raw=True, metadata=metadata)
        for widget in (*self._box.children, self._box):
            _close(widget)

    # -- painter thread -----------------------------------------------------
    def _paint_loop(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                self._paint()
            except Exception as error:  # a paint must never kill the stream
                self._status.value = _status_html(f"(live view stopped: {type(error).__name__})")
                return
            # Coalesce: gather what arrives during one frame into the next paint.
            if self._stopping.wait(self.frame_seconds):
                return

    def _paint(self) -> None:
        renderer = self._renderer
        queue = self._queue
        if self.paints == 0:
            self._status.value = _status_html("▍ streaming…")
        while queue:
            renderer.feed(queue.popleft())
        frozen = renderer.take_frozen()
        if frozen:
            # Every paint resends the open segment: freeze it once resending costs more
            # than a new child widget (~900 B), i.e. at sqrt(2 * 900 * HTML added per paint).
            self._rate = 0.7 * self._rate + 0.3 * len(frozen) if self._rate else len(frozen)
            threshold = min(self.segment_chars, max(512, math.sqrt(1800 * self._rate)))
            self._segment += frozen
            if len(self._segment) >= threshold:
                self._freeze_segment()
        self._live.value = _markdown_div(self._segment + renderer.tail_html(), first=self._frozen == 0, last=True)
        self.paints += 1

    def _freeze_segment(self) -> None:
        segment = _markdown_div(self._segment, first=self._frozen == 0, last=False)
        frozen = self._html_widget(segment, "gemini-magic-frozen")
        self._frozen += 1
        self._segment = ""
        children = self._box.children
        self._box.children = (*children[:-2], frozen, *children[-2:])

    def _stop_painter(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._painter is not None:
            self._painter.join()

    def _html_widget(self, value: str, css_class: str):
        import ipywidgets

        return ipywidgets.HTML(value=value, layout=self._layout, style=self._style, _dom_classes=(css_class,))


class TextView:
    """Terminal IPython: print the text as it streams, then the footer."""

    def __init__(self, stream=None):
        self._out = stream

    @property
    def out(self):
        return self._out or sys.stdout

    def start(self, label: str) -> None:
        pass

    def add(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self.out.write(f"[{reason} ({attempt}/{attempts})]\n")

    def finish(self, response: GeminiResponse) -> None:
        end = "\n" if response.text and not response.text.endswith("\n") else ""
        self.out.write(f"{end}\n[{response.footer()}]\n")
        self.out.flush()


def _close(widget) -> None:
    """Close a widget and the layout/style widgets it made, so no comm is left open."""
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
        if part is not None:
            part.close()


def _markdown_div(html: str, *, first: bool, last: bool) -> str:
    # Empty divs take JupyterLab's ``> *:first-child`` / ``> *:last-child`` margin
    # rules, so blocks at a segment's edges keep the margins they have in the
    # one-piece final output. The last segment ends like the final output (whose
    # last child is the footer line); a frozen one ends with no extra margin.
    if first:
        lead = ""
    elif html.lstrip().startswith(_TOP_MARGIN_BLOCKS):
        # Margins do not collapse across widgets: take back the previous block's
        # bottom margin (1em) that the final output would have collapsed into this one.
        lead = '<div style="margin: 0 0 -1em 0"></div>'
    else:
        lead = "<div></div>"
    end = "<div></div>" if last else '<div style="margin: 0"></div>'
    return f"{MARKDOWN_DIV}{lead}{html}{end}</div>"


def _status_html(text: str) -> str:
    """The status line, shaped like the final output's footer line (same height)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{MARKDOWN_DIV}<p><sub>{escaped}</sub></p></div>"
