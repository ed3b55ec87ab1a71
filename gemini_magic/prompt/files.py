"""Files as prompt parts: which types Gemini takes (by their bytes first, by suffix for text),
and the checks a file passes before anything is sent or uploaded.

A file up to the inline limit is read into a :class:`Blob`; a larger one (up to the Files
API's 2 GB) becomes a :class:`LocalFile`, hashed here and uploaded when the request is sent.
Text files (.txt .md .csv .html .json .py ...) are sent as files with their own MIME type,
not pasted into the prompt, so Gemini sees a document with its name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Optional

from .parts import Blob, FileData, LocalFile, PromptError

INLINE_LIMIT = 20_000_000  # Gemini takes at most this much inline data in one request
FILES_API_LIMIT = 2 * 1024**3  # the Files API takes files up to 2 GB
FILE_LIFETIME_HOURS = 48  # how long Google keeps an uploaded file

# Text types Gemini reads as documents, by suffix (their bytes have no signature).
TEXT_SUFFIXES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".py": "text/x-python",
    ".xml": "text/xml",
    ".css": "text/css",
    ".js": "text/javascript",
    ".rtf": "text/rtf",
}

ACCEPTED = (
    "PDF; text (.txt .md .csv .html .json .py .xml .css .js .rtf); images (PNG, JPEG, WebP, HEIC/HEIF); "
    "audio (MP3, WAV, FLAC, OGG, AAC, AIFF); video (MP4, MOV, WebM, MPEG, 3GPP)"
)

_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"heif": "image/heif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/aac",
    b"M4B ": "audio/aac",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3g2a": "video/3gpp",
}


# Signatures at the very start of a file.
_PREFIXES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"\x00\x00\x01\xba", "video/mpeg"),
    (b"\x00\x00\x01\xb3", "video/mpeg"),
)


def sniff(head: bytes) -> Optional[str]:
    """The MIME type that the first bytes of a file show, or None (text has no signature)."""
    for prefix, mime in _PREFIXES:
        if head.startswith(prefix):
            return mime
    if head[:4] == b"RIFF":
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp"}.get(head[8:12])
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame sync
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"  # layer 00 is ADTS AAC
    return None


def detect(head: bytes, name: str = "") -> Optional[str]:
    """The MIME type Gemini is told: the bytes' signature first, else a text suffix."""
    sniffed = sniff(head)
    if sniffed is not None:
        return sniffed
    mime = TEXT_SUFFIXES.get(os.path.splitext(name)[1].lower())
    if mime is not None and b"\x00" not in head:
        return mime
    return None


def kind(mime_type: Optional[str]) -> str:
    """How a MIME type is spoken of: image, audio, video or document."""
    major = (mime_type or "").split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def _unsupported(path: str) -> PromptError:
    import mimetypes

    guessed = mimetypes.guess_type(path)[0]
    suffix = os.path.splitext(path)[1].lstrip(".").upper()
    if guessed in _SIGNED or suffix in ("HEIC", "HEIF", "WEBM", "FLAC", "AAC"):
        return PromptError(f"{path!r}: its bytes are not a {suffix} file, whatever its name says")
    what = f"its type ({guessed})" if guessed else "its type"
    return PromptError(f"{path!r}: {what} is not one Gemini takes; accepted: {ACCEPTED}")


# Types known by their bytes: a file named like one whose bytes do not show it is refused as such.
_SIGNED = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/webp",
        "audio/wav",
        "audio/x-wav",
        "audio/mpeg",
        "audio/ogg",
        "audio/aiff",
        "audio/x-aiff",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/mpeg",
    }
)


def read_file(path: Any, *, max_inline: int = INLINE_LIMIT):
    """The file at ``path`` as a part: a :class:`Blob` up to ``max_inline`` bytes, else a
    :class:`LocalFile`. Raises :class:`PromptError` (one line) for a missing file, a directory,
    a device or pipe, an empty file, one over the Files API's limit, or a type Gemini does not take."""
    import stat

    path = os.fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise PromptError(f"{path!r}: no such file") from None
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the file ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise PromptError(f"{path!r}: a directory, not a file (name the files in it one by one)")
    if not stat.S_ISREG(info.st_mode):
        raise PromptError(f"{path!r}: not a regular file (a device or pipe), so it is not read")
    if info.st_size == 0:
        raise PromptError(f"{path!r}: the file is empty")
    if info.st_size > FILES_API_LIMIT:
        raise PromptError(
            f"{path!r}: {info.st_size:,} bytes, more than the Files API's limit of 2 GB ({FILES_API_LIMIT:,} bytes)"
        )
    name = os.path.basename(path)
    try:
        with open(path, "rb") as file:
            head = file.read(64)
            mime = detect(head, name)
            if mime is None:
                raise _unsupported(path)
            if info.st_size <= max_inline:
                data = head + file.read(max_inline + 1 - len(head))
                if len(data) > max_inline:
                    raise PromptError(f"{path!r}: grew past {max_inline:,} bytes while being read")
                _check_text(path, mime, data)
                return Blob(mime, data, name)
            return LocalFile(os.path.abspath(path), mime, info.st_size, _sha256(file, head, info), name)
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the file ({error.strerror or error})") from None


def _check_text(path: str, mime: str, data: bytes) -> None:
    if kind(mime) == "document" and mime != "application/pdf":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise PromptError(f"{path!r}: not UTF-8 text, so it cannot be sent as {mime}") from None


_hashes: dict = {}  # (device, inode, size, mtime) -> sha256: an unchanged large file is hashed once


def _sha256(file, head: bytes, info) -> str:
    import hashlib

    seen = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    known = _hashes.get(seen)
    if known is not None:
        return known
    digest = hashlib.sha256(head)
    while chunk := file.read(1 << 20):
        digest.update(chunk)
    if len(_hashes) > 1000:
        _hashes.clear()
    _hashes[seen] = digest.hexdigest()
    return _hashes[seen]


def bytes_part(data: bytes, name: str = "") -> Blob:
    """Bytes of a known type as a :class:`Blob`; other bytes raise (they cannot be sent as text either)."""
    mime = sniff(data[:64])
    if mime is None:
        raise PromptError(f"{len(data):,} bytes of no type Gemini takes (accepted: {ACCEPTED})")
    return Blob(mime, data, name)


_YOUTUBE = re.compile(
    r"^https?://(?:(?:www\.|m\.|music\.)?youtube\.com/(?:watch\?(?:\S*&)?v=|shorts/|live/|embed/)|youtu\.be/)"
    r"[\w-]{11}(?:[?&#]\S*)?$"
)


def youtube(text: str) -> bool:
    """Whether ``text`` is the URL of a YouTube video."""
    return bool(_YOUTUBE.match(text.strip()))


def load_file(spec: str, namespace: Mapping[str, Any], *, max_inline: int = INLINE_LIMIT):
    """The part for ``--file SPEC``: a YouTube URL, a variable (a path, bytes), or a file's path."""
    try:
        if youtube(spec):
            return FileData(spec.strip(), None, spec.strip())
        if re.match(r"^[a-z][a-z0-9+.-]*://", spec, re.IGNORECASE):
            raise PromptError("only a YouTube video is sent by URL; download other files and give their path")
        if spec.isidentifier() and spec in namespace:
            value = namespace[spec]
            if isinstance(value, (bytes, bytearray, memoryview)):
                return bytes_part(bytes(value), spec)
            if isinstance(value, (Blob, FileData, LocalFile)):
                return value
            if isinstance(value, str) and youtube(value):
                return FileData(value.strip(), None, value.strip())
            if isinstance(value, str) or hasattr(value, "__fspath__"):
                return read_file(value, max_inline=max_inline)
            raise PromptError(f"the variable holds a {type(value).__name__}, not a path, bytes or a YouTube URL")
        return read_file(spec, max_inline=max_inline)
    except PromptError as error:
        said = str(error)
        if said.startswith(f"{spec!r}: "):  # the path as written: not twice
            said = said[len(repr(spec)) + 2 :]
        raise PromptError(f"--file {spec}: {said}") from None
