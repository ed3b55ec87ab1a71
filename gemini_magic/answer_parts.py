"""What an answer holds besides its text: images, the code Gemini ran and its result.

These are plain values (no SDK types), made by :mod:`gemini_magic.client.chunks`,
kept in order by :class:`~gemini_magic.answer.AnswerBuilder` and shown by the views
and :mod:`gemini_magic.output`. Everything in them came from a server, so nothing
here trusts it: an image is shown only when its bytes really are PNG, JPEG, WebP or
GIF (whatever type it claims), and code and output are shown fenced, never rendered.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from typing import Optional

# The raster types an output may show, by the bytes they start with.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
MAX_PIXELS = 40_000_000  # larger is not shown (a header can claim any size; a browser would try)


@dataclass(frozen=True)
class AnswerImage:
    """An image in an answer: its bytes and the MIME type Gemini gave (``index`` counts from 1)."""

    data: bytes
    mime_type: str
    index: int = 1

    @property
    def kind(self) -> Optional[str]:
        """The raster type the bytes are (``image/png``...), or None: then it is never shown."""
        head = self.data[:16]
        kind = next((kind for signature, kind in _SIGNATURES if head.startswith(signature)), None)
        if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            kind = "image/webp"
        if kind is None:
            return None
        size = self.size
        if size is not None and size[0] * size[1] > MAX_PIXELS:
            return None
        return kind

    @property
    def size(self) -> Optional[tuple[int, int]]:
        """(width, height) from the header of a PNG or GIF, or from Pillow for others; None if unknown."""
        data = self.data
        if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        opened = self._pil()
        return opened.size if opened is not None else None

    def describe(self) -> str:
        """``image 1: image/png 512×512`` (what a terminal or a placeholder says)."""
        size = self.size
        shown = f" {size[0]}×{size[1]}" if size else ""
        return f"image {self.index}: {_plain(self.mime_type)}{shown}, {len(self.data):,} bytes"

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def value(self):
        """The image as a user wants it: a PIL image when Pillow reads it, else this object."""
        opened = self._pil()
        return opened if opened is not None else self

    def _pil(self):
        try:
            import io

            from PIL import Image
        except ImportError:
            return None
        try:
            return Image.open(io.BytesIO(self.data))  # lazy: reads the header only
        except Exception:  # not an image Pillow reads, or a decompression bomb
            return None

    def _repr_mimebundle_(self, include=None, exclude=None):
        kind = self.kind
        bundle = {"text/plain": f"<{self.describe()}>"}
        if kind is not None:
            bundle[kind] = self.base64()
        return bundle

    def __repr__(self) -> str:
        return f"AnswerImage({self.describe()})"


@dataclass(frozen=True)
class CodeRun:
    """Code Gemini ran with its code-execution tool."""

    code: str
    language: str = "python"


@dataclass(frozen=True)
class CodeResult:
    """What running it gave: ``OUTCOME_OK``, ``OUTCOME_FAILED`` or ``OUTCOME_DEADLINE_EXCEEDED``, and its output."""

    outcome: str
    output: str


_OUTCOMES = {
    "OUTCOME_OK": "Output",
    "OUTCOME_FAILED": "Output (the code failed)",
    "OUTCOME_DEADLINE_EXCEEDED": "Output (the code ran out of time)",
}
_LANGUAGE = re.compile(r"[a-z][a-z0-9+-]{0,19}")


def part_markdown(part) -> str:
    """A code run or its result as Markdown for the answer's text flow (fenced: never rendered)."""
    from .output.fenced import fenced

    if isinstance(part, CodeRun):
        language = part.language.lower()
        language = language if _LANGUAGE.fullmatch(language) and language != "language_unspecified" else ""
        return "\n\n**Code Gemini ran**\n\n" + fenced(part.code, language) + "\n"
    label = _OUTCOMES.get(part.outcome, f"Output ({_plain(part.outcome).lower()})")
    return f"**{label}**\n\n" + fenced(part.output or "(no output)", "text") + "\n"


def executed(parts) -> list[tuple[str, str, str]]:
    """``[(code, outcome, output)]`` from an answer's parts in order (a run without a result: outcome "")."""
    runs: list[list[str]] = []
    for part in parts:
        if isinstance(part, CodeRun):
            runs.append([part.code, "", ""])
        elif isinstance(part, CodeResult):
            if runs and not runs[-1][1]:
                runs[-1][1:] = [part.outcome, part.output]
            else:  # a result with no code before it
                runs.append(["", part.outcome, part.output])
    return [(code, outcome, output) for code, outcome, output in runs]


URL_STATUSES = {
    "URL_RETRIEVAL_STATUS_SUCCESS": "read",
    "URL_RETRIEVAL_STATUS_ERROR": "failed",
    "URL_RETRIEVAL_STATUS_PAYWALL": "paywall",
    "URL_RETRIEVAL_STATUS_UNSAFE": "unsafe",
    "URL_RETRIEVAL_STATUS_UNSPECIFIED": "unknown",
}


def url_status(status: str) -> str:
    """A retrieval status as a word: read, failed, paywall, unsafe, unknown."""
    return URL_STATUSES.get(status, _plain(status).removeprefix("URL_RETRIEVAL_STATUS_").lower() or "unknown")


def _plain(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9/+._-]", "", str(text))[:60] or "unknown"
