"""What the offline server adds to an answer besides text: images, code it "ran", pages it "read".

- ``[[offline image=N]]``, or a model whose name has ``image`` in it (e.g.
  ``gemini-2.5-flash-image``, at least one): N small generated PNGs as
  ``inlineData`` parts, spread through the answer;
- a ``codeExecution`` tool: an ``executableCode`` part and its
  ``codeExecutionResult`` a third of the way in (``[[offline outcome=FAILED]]``
  makes the run fail);
- a ``urlContext`` tool: ``urlContextMetadata`` on the last event with every
  http(s) address in the prompt: status ERROR for one with ``fail`` in it,
  PAYWALL for ``paywall``, UNSAFE for ``unsafe``, else SUCCESS.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from typing import Any

CODE = "values = [3, 1, 4, 1, 5, 9, 2, 6]\nprint(sum(values) / len(values))\n"
OUTPUT = "3.875\n"
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def demo_png(index: int, size: int = 96) -> bytes:
    """A small PNG (``size`` × ``size``, a colour per ``index``): real bytes any viewer shows."""
    red, green, blue = (60 * index) % 256, (120 + 50 * index) % 256, (200 - 30 * index) % 256
    row = b"\x00" + bytes((red, green, blue)) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _tool(body: dict, *names: str) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and any(isinstance(t, dict) and any(n in t for n in names) for t in tools)


def add_media(events: list, body: dict, model: str, d: dict, prompt: str, event) -> list:
    """``events`` (text events, in order) with images and code parts put in; ``event(parts)`` makes one."""
    images = d.get("image", 0)
    if "image" in model and not images:
        images = 1
    extra: list[tuple[int, dict]] = []
    n = len(events)
    # Between paragraphs: after an event whose text ends a line.
    ends = [i + 1 for i, e in enumerate(events) if _text(e).endswith("\n")]
    if len(ends) <= images + 1:  # few paragraphs (fixed-size chunks): anywhere
        ends = list(range(1, n + 1)) or [0]

    for i in range(images):  # spread over the paragraph ends
        data = base64.b64encode(demo_png(i + 1)).decode("ascii")
        at = ends[min(len(ends) - 1, (i + 1) * len(ends) // (images + 1))]
        extra.append((at, {"inlineData": {"mimeType": "image/png", "data": data}}))
    if _tool(body, "codeExecution", "code_execution"):
        at = ends[len(ends) // 3]
        outcome = "OUTCOME_" + d.get("outcome", "OK")
        output = OUTPUT if outcome == "OUTCOME_OK" else "Traceback (most recent call last):\nZeroDivisionError\n"
        extra.append((at, {"executableCode": {"language": "PYTHON", "code": CODE}}))
        extra.append((at, {"codeExecutionResult": {"outcome": outcome, "output": output}}))
    out = list(events)
    extra.sort(key=lambda item: item[0])
    for at, part in reversed(extra):  # later positions first: earlier ones stay where they are
        out.insert(at, event([part]))
    return out


def _text(event: dict) -> str:
    parts = event["candidates"][0].get("content", {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts if not p.get("thought"))


def url_context(body: dict, prompt_text: str) -> dict | None:
    """``urlContextMetadata`` for the addresses in the prompt, when the request turns the tool on."""
    if not _tool(body, "urlContext", "url_context"):
        return None
    pages = []
    for url in dict.fromkeys(_URL.findall(prompt_text)):
        status = "SUCCESS"
        for word, failure in (("fail", "ERROR"), ("paywall", "PAYWALL"), ("unsafe", "UNSAFE")):
            if word in url:
                status = failure
        pages.append({"retrievedUrl": url, "urlRetrievalStatus": f"URL_RETRIEVAL_STATUS_{status}"})
    return {"urlMetadata": pages}


def prompt_text(body: dict) -> str:
    """Every text of the last user turn (the ``--url`` pages come as a part of their own)."""
    contents = body.get("contents")
    last: Any = contents[-1] if isinstance(contents, list) and contents else {}
    parts = last.get("parts") if isinstance(last, dict) else None
    return "\n".join(p["text"] for p in parts or () if isinstance(p, dict) and isinstance(p.get("text"), str))
