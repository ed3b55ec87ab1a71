"""The record file: one SQLite file (standard library) of complete answers, keyed by their request.

A row holds the request's summary and the answer (text, thoughts, sources,
usage, model, finish reason), each as zlib-compressed JSON, and when it was
recorded and last replayed. Never the API key, never the endpoint. WAL mode: a
notebook, its ``--each`` workers and ``python -m gemini_magic.replay`` can use
one file at once.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import RecordFileError
from .key import dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    used_at TEXT NOT NULL,
    model TEXT NOT NULL,
    chars INTEGER NOT NULL,
    request BLOB NOT NULL,
    answer BLOB NOT NULL
)
"""


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pack(data) -> bytes:
    return zlib.compress(dumps(data).encode("ascii"), 9)


def _unpack(blob: bytes):
    return json.loads(zlib.decompress(blob).decode("ascii"))


@dataclass
class Record:
    """One recorded answer: its key, request summary, answer fields and dates (UTC, ISO 8601)."""

    key: str
    recorded_at: str
    used_at: str
    request: dict
    answer: dict


def answer_fields(response) -> dict:
    """What a GeminiResponse keeps, as plain JSON."""
    return {
        "text": response.text,
        "thoughts": response.thoughts,
        "citations": [list(c) for c in response.citations],
        "search_queries": list(response.search_queries),
        "usage": vars(response.usage),
        "model": response.model,
        "finish_reason": response.finish_reason,
        "elapsed": round(response.elapsed, 3),
        **_parts_fields(response),
    }


def _parts_fields(response) -> dict:
    """Images, code runs and pages read (only when the answer has them: older records stay as they were)."""
    from ..answer_parts import AnswerImage, CodeRun

    fields: dict = {}
    inserts = []
    for offset, part in response.inserts:
        if isinstance(part, AnswerImage):
            inserts.append([offset, {"image": part.base64(), "mime_type": part.mime_type}])
        elif isinstance(part, CodeRun):
            inserts.append([offset, {"code": part.code, "language": part.language}])
        else:
            inserts.append([offset, {"outcome": part.outcome, "output": part.output}])
    if inserts:
        fields["inserts"] = inserts
    if response.url_context:
        fields["url_context"] = [list(page) for page in response.url_context]
    return fields


def parts_of(answer: dict) -> list | None:
    """A recorded answer's text and parts in order (None when it has only text)."""
    import base64

    from ..answer_parts import AnswerImage, CodeResult, CodeRun

    inserts = answer.get("inserts")
    if not inserts:
        return None
    text, pieces, position = answer["text"], [], 0
    for offset, fields in inserts:
        if offset > position:
            pieces.append(text[position:offset])
            position = offset
        if "image" in fields:
            pieces.append(AnswerImage(base64.b64decode(fields["image"]), fields["mime_type"]))
        elif "code" in fields:
            pieces.append(CodeRun(fields["code"], fields["language"]))
        else:
            pieces.append(CodeResult(fields["outcome"], fields["output"]))
    if position < len(text):
        pieces.append(text[position:])
    return pieces


class Store:
    """One record file. Safe to share between threads; opened once per path (:func:`open_store`)."""

    def __init__(self, path: str):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")  # writers never wait for readers; no fsync a record
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            self._db.execute("SELECT key, recorded_at, used_at, model, chars, request, answer FROM answers LIMIT 0")
        except sqlite3.DatabaseError as error:
            raise RecordFileError(f"{path}: not a gemini_magic record file ({error})") from None

    def get(self, key: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, recorded_at, used_at, request, answer FROM answers WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                try:
                    self._db.execute("UPDATE answers SET used_at = ? WHERE key = ?", (now(), key))
                except sqlite3.OperationalError:  # a read-only file replays all the same
                    pass
        return _record(row) if row is not None else None

    def contains(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM answers WHERE key = ?", (key,)).fetchone() is not None

    def put(self, key: str, request_summary: dict, response) -> None:
        """Keep a complete answer (replacing any earlier one for the same request)."""
        if not response.complete:
            raise ValueError("only complete answers are recorded")
        stamp = now()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    stamp,
                    stamp,
                    response.model,
                    len(response),
                    _pack(request_summary),
                    _pack(answer_fields(response)),
                ),
            )

    def records(self) -> Iterator[Record]:
        """Every record, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, recorded_at, used_at, request, answer FROM answers ORDER BY recorded_at DESC, key"
            ).fetchall()
        return (_record(row) for row in rows)

    def requests(self, limit: int = 10_000) -> list[dict]:
        """The request summaries of the newest ``limit`` records (to find the nearest one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT request FROM answers ORDER BY recorded_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_unpack(row[0]) for row in rows]

    def find(self, prefix: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, recorded_at, used_at, request, answer FROM answers WHERE key LIKE ? ORDER BY key",
                (prefix.lower() + "%",),
            ).fetchall()
        return [_record(row) for row in rows]

    def delete(self, keys: list[str]) -> int:
        with self._lock:
            self._db.executemany("DELETE FROM answers WHERE key = ?", [(k,) for k in keys])
        return len(keys)

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def checkpoint(self) -> None:
        """Move what was written into the file itself, so it can be copied or committed as it is."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError:
                pass

    def compact(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _record(row) -> Record:
    key, recorded_at, used_at, request, answer = row
    return Record(key, recorded_at, used_at, _unpack(request), _unpack(answer))


_stores: dict = {}
_stores_lock = threading.Lock()


def open_store(path: str) -> Store:
    """The Store for ``path``, opened on first use and reused."""
    path = os.path.abspath(os.path.expanduser(path))
    with _stores_lock:
        store = _stores.get(path)
        if store is None or not os.path.exists(path):
            store = _stores[path] = Store(path)
        return store


def close_stores() -> None:
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        try:
            store.close()
        except sqlite3.Error:
            pass
