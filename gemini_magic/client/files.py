"""Files through Gemini's Files API: upload what a request cannot carry inline, reuse what is uploaded.

A request may carry at most 20 MB of inline data. :func:`prepare` turns the parts that do
not fit into file references before the request is sent:

- a :class:`~gemini_magic.prompt.LocalFile` (a file over the inline read limit) is uploaded;
- then, while the inline data would pass 20 MB, the largest inline file is uploaded;
- in the earlier turns of a conversation, every file that is not an image is sent by URI
  (uploaded once, on the first follow-up), so a PDF is not sent inline again each turn.

An upload shows a progress line, and so does the wait while Google processes a video
(state ``PROCESSING`` until ``ACTIVE``; ``FAILED`` is a :class:`GeminiError`). Uploaded files
are remembered for this kernel by content (sha256) and MIME type, per account, and reused
while they have more than :data:`REUSE_MARGIN` seconds to live (Google keeps a file 48 h).
A reused file that Gemini no longer has (deleted, expired early) is uploaded again once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Optional, TypeVar

from ..errors import GeminiError
from ..prompt.files import INLINE_LIMIT, kind
from ..prompt.parts import Blob, FileData, LocalFile
from .connection import Connection, environment_fingerprint, get_client
from .request import Request

REUSE_MARGIN = 600.0  # seconds a remembered file must still live to be reused (answers take time)
PROCESSING_TIMEOUT = 1800.0  # give up waiting for Google to process a file after this long

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """A file Gemini has: its resource name, URI, MIME type and when it expires (time.time())."""

    name: str
    uri: str
    mime_type: str
    expires: float


_uploaded: dict[tuple, Uploaded] = {}
_locks: dict[tuple, threading.Lock] = {}
_lock = threading.Lock()


def uploaded_files() -> list[Uploaded]:
    """The files uploaded (or reused) in this kernel, oldest first."""
    with _lock:
        return list(_uploaded.values())


def forget_uploads() -> None:
    """Forget every remembered upload (they stay at Google until they expire)."""
    with _lock:
        _uploaded.clear()


def account(connection: Connection) -> str:
    """Whose files these are: a hash of where requests go and the credentials (never the key itself)."""
    seen = repr((connection.offline_url, environment_fingerprint())).encode()
    return hashlib.sha256(seen).hexdigest()[:32]


# -- what a request needs -----------------------------------------------------------


def _carried(part) -> int:
    """Bytes a part adds to the request body (inline data is base64: 4 bytes for every 3)."""
    if isinstance(part, str):
        return len(part)
    if isinstance(part, Blob):
        return (len(part.data) + 2) // 3 * 4
    return 200  # a file reference


def _sent_by_uri_in_history(part) -> bool:
    return isinstance(part, LocalFile) or (isinstance(part, Blob) and not part.is_image)


def needs_preparing(request: Request, limit: int = INLINE_LIMIT) -> bool:
    """Whether :func:`prepare` would upload anything (cheap: no hashing, no network)."""
    parts = request.parts
    if not parts and not request.history:
        return False
    if any(isinstance(p, LocalFile) for p in parts):
        return True
    if any(_sent_by_uri_in_history(p) for role, ps in request.history if role == "user" for p in ps):
        return True
    if not any(isinstance(p, Blob) for p in parts):
        return False
    total = sum(_carried(p) for p in parts) + sum(_carried(p) for _, ps in request.history for p in ps)
    return total > limit


def prepare(request: Request, *, limit: int = INLINE_LIMIT, progress: bool = True) -> Request:
    """``request`` with every part that must go by URI uploaded (or reused) and replaced by
    a :class:`FileData`; ``request`` itself when nothing needs it."""
    if not needs_preparing(request, limit):
        return request
    client = get_client(request.connection)
    if client.vertexai:  # no Files API: everything goes inline, as long as it fits
        carried = sum(_carried(p) for p in request.parts) + sum(_carried(p) for _, ps in request.history for p in ps)
        if carried <= limit and not any(isinstance(p, LocalFile) for p in _all_parts(request)):
            return request
        raise GeminiError(
            "Vertex AI has no Files API, and this request carries more than 20 MB of files: send smaller "
            "files, or use a Gemini API key (GEMINI_API_KEY) for files up to 2 GB."
        )
    owner = account(request.connection)

    def by_uri(part):
        return upload(client, owner, part, progress=progress)

    history = tuple(
        (role, tuple(by_uri(p) if role == "user" and _sent_by_uri_in_history(p) else p for p in parts))
        for role, parts in request.history
    )
    parts = [by_uri(p) if isinstance(p, LocalFile) else p for p in request.parts]
    total = sum(_carried(p) for p in parts) + sum(_carried(p) for _, ps in history for p in ps)
    while total > limit:
        blobs = [i for i, p in enumerate(parts) if isinstance(p, Blob)]
        if not blobs:
            break  # text alone over the limit: Gemini says so
        largest = max(blobs, key=lambda i: len(parts[i].data))
        total -= _carried(parts[largest])
        parts[largest] = by_uri(parts[largest])
        total += _carried(parts[largest])
    return dataclasses.replace(request, parts=tuple(parts), history=history)


def send_with_files(request: Request, send: Callable[[Request], _T]) -> _T:
    """``send`` the request with its files uploaded first (or reused). If Gemini no longer has a
    reused file, it is uploaded again and the request sent once more."""
    sent = prepare(request)
    try:
        return send(sent)
    except Exception as error:
        if not gone(error, sent):
            raise
        forget(sent)
        return send(prepare(request))


def gone(error: BaseException, request: Request) -> bool:
    """Whether ``error`` says a file the request refers to by URI is not there (any more)."""
    from google.genai import errors

    if not isinstance(error, errors.APIError) or error.code not in (403, 404):
        return False
    if "file" not in str(error.message or "").lower():
        return False
    return any(isinstance(p, FileData) for p in _all_parts(request))


def forget(request: Request) -> None:
    """Forget the remembered uploads ``request`` refers to, so the next :func:`prepare` uploads again."""
    uris = {p.uri for p in _all_parts(request) if isinstance(p, FileData)}
    with _lock:
        for key in [k for k, v in _uploaded.items() if v.uri in uris]:
            del _uploaded[key]


def _all_parts(request: Request) -> list:
    return list(request.parts) + [p for _, ps in request.history for p in ps]


# -- one file --------------------------------------------------------------------------


def upload(client, owner: str, part, *, progress: bool = True) -> FileData:
    """``part`` (a Blob or LocalFile) as a file Gemini has: reused while alive, else uploaded."""
    digest = part.sha256 if isinstance(part, LocalFile) else hashlib.sha256(part.data).hexdigest()
    key = (owner, digest, part.mime_type)
    with _lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # the same file asked for by several prompts at once is uploaded once
        with _lock:
            known = _uploaded.get(key)
        if known is not None and known.expires - time.time() > REUSE_MARGIN:
            return FileData(known.uri, known.mime_type, part.name)
        file = _send(client, part, progress)
        file = _wait_until_active(client, file, part, progress)
        expires = file.expiration_time.timestamp() if file.expiration_time else time.time() + 48 * 3600
        done = Uploaded(file.name or "", file.uri or "", file.mime_type or part.mime_type, expires)
        with _lock:
            _uploaded.pop(key, None)
            _uploaded[key] = done
        return FileData(done.uri, done.mime_type, part.name)


def _label(part) -> str:
    return part.name or f"a {kind(part.mime_type)} ({part.mime_type})"


def _send(client, part, progress: bool):
    from google.genai import types

    size = part.size
    bar = _bar(progress, desc=f"Uploading {_label(part)}", total=size, unit="B", unit_scale=True, unit_divisor=1024)
    config = types.UploadFileConfig(mime_type=part.mime_type, display_name=part.name or None)
    try:
        with (
            open(part.path, "rb") if isinstance(part, LocalFile) else io.BytesIO(part.data) as raw,
            _Counted(raw, bar.update if bar is not None else None) as source,
        ):
            return client.files.upload(file=source, config=config)
    finally:
        if bar is not None:
            bar.close()


def _state(file) -> str:
    state = file.state
    return str(getattr(state, "value", state) or "ACTIVE")


def _wait_until_active(client, file, part, progress: bool):
    state = _state(file)
    if state == "PROCESSING":
        bar = _bar(progress, desc=f"Google is processing {_label(part)}", bar_format="{desc}: {elapsed}{postfix}")
        started = time.monotonic()
        pause = 0.1
        try:
            while state == "PROCESSING":
                if time.monotonic() - started > PROCESSING_TIMEOUT:
                    raise GeminiError(
                        f"Google was still processing {_label(part)} after {PROCESSING_TIMEOUT / 60:g} minutes; "
                        "run the cell again later (the upload is not repeated)."
                    )
                time.sleep(pause)
                pause = min(pause * 1.5, 5.0)
                file = client.files.get(name=file.name)
                state = _state(file)
                if bar is not None:
                    bar.update(0)
            if bar is not None:
                bar.set_postfix_str(state.lower())
        finally:
            if bar is not None:
                bar.close()
    if state == "FAILED":
        reason = getattr(getattr(file, "error", None), "message", None)
        raise GeminiError(
            f"Google could not process {_label(part)}"
            + (f": {reason}" if reason else "")
            + "; check that the file opens and plays, or send another."
        )
    return file


def _bar(progress: bool, **options):
    if not progress:
        return None
    from tqdm.std import tqdm

    return tqdm(file=sys.stderr, mininterval=0.2, dynamic_ncols=True, **options)


class _Counted(io.RawIOBase):
    """A binary file that reports how much has been read (the upload's progress)."""

    mode = "rb"

    def __init__(self, raw, on_read: Optional[Any]):
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        data = self.raw.read(-1 if size is None else size)
        if self.on_read is not None and data:
            self.on_read(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()
