"""The notebook's conversation with Gemini: one turn per cell, visible and savable.

Every answered ``%%gemini`` cell is recorded as a turn (what was sent, what came
back). With ``--chat`` (or ``%config GeminiMagics.chat = True``) a cell sends the
turns before its own, so a follow-up question can refer to earlier answers.
Running a cell again replaces its own turn, in place, instead of adding a
duplicate: cells are told apart by the front end's cell id (JupyterLab and
Notebook send one with each execution). Without a cell id (terminal IPython,
nbclient) every execution is a new turn.

The conversation is the variable ``_gemini_chat``::

    _gemini_chat                  # shows the turns
    _gemini_chat.turns[-1].answer
    _gemini_chat.save("chat.md")  # or .json, which Conversation.load reads back
    _gemini_chat.reset()          # same as %gemini --reset

Pure: no IPython, no SDK.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Optional

from .prompt import Blob, FileData, LocalFile

__all__ = ["Conversation", "Turn", "current", "cell_id", "NAME"]

NAME = "_gemini_chat"  # where the conversation lives in the user's namespace
FORMAT = "gemini_magic.conversation/1"


@dataclass
class Turn:
    """One question and its answer."""

    prompt: list  # the parts sent: str, prompt.Blob, LocalFile, FileData
    answer: str
    cell: Optional[str] = None  # the front end's cell id (plus "#n" for the n-th %gemini in a cell)
    model: str = ""

    @property
    def text(self) -> str:
        """The prompt as text, an image shown as ``[image/png image]``, a file as ``[application/pdf file]``."""
        return "".join(part if isinstance(part, str) else _placeholder(part) for part in self.prompt)

    @property
    def images(self) -> list:
        return [part for part in self.prompt if isinstance(part, Blob) and part.is_image]

    @property
    def files(self) -> list:
        """The parts that are files (documents, audio, video, and files sent by URI)."""
        return [
            part for part in self.prompt if not isinstance(part, str) and not (isinstance(part, Blob) and part.is_image)
        ]


def _placeholder(part) -> str:
    if isinstance(part, Blob) and part.is_image:
        return f"[{part.mime_type} image]"
    return f"[{part.mime_type or 'video'} file {part.name}]" if part.name else f"[{part.mime_type} file]"


class Conversation:
    """The turns of this notebook's conversation, oldest first, and its system instruction."""

    def __init__(self, turns: Optional[list] = None, system: Optional[str] = None):
        self.turns: list[Turn] = list(turns or ())
        self.system = system
        self._execution: Any = None  # (cell id, execution count) of the last key handed out
        self._in_execution = 0

    # -- the conversation --------------------------------------------------
    def before(self, cell: Optional[str]) -> list:
        """The turns a cell sees: those before its own turn, or all of them for a new cell."""
        for index, turn in enumerate(self.turns):
            if cell is not None and turn.cell == cell:
                return self.turns[:index]
        return list(self.turns)

    def record(self, turn: Turn) -> None:
        """Add a turn; a cell that already has one gets it replaced, in place."""
        for index, old in enumerate(self.turns):
            if turn.cell is not None and old.cell == turn.cell:
                self.turns[index] = turn
                return
        self.turns.append(turn)

    def reset(self) -> int:
        """Forget every turn and the system instruction; return how many turns there were."""
        count = len(self.turns)
        self.turns.clear()
        self.system = None
        return count

    def key(self, cell: Optional[str], execution: Any) -> Optional[str]:
        """The turn key for a %gemini call in ``cell``: the cell id, then "id#2", "id#3"
        for further calls in the same execution of that cell."""
        if cell is None:
            return None
        if self._execution == (cell, execution):
            self._in_execution += 1
        else:
            self._execution, self._in_execution = (cell, execution), 1
        return cell if self._in_execution == 1 else f"{cell}#{self._in_execution}"

    @staticmethod
    def history(turns: list) -> tuple:
        """``turns`` as request history: (role, parts) pairs, user then model."""
        pairs: list = []
        for turn in turns:
            pairs.append(("user", tuple(turn.prompt)))
            pairs.append(("model", (turn.answer,)))
        return tuple(pairs)

    # -- looking at it -----------------------------------------------------
    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[Turn]:
        return iter(self.turns)

    def __getitem__(self, index):
        return self.turns[index]

    def __repr__(self) -> str:
        count = len(self.turns)
        lines = [
            f"Conversation: {count} turn{'s' if count != 1 else ''}"
            + (f" (system: {_preview(self.system, 60)})" if self.system else "")
        ]
        for number, turn in enumerate(self.turns, 1):
            images, files = len(turn.images), len(turn.files)
            counted = [f"{n} {noun}{'s' if n != 1 else ''}" for n, noun in ((images, "image"), (files, "file")) if n]
            extra = f" (+{', '.join(counted)})" if counted else ""
            lines.append(
                f"[{number}] you: {_preview(''.join(p for p in turn.prompt if isinstance(p, str)), 70)}{extra}"
            )
            lines.append(f"    gemini: {_preview(turn.answer, 70)}")
        lines.append('.turns for all of it; .save("chat.md") or .save("chat.json"); .reset() starts over.')
        return "\n".join(lines)

    # -- saving ------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain data (JSON-ready); images are base64, as in Gemini's REST API."""
        return {
            "format": FORMAT,
            "system": self.system,
            "turns": [
                {"cell": t.cell, "model": t.model, "prompt": [_part_dict(p) for p in t.prompt], "answer": t.answer}
                for t in self.turns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a saved gemini_magic conversation (expected format {FORMAT!r})")
        turns = [
            Turn([_part_from(p) for p in t["prompt"]], t["answer"], t.get("cell"), t.get("model", ""))
            for t in data.get("turns", ())
        ]
        return cls(turns, data.get("system"))

    def to_json(self, indent: int = 1) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_markdown(self) -> str:
        """A readable transcript; images are noted, not embedded."""
        out = ["# Gemini conversation\n"]
        if self.system:
            out.append(f"**System:** {self.system}\n")
        for number, turn in enumerate(self.turns, 1):
            model = f" ({turn.model})" if turn.model else ""
            out.append(
                f"## {number}. You\n\n{turn.text.strip()}\n\n## {number}. Gemini{model}\n\n{turn.answer.strip()}\n"
            )
        return "\n".join(out)

    def save(self, path) -> str:
        """Write to ``path``: JSON for ``.json`` (loadable), else Markdown. Returns the path."""
        path = os.fspath(path)
        text = self.to_json() if path.lower().endswith(".json") else self.to_markdown()
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        return path

    @classmethod
    def load(cls, path) -> Conversation:
        """Read a conversation saved with ``.save("name.json")``."""
        with open(os.fspath(path), encoding="utf-8") as file:
            return cls.from_dict(json.load(file))


def current(namespace: MutableMapping[str, Any]) -> Conversation:
    """The conversation in ``namespace`` (``_gemini_chat``), made if missing or replaced."""
    conversation = namespace.get(NAME)
    if not isinstance(conversation, Conversation):
        conversation = namespace[NAME] = Conversation()
    return conversation


def cell_id(parent: Any) -> Optional[str]:
    """The front end's id of the running cell, from the kernel's parent message, if any."""
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    cell = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell if isinstance(cell, str) and cell else None


def _preview(text: str, size: int) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= size else flat[: size - 1] + "…")


def _part_dict(part) -> dict:
    if isinstance(part, str):
        return {"text": part}
    if isinstance(part, FileData):
        return {"fileData": {"fileUri": part.uri, "mimeType": part.mime_type, "displayName": part.name}}
    if isinstance(part, LocalFile):  # too large to keep in the file: where it was, and its hash
        return {
            "localFile": {
                "path": part.path,
                "mimeType": part.mime_type,
                "sizeBytes": part.size,
                "sha256": part.sha256,
                "displayName": part.name,
            }
        }
    inline = {"mimeType": part.mime_type, "data": base64.b64encode(part.data).decode("ascii")}
    if part.name:
        inline["displayName"] = part.name
    return {"inlineData": inline}


def _part_from(data: dict):
    if "text" in data:
        return data["text"]
    if "fileData" in data:
        file = data["fileData"]
        return FileData(file["fileUri"], file.get("mimeType"), file.get("displayName") or "")
    if "localFile" in data:
        local = data["localFile"]
        return LocalFile(
            local["path"], local["mimeType"], local["sizeBytes"], local["sha256"], local.get("displayName") or ""
        )
    inline = data["inlineData"]
    return Blob(inline["mimeType"], base64.b64decode(inline["data"]), inline.get("displayName") or "")
