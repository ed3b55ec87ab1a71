"""What stays once an answer is made: its variables, its chat turn, its replay record, and the
one line a user sees when it did not complete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .. import formats

if TYPE_CHECKING:
    from ..client import Request
    from ..response import GeminiResponse
    from .plan import CellPlan


def names(out: Optional[str]) -> list[str]:
    """The variables an answer is kept in: ``_gemini``, and ``--out NAME`` if given."""
    return ["_gemini"] + ([out] if out else [])


def record(replay, request: Request, response: GeminiResponse) -> None:
    """Record a complete answer that was asked for (a replayed one is already recorded)."""
    if replay is not None and replay.keep(request, response):
        replay.done()


def keep(shell, response: GeminiResponse, request: Request, kept_in: list[str], plan: CellPlan) -> Optional[str]:
    """Store the answer, record the turn, hand over code; a problem to report, or None."""
    from ..chat import Turn

    problem = formats.parse_failure(response, plan.format)
    parsed = plan.format.parse is not None and response.complete and problem is None
    shell.user_ns["_gemini"] = response
    for name in kept_in[1:]:
        shell.user_ns[name] = response.parsed if parsed else response
    if response.text:
        plan.conversation.record(Turn(list(request.parts), response.text, plan.turn, response.model))
    if plan.format.name == "code":
        code = response.code
        if code is not None:
            shell.set_next_input(code, replace=False)
        print(formats.code_note(code, getattr(shell, "kernel", None) is not None, kept_in))
    if problem:
        return f"{problem}; the answer is kept in {' and '.join(kept_in)}."
    return None


def incomplete_message(response: GeminiResponse, kept_in: list[str]) -> Optional[str]:
    """The one line a user sees when the answer did not complete, naming where it is kept."""
    kept = " and ".join(kept_in)
    size = f"{len(response):,} characters"
    if response.interrupted:
        return f"Interrupted: the partial answer ({size}) is kept in {kept}."
    if response.error:
        return f"{response.error} (Partial answer, {size}, kept in {kept}.)" if len(response) else response.error
    return None


def report(response: GeminiResponse, kept_in: list[str], problem: Optional[str]) -> None:
    """Fail the cell in one line if the answer is incomplete or could not be kept as asked."""
    from ..errors import AnswerIncomplete

    problem = incomplete_message(response, kept_in) or problem
    if not problem:
        return
    if response.interrupted:
        from ..client import forget_clients

        forget_clients()  # its connection was cut mid-read: start clean
    raise AnswerIncomplete(problem)
