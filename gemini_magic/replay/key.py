"""The recording key: a stable hash of everything that shapes an answer, and a summary to compare requests by.

The key is sha256 over a canonical JSON form of the request: the model, every
generation option, the system instruction, the conversation so far and every
part's bytes (images by their sha256). Floats are written with ``float.hex()``
and JSON keys sorted, so the same request gives the same key in any process and
on any Python version. Where the request goes (the connection, the key, the
endpoint) is never part of it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

VERSION = 1  # bump when the canonical form changes: old records then simply miss

# Request fields that shape the answer, besides the contents; in the order differences are reported.
OPTIONS = (
    "temperature",
    "max_tokens",
    "response_mime_type",
    "response_schema",
    "thinking_budget",
    "include_thoughts",
    "search",
)


def canonical(value: Any) -> Any:
    """``value`` as plain JSON whose text is the same everywhere (floats exact, bytes hashed)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"sha256": hashlib.sha256(value).hexdigest(), "bytes": len(value)}
    if hasattr(value, "mime_type") and isinstance(getattr(value, "data", None), bytes):  # a prompt.Blob
        return {
            "mime_type": value.mime_type,
            "sha256": hashlib.sha256(value.data).hexdigest(),
            "bytes": len(value.data),
        }
    if hasattr(value, "sha256") and hasattr(value, "size"):  # a prompt.LocalFile: the same key as its bytes
        return {"mime_type": value.mime_type, "sha256": value.sha256, "bytes": value.size}
    if hasattr(value, "uri"):  # a prompt.FileData
        return {"mime_type": value.mime_type, "uri": value.uri}
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def _part(part: Any) -> Any:
    return {"text": part} if isinstance(part, str) else {"inline": canonical(part)}


# Tools that shape the answer; in the summary only when on, so older records keep their keys.
TOOLS = ("code_execution", "urls")


def summary(request) -> dict:
    """What shapes the answer, as canonical JSON-ready data (the key hashes exactly this)."""
    options = {name: canonical(getattr(request, name)) for name in OPTIONS}
    options.update({name: canonical(getattr(request, name)) for name in TOOLS if getattr(request, name, None)})
    return {
        "v": VERSION,
        "model": request.model,
        "system": request.system,
        "options": options,
        "history": [[role, [_part(p) for p in parts]] for role, parts in request.history],
        "parts": [_part(p) for p in request.parts or (request.prompt,)],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def recording_key(request) -> str:
    """The hex sha256 naming this request's recorded answer."""
    return hashlib.sha256(dumps(summary(request)).encode("ascii")).hexdigest()
