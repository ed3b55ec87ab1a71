"""Replay in a run: which mode a cell is in, where its record file is, and a record played back as deltas.

A replayed answer goes through the same :func:`cell.run.run`, view and
:class:`~gemini_magic.answer.AnswerBuilder` as a live one: the record is fed in
as deltas (at ``GeminiMagics.replay_pace`` characters a second, or at once).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace

from ..errors import NotRecorded
from .diff import nearest_difference
from .key import recording_key, summary
from .store import Record, Store, open_store

OFF, AUTO, ONLY, REFRESH = "off", "auto", "only", "refresh"
DEFAULT_FILE = "gemini_replay.sqlite"
SUFFIX = ".gemini.sqlite"


def cell_mode(setting: str, *, replay: bool = False, no_replay: bool = False, refresh: bool = False) -> str:
    """The mode for one cell: ``--refresh`` asks again and records; ``--no-replay`` and
    ``--replay`` override ``GeminiMagics.replay`` for the cell."""
    if refresh:
        return REFRESH
    if no_replay:
        return OFF
    if replay and setting == OFF:
        return AUTO
    return setting


def record_path(setting: str, namespace: dict | None = None) -> str:
    """``GeminiMagics.replay_file``, else ``<notebook>.gemini.sqlite`` beside the notebook
    (the kernel's working directory), else ``gemini_replay.sqlite`` there."""
    if setting:
        return os.path.expanduser(setting)
    session = (namespace or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME") or ""
    name = os.path.basename(str(session))
    if name.endswith(".ipynb"):
        return os.path.abspath(name[: -len(".ipynb")] + SUFFIX)
    return os.path.abspath(DEFAULT_FILE)


class Replay:
    """One run's view of a record file: look a request up, keep a complete answer."""

    def __init__(self, store: Store, mode: str):
        self.store = store
        self.mode = mode
        self.warned = False

    @classmethod
    def for_settings(cls, settings, mode: str, namespace: dict | None = None) -> Replay | None:
        if mode == OFF:
            return None
        return cls(open_store(record_path(settings.replay_file, namespace)), mode)

    @property
    def sends(self) -> bool:
        """Whether a request missing from the file may be sent to Gemini."""
        return self.mode != ONLY

    def find(self, request) -> Record | None:
        """The recorded answer for ``request`` (None under ``--refresh``, or when missing
        and Gemini may be asked); raises :class:`NotRecorded` in ``only`` mode."""
        if self.mode == REFRESH:
            return None
        record = self.store.get(recording_key(request))
        if record is None and self.mode == ONLY:
            raise NotRecorded(self.miss_message(request))
        return record

    def has(self, request) -> bool:
        """Whether ``request`` would be replayed (``--dry-run`` says so)."""
        return self.mode != REFRESH and self.store.contains(recording_key(request))

    def miss_message(self, request) -> str:
        where = os.path.basename(self.store.path)
        nearest = nearest_difference(summary(request), self.store.requests())
        if nearest is None:
            return f'replay = "only": nothing is recorded in {where} yet, and nothing is sent to Gemini'
        return (
            f'replay = "only": this request is not recorded in {where}; against the nearest record, {nearest}. '
            "Nothing was sent (--refresh, with a key, records it)"
        )

    def keep(self, request, response) -> bool:
        """Record ``response`` if it is complete; whether it was. A file that cannot be written
        says so on stderr, once a run; the answer itself is kept as usual."""
        if not response.complete or getattr(response, "replayed_at", None):
            return False
        try:
            self.store.put(recording_key(request), summary(request), response)
        except sqlite3.Error as error:
            if not self.warned:
                self.warned = True
                print(f"gemini_magic: could not record the answer in {self.store.path}: {error}", file=sys.stderr)
            return False
        return True

    def done(self) -> None:
        """The run is over: the file on disk holds every record (ready to commit)."""
        self.store.checkpoint()

    def item(self, request):
        """For many prompts: the replayed GeminiResponse, a failed one (``only`` and missing), or None."""
        from ..answer import build_response

        try:
            record = self.find(request)
        except NotRecorded as error:
            return build_response(model=request.model, error=str(error))
        if record is None:
            return None
        return replayed(build_response(deltas(record), model=request.model), record)


def deltas(record: Record, pace: float = 0.0) -> Iterator:
    """The recorded answer as deltas: its text in pieces (``pace`` characters a second;
    0: at once), then how it ended, its usage, sources and model."""
    from ..client import Delta
    from .store import parts_of

    answer = record.answer
    text = answer["text"]
    if answer.get("thoughts"):
        yield Delta(thought=answer["thoughts"])
    parts = parts_of(answer)
    if parts is not None:  # images and code: at once, in their places
        yield Delta(text=text, parts=parts)
        text = ""
    step = max(1, int(pace / 25)) if pace and pace > 0 else 0  # 25 pieces a second
    if step and len(text) > step:
        pieces = [text[i : i + step] for i in range(0, len(text), step)]
        for piece in pieces[:-1]:
            yield Delta(text=piece)
            time.sleep(step / pace)
        text = pieces[-1]
    usage = answer.get("usage") or {}
    yield Delta(
        text=text,
        finish_reason=answer.get("finish_reason") or "STOP",
        model_version=answer.get("model"),
        usage=SimpleNamespace(
            prompt_token_count=usage.get("prompt_tokens", 0),
            candidates_token_count=usage.get("response_tokens", 0),
            thoughts_token_count=usage.get("thinking_tokens", 0),
            total_token_count=usage.get("total_tokens", 0),
        ),
        citations=[tuple(c) for c in answer.get("citations") or ()] or None,
        search_queries=answer.get("search_queries") or None,
        url_context=[tuple(page) for page in answer.get("url_context") or ()] or None,
    )


def replayed(response, record: Record):
    """Mark ``response`` as played back from ``record``: it cost nothing now."""
    response.replayed_at = record.recorded_at
    response.cost = 0.0
    return response
