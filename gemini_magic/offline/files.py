"""The offline server's Files API, as ``client.files`` speaks it, and token counts by modality.

Uploads follow Google's resumable protocol:

1. ``POST /upload/{version}/files`` with ``X-Goog-Upload-Protocol: resumable``,
   ``X-Goog-Upload-Command: start``, ``X-Goog-Upload-Header-Content-Length`` / ``-Type`` and a
   JSON body ``{"file": {"displayName", "mimeType", "sizeBytes"}}``: answered with an
   ``X-Goog-Upload-URL`` on this server (loopback; no key in it) and status ``active``;
2. ``POST`` that URL with ``X-Goog-Upload-Command: upload`` (``upload, finalize`` for the last
   piece) and ``X-Goog-Upload-Offset``: each piece is checked against the offset; the last is
   answered with ``X-Goog-Upload-Status: final`` and ``{"file": File}``.

Then ``GET /{version}/files/{id}`` reads a file, ``GET /{version}/files`` lists them and
``DELETE /{version}/files/{id}`` deletes one. A video is ``PROCESSING`` for
``server.processing_seconds`` after its upload, then ``ACTIVE`` (``FAILED`` with
``server.processing_fails``); every file expires
``server.file_seconds`` after its upload (48 hours, as at Google) and is then gone.
A generate or countTokens request whose ``fileData`` names a file that is missing or
expired is answered 403 (Google's "may not exist"); one still processing, 400.
``server.uploads`` lists every finished upload (``clear()`` empties it; files stay).
Only each upload's size and sha256 are kept, never its bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import error_body
from .request import field_of

if TYPE_CHECKING:
    from .routes import Exchange


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_json(server, record: dict) -> dict:
    """A stored file as Google's ``File`` resource, its state as of now."""
    now = time.time()
    state = "PROCESSING" if now < record["ready"] else "FAILED" if record.get("failed") else "ACTIVE"
    shown = {
        "name": record["name"],
        "displayName": record["displayName"],
        "mimeType": record["mimeType"],
        "sizeBytes": str(record["sizeBytes"]),
        "createTime": _stamp(record["created"]),
        "updateTime": _stamp(max(record["created"], min(now, record["ready"]))),
        "expirationTime": _stamp(record["expires"]),
        "sha256Hash": base64.b64encode(bytes.fromhex(record["sha256"])).decode("ascii"),
        "uri": f"{server.url}/v1beta/{record['name']}",
        "state": state,
        "source": "UPLOADED",
    }
    if state == "FAILED":
        shown["error"] = {"code": 400, "message": "The video could not be decoded."}
    if not shown["displayName"]:
        del shown["displayName"]
    return shown


def live_file(server, name: str):
    """The stored file ``files/ID`` if it exists and has not expired (an expired one is dropped)."""
    with server.lock:
        record = server.files.get(name)
        if record is not None and record["expires"] <= time.time():
            del server.files[name]
            record = None
    return record


def route_upload(exchange: Exchange, query: dict, headers: dict, raw: bytes) -> None:
    """``POST /upload/{version}/files``: start a resumable upload, or take one of its pieces."""
    server = exchange.server
    upload_id = query.get("upload_id")
    if upload_id is None:
        return _start(exchange, headers, raw)
    with server.lock:
        session = server.upload_sessions.get(upload_id)
    if session is None:
        return exchange.send_json(404, error_body(404, "No such upload session."))
    command = headers.get("x-goog-upload-command", "")
    offset = int(headers.get("x-goog-upload-offset") or -1)
    if "upload" not in command or offset != session["received"]:
        return exchange.send_json(
            400, error_body(400, f"Upload offset {offset} does not match {session['received']} bytes received.")
        )
    session["digest"].update(raw)
    session["received"] += len(raw)
    if "finalize" not in command:
        return exchange.send_json(200, {}, [("X-Goog-Upload-Status", "active")])
    if session["received"] != session["size"]:
        return exchange.send_json(
            400, error_body(400, f"Received {session['received']} bytes; the upload declared {session['size']}.")
        )
    now = time.time()
    record = {
        "name": session["name"],
        "displayName": session["displayName"],
        "mimeType": session["mimeType"],
        "sizeBytes": session["size"],
        "sha256": session["digest"].hexdigest(),
        "created": now,
        "ready": now + (server.processing_seconds if session["mimeType"].startswith("video/") else 0.0),
        "expires": now + server.file_seconds,
        "failed": server.processing_fails and session["mimeType"].startswith("video/"),
    }
    with server.lock:
        server.upload_sessions.pop(upload_id, None)
        server.files[record["name"]] = record
        server.uploaded.append(dict(record))
    exchange.send_json(200, {"file": file_json(server, record)}, [("X-Goog-Upload-Status", "final")])


def _start(exchange: Exchange, headers: dict, raw: bytes) -> None:
    import json

    server = exchange.server
    if headers.get("x-goog-upload-protocol") != "resumable" or headers.get("x-goog-upload-command") != "start":
        return exchange.send_json(400, error_body(400, "Only resumable uploads are taken here."))
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    file = body.get("file") if isinstance(body, dict) else None
    file = file if isinstance(file, dict) else {}
    mime = headers.get("x-goog-upload-header-content-type") or field_of(file, "mimeType") or ""
    size = headers.get("x-goog-upload-header-content-length") or field_of(file, "sizeBytes")
    if not mime or size is None or not str(size).isdigit():
        return exchange.send_json(400, error_body(400, "An upload needs its MIME type and size."))
    upload_id = uuid.uuid4().hex
    name = file.get("name") or f"files/{uuid.uuid4().hex[:12]}"
    with server.lock:
        server.upload_sessions[upload_id] = {
            "name": name,
            "displayName": field_of(file, "displayName") or "",
            "mimeType": mime,
            "size": int(size),
            "received": 0,
            "digest": hashlib.sha256(),
        }
    version = exchange.h.path.split("/")[2]
    url = f"{server.url}/upload/{version}/files?upload_id={upload_id}&upload_protocol=resumable"
    exchange.send_json(200, {}, [("X-Goog-Upload-URL", url), ("X-Goog-Upload-Status", "active")])


def route_files(exchange: Exchange, method: str, name: str) -> None:
    """``GET files``, ``GET files/ID``, ``DELETE files/ID``."""
    server = exchange.server
    if name == "files":
        if method != "GET":
            return exchange.send_json(404, error_body(404, "Method not found."))
        with server.lock:
            names = list(server.files)
        shown = [file_json(server, r) for r in (live_file(server, n) for n in names) if r is not None]
        return exchange.send_json(200, {"files": shown} if shown else {})
    record = live_file(server, name)
    if record is None:
        return exchange.send_json(403, _missing(name))
    if method == "DELETE":
        with server.lock:
            server.files.pop(name, None)
        return exchange.send_json(200, {})
    if method != "GET":
        return exchange.send_json(404, error_body(404, "Method not found."))
    exchange.send_json(200, file_json(server, record))


def _missing(name: str) -> dict:
    return error_body(
        403, f"You do not have permission to access the File {name.split('/')[-1]} or it may not exist.", None
    )


def _file_name(uri: str) -> str:
    marker = "/files/"
    return "files/" + uri.split(marker, 1)[1].split("?", 1)[0] if marker in uri else ""


def _file_parts(body: dict) -> list:
    request = body.get("generateContentRequest")
    source = request if isinstance(request, dict) else body
    return [
        p.get("fileData") or p.get("file_data")
        for c in source.get("contents") or ()
        if isinstance(c, dict)
        for p in c.get("parts") or ()
        if isinstance(p, dict) and isinstance(p.get("fileData") or p.get("file_data"), dict)
    ]


def file_problem(server, body: dict):
    """``(status, error body)`` when a ``fileData`` part names a file that cannot be used, else None."""
    for file in _file_parts(body):
        uri = str(field_of(file, "fileUri") or "")
        if "youtube.com/" in uri or "youtu.be/" in uri:
            continue
        name = _file_name(uri)
        record = live_file(server, name) if name else None
        if record is None:
            return 403, _missing(name or uri)
        if time.time() < record["ready"] or record.get("failed"):
            return 400, error_body(
                400,
                f"The File {name.split('/')[-1]} is not in an ACTIVE state and usage is not allowed.",
                "FAILED_PRECONDITION",
            )
    return None


# -- countTokens by modality -----------------------------------------------------------


def _modality(mime: str) -> str:
    major = mime.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        return major.upper()
    return "DOCUMENT" if mime == "application/pdf" else "TEXT"


def _tokens(mime: str, size: int, data: bytes = b"") -> int:
    """Rough tokens for a file, in Gemini's proportions: 258 an image or PDF page, about 32 a
    second of audio (at 16 kB/s) and 263 a second of video (at 250 kB/s), text at 4 bytes a token."""
    modality = _modality(mime)
    if modality == "IMAGE":
        return 258
    if modality == "DOCUMENT":
        pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages") if data else 0
        return 258 * max(1, pages)
    if modality == "AUDIO":
        return max(32, math.ceil(size * 32 / 16_000))
    if modality == "VIDEO":
        return max(263, math.ceil(size * 263 / 250_000))
    return max(1, math.ceil(size / 4))


def count_by_modality(server, body: dict) -> dict:
    """The countTokens answer: ``totalTokens`` and ``promptTokensDetails`` by modality."""
    request = body.get("generateContentRequest")
    source = request if isinstance(request, dict) else body
    counts: dict[str, int] = {}

    def add(modality: str, tokens: int) -> None:
        counts[modality] = counts.get(modality, 0) + tokens

    texts = 0
    for content in source.get("contents") or ():
        for part in (content.get("parts") or ()) if isinstance(content, dict) else ():
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                texts += len(part["text"])
            inline: Any = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict):
                mime = str(field_of(inline, "mimeType") or "")
                try:
                    data = base64.urlsafe_b64decode(str(inline.get("data") or "").replace("+", "-").replace("/", "_"))
                except ValueError:
                    data = b""
                add(_modality(mime), _tokens(mime, len(data), data))
            file: Any = part.get("fileData") or part.get("file_data")
            if isinstance(file, dict):
                uri = str(field_of(file, "fileUri") or "")
                record = live_file(server, _file_name(uri)) if _file_name(uri) else None
                if record is not None:
                    add(_modality(record["mimeType"]), _tokens(record["mimeType"], record["sizeBytes"]))
                else:  # a YouTube video: counted as a minute of video
                    add("VIDEO", 263 * 60)
    if texts:
        add("TEXT", math.ceil(texts / 4))
    counts = dict(sorted(counts.items(), key=lambda item: item[0] != "TEXT"))  # text first, as Google lists it
    total = sum(counts.values()) or 1
    details = [{"modality": m, "tokenCount": n} for m, n in counts.items()] or [{"modality": "TEXT", "tokenCount": 1}]
    return {"totalTokens": total, "promptTokensDetails": details}
