"""The cells that ask for no answer: ``--count``, ``--dry-run`` and ``--reset`` (alone on the line).

Each is one function the magic dispatches to; what it returns is the cell's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import chat, command
from ..errors import Mistake

if TYPE_CHECKING:
    from .plan import CellRequest


def check(options) -> None:
    """Refuse modes that do not go together, before anything is built."""
    if options.count and (options.each is not None or options.batch or options.dry_run):
        raise Mistake("--count counts one prompt; for --each or --batch use --dry-run, which counts every prompt")


def reset(shell, cmd) -> bool:
    """``--reset``: forget the conversation. True if that is all the cell asks (nothing to send)."""
    forgotten = chat.current(shell.user_ns).reset()
    if not command.visible(cmd.prompt) and not cmd.options.image and not cmd.options.file:
        print(f"Conversation reset: {forgotten} turn{'s' if forgotten != 1 else ''} forgotten.")
        return True
    return False


def count(ready: CellRequest) -> Any:
    """``--count``: the prompt's tokens by kind of part, shown as the cell's result (_gemini keeps the last answer)."""
    from ..client import count_prompt

    ready.request.connection.check()
    return count_prompt(ready.request)


def dry_run(shell, ready: CellRequest, replay) -> Any:
    """``--dry-run``: the request, its tokens and its estimated cost; nothing is sent."""
    from ..dryrun import dry_run as describe
    from ..dryrun import show

    recorded = replay is not None and replay.has(ready.request)
    return show(shell, describe(ready.settings, [ready.request], recorded=int(recorded)))
