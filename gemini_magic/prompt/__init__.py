"""Turning a prompt template and the user's variables into request parts.

Pure: no IPython, no SDK. ``build_parts`` returns plain parts, ``str`` for text
and :class:`Blob` for images and files (:class:`LocalFile` for a file too large to
send inline), which ``client`` turns into SDK parts::

    build_parts("Describe {fig}; the data: {df}", {"fig": fig, "df": df})
    # -> ["Describe ", Blob("image/png", b"..."), "; the data: \\n**DataFrame** ..."]

What is a reference
-------------------
``{name}``, ``{name.attr}``, ``{name[key]}`` (chained as you like, e.g.
``{df.columns[0]}``) and an optional format spec (``{ratio:.1%}``). In ``[key]``
digits are an int and anything else a string, quoted or not, as in
``str.format``. Everything else is left exactly as written:

- braces that hold anything else: JSON, dict and set literals, ``{1, 2}``;
- code: fenced blocks and ```inline code``` are never touched, so f-strings
  and templates in pasted code stay as they are;
- math: ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` (``$x_{i}$``);
- LaTeX groups: a brace right after ``\\command``, ``^``, ``}``, ``$`` or a
  backslash (``\\frac{a}{b}``, ``x^{2}``, ``${HOME}``);
- Python keywords (``{None}``).

``{{`` writes ``{`` (and the ``}}`` that closes it writes ``}``): ``{{df}}`` is
the text ``{df}``. A reference to a name that is not defined raises
:class:`PromptError` naming it; ``expand=False`` turns all of this off.

How values become parts
-----------------------
- ``str``: as is, cut to ``max_chars`` with a note saying so;
- pandas ``DataFrame`` / ``Series``: a compact Markdown table with the shape and
  dtypes, at most ``max_rows`` rows and ``max_columns`` columns, saying when
  it is truncated;
- a PIL image, a matplotlib ``Figure`` (or ``Axes``) or an ``IPython.display.Image``:
  an image :class:`Blob`;
- a ``pathlib.Path`` (a PDF, text, image, audio or video file; see ``files``) or
  ``bytes`` of a known type: a file part (a ``str`` path stays text);
- anything else: ``format(value, spec)``, bounded like a string.
"""

from .files import load_file, read_file
from .images import load_image, to_image
from .parts import Blob, FileData, LocalFile, Part, PromptError, is_file_part
from .references import build_parts
from .values import MAX_CHARS, MAX_ROWS, describe_value, pandas_kind

__all__ = [
    "Blob",
    "FileData",
    "LocalFile",
    "Part",
    "is_file_part",
    "load_file",
    "read_file",
    "PromptError",
    "build_parts",
    "load_image",
    "to_image",
    "describe_value",
    "pandas_kind",
    "MAX_CHARS",
    "MAX_ROWS",
]
