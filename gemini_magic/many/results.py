"""Many prompts at once, the results: which answers are kept, what is still to ask, what a run did.

Each answer carries a fingerprint of its request; a Batch API placeholder also
names its job. ``plan`` keeps the finished earlier answers whose prompt did not
change; ``Counts`` and ``Outcome`` are what a run did (read by the progress bar
and the summary).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, Optional

from ..answer import build_response
from ..prompt import pandas_kind
from ..response import PENDING, GeminiResponse
from .items import Items, Template, fingerprint

KEY_ATTRIBUTE = "_gemini_prompt_key"  # on each GeminiResponse: a hash of what was asked
JOB_ATTRIBUTE = "batch_job"  # on a placeholder: the Batch API job that will answer it


def is_finished(response: Any) -> bool:
    """A kept answer: a GeminiResponse that neither failed nor waits for anything."""
    return (
        isinstance(response, GeminiResponse)
        and response.error is None
        and not response.interrupted
        and response.finish_reason not in ("ERROR", "INTERRUPTED", PENDING)
    )


def previous_results(previous: Any, items: Items) -> Optional[list]:
    """An earlier aligned result for the same input, as a list, else None."""
    if previous is None:
        return None
    if pandas_kind(previous) == "Series":
        if len(previous) != items.n or (items.index is not None and not previous.index.equals(items.index)):
            return None
        values = previous.tolist()
    elif isinstance(previous, list) and len(previous) == items.n:
        values = previous
    else:
        return None
    if not all(value is None or isinstance(value, GeminiResponse) for value in values):
        return None
    return list(values)


def failed_response(model: str, error: str, elapsed: float = 0.0) -> GeminiResponse:
    return build_response(model=model, elapsed=elapsed, error=error)


def with_key(response: GeminiResponse, key: Optional[str]) -> GeminiResponse:
    if key is not None:
        setattr(response, KEY_ATTRIBUTE, key)
    return response


def pending_response(model: str, job: str, key: Optional[str]) -> GeminiResponse:
    response = GeminiResponse("", model=model, finish_reason=PENDING)
    setattr(response, JOB_ATTRIBUTE, job)
    return with_key(response, key)


def plan(items: Items, template: Template, previous: Optional[list]) -> tuple[list, Sequence[int]]:
    """``(results, todo)``: finished earlier answers kept in place, indices still to ask."""
    results: list = [None] * items.n
    if not previous:
        return results, range(items.n)
    todo = []
    for i, earlier in enumerate(previous):
        if is_finished(earlier) or (isinstance(earlier, GeminiResponse) and earlier.finish_reason == PENDING):
            key = getattr(earlier, KEY_ATTRIBUTE, None)
            try:
                same = key is None or key == fingerprint(template.request(items, i))
            except ValueError:  # the prompt cannot be built any more: ask again, and fail there
                same = False
            if same and earlier.finish_reason != PENDING:
                results[i] = earlier
                continue
            if same:
                results[i] = earlier  # still waiting for its batch job
        todo.append(i)
    return results, todo


@dataclasses.dataclass
class Counts:
    """What a run has done so far (updated by the engine, read by the progress bar)."""

    total: int = 0
    done: int = 0
    failed: int = 0
    reused: int = 0
    replayed: int = 0  # answered from the record file: nothing sent
    in_flight: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0  # thinking included
    total_tokens: int = 0
    cost: float = 0.0  # dollars, of what was sent (replayed answers cost nothing)
    unpriced: int = 0  # answers whose model has no price
    started: float = dataclasses.field(default_factory=time.perf_counter)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.reused

    def add(self, response: GeminiResponse) -> None:
        usage = response.usage
        self.prompt_tokens += usage.prompt_tokens
        self.response_tokens += usage.response_tokens + usage.thinking_tokens
        self.total_tokens += usage.total_tokens
        if usage.total_tokens:
            cost = response.cost
            if cost is None:
                self.unpriced += 1
            else:
                self.cost += cost
        if is_finished(response):
            self.done += 1
        else:
            self.failed += 1

    def postfix(self) -> str:
        text = f"✓ {self.done:,}"
        if self.failed:
            text += f" ✗ {self.failed:,}"
        if self.reused:
            text += f" ↺ {self.reused:,}"
        if self.replayed:
            text += f" ⏵ {self.replayed:,} replayed"
        text += f" · {_compact(self.total_tokens)} tokens"
        if self.retries:
            text += f" · {self.retries} retries"
        return text


def _compact(number: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= size:
            return f"{number / size:.1f}{suffix}"
    return str(number)


@dataclasses.dataclass
class Outcome:
    results: Optional[list]  # None: nothing to store (an interrupted collect)
    counts: Counts
    elapsed: float
    interrupted: bool = False
    fatal: Optional[str] = None
    job: Optional[str] = None  # a Batch API job still running (left, not collected)
    job_state: Optional[str] = None
