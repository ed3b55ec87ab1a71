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
Python-Markdown all agree (see :class:`BlockScanner`). Fenced and indented code
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

from .html import render_html
from .incremental import IncrementalRenderer
from .inert import inert_markdown
from .inline import SAFE_SCHEMES
from .tail import settle_open_tail

__all__ = ["inert_markdown", "render_html", "IncrementalRenderer", "SAFE_SCHEMES", "settle_open_tail"]
