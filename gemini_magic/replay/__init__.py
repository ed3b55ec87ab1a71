"""Recorded answers that replay: a record file of complete answers, keyed by everything that shapes them.

    %config GeminiMagics.replay = "auto"   # record every complete answer; replay what is recorded
    %config GeminiMagics.replay = "only"   # the classroom: never call Gemini, no key needed

- ``key``: the recording key (a stable sha256) and the request summary it hashes;
- ``store``: the SQLite record file;
- ``diff``: how a request differs from the nearest record;
- ``play``: modes, the file's place, a record played back as deltas;
- ``__main__``: ``python -m gemini_magic.replay list|show|prune FILE``.
"""

from .key import recording_key, summary
from .play import AUTO, OFF, ONLY, REFRESH, Replay, cell_mode, deltas, record_path, replayed
from .store import Record, Store, close_stores, open_store

__all__ = [
    "AUTO",
    "OFF",
    "ONLY",
    "REFRESH",
    "Record",
    "Replay",
    "Store",
    "cell_mode",
    "close_stores",
    "deltas",
    "open_store",
    "record_path",
    "recording_key",
    "replayed",
    "summary",
]
