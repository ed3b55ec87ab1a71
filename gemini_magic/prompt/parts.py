"""What a prompt is made of: text (``str``), :class:`Blob` (bytes with a MIME type, sent inline),
:class:`LocalFile` (a file too large to send inline, uploaded when sent) and :class:`FileData`
(a file Gemini already has, or a YouTube URL, sent by URI); and the error for one that cannot be built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from ..errors import PromptError

__all__ = ["Blob", "FileData", "LocalFile", "Part", "PromptError", "is_file_part"]


@dataclass(frozen=True)
class Blob:
    """Bytes to send with the prompt: an image, a document, audio or video, with its MIME type.
    Sent inline, or uploaded through the Files API when the request would be too large."""

    mime_type: str
    data: bytes
    name: str = field(default="", compare=False)  # the file's name, shown in messages and to Gemini

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    def __repr__(self) -> str:
        named = f", {self.name!r}" if self.name else ""
        return f"Blob({self.mime_type!r}, {len(self.data):,} bytes{named})"


@dataclass(frozen=True)
class LocalFile:
    """A file on disk too large to send inline: hashed once, uploaded when the request is sent
    (never read into memory whole)."""

    path: str
    mime_type: str
    size: int
    sha256: str
    name: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return f"LocalFile({self.name or self.path!r}, {self.mime_type!r}, {self.size:,} bytes)"


@dataclass(frozen=True)
class FileData:
    """A file sent by URI: one uploaded through the Files API, or a YouTube video."""

    uri: str
    mime_type: Optional[str] = None
    name: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return f"FileData({self.uri!r}, {self.mime_type!r})"


Part = Union[str, Blob, LocalFile, FileData]


def is_file_part(part) -> bool:
    """Whether ``part`` is anything but text."""
    return isinstance(part, (Blob, LocalFile, FileData))
