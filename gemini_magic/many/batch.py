"""Many prompts at once, the Gemini Batch API: submit one job, wait for it, put its answers in place."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Optional

from ..answer import build_response
from ..errors import GeminiError, ManyError
from ..pricing import usage_cost
from ..response import GeminiResponse
from .items import Items, Template, fingerprint
from .results import (
    JOB_ATTRIBUTE,
    KEY_ATTRIBUTE,
    Counts,
    Outcome,
    failed_response,
    is_finished,
    pending_response,
    with_key,
)

BATCH_INLINE_LIMIT = 20_000_000  # bytes: the Gemini API's cap on an inlined batch


def run_batch(
    items: Items,
    template: Template,
    results: list,
    todo,
    *,
    display_name: str,
    store: Callable[[list], None] = lambda results: None,
    status=None,
    poll: float = 30.0,
) -> Outcome:
    """Collect the jobs earlier placeholders wait for, then submit one job for the rest.

    ``store`` is called with the results as soon as a job is submitted (placeholders
    naming it), so an Interrupt or a closed notebook can collect it later.
    """
    from ..client import submit_batch

    counts = Counts(total=items.n, reused=sum(1 for r in results if is_finished(r)))
    waiting: dict[str, list] = {}
    fresh: list[int] = []
    for i in todo:
        job = getattr(results[i], JOB_ATTRIBUTE, None) if isinstance(results[i], GeminiResponse) else None
        (waiting.setdefault(job, []) if job else fresh).append(i)
    outcome = Outcome(results, counts, 0.0)
    model = template.base.model
    if fresh:
        requests, keys, size = [], {}, 0
        for i in fresh:
            try:
                request = template.request(items, i)
            except Exception as error:  # e.g. PromptError: this item's prompt cannot be built
                results[i] = failed_response(model, f"The prompt could not be built: {error}")
                counts.add(results[i])
                continue
            keys[i] = fingerprint(request)
            kept = template.replay.item(request) if template.replay is not None else None
            if kept is not None:
                results[i] = with_key(template.finish(kept), keys[i])
                counts.replayed += kept.replayed_at is not None
                counts.add(results[i])
                continue
            requests.append((i, request))
            size += sum(len(p) if isinstance(p, str) else len(p.data) * 4 // 3 for p in request.parts) + 200
        if size > BATCH_INLINE_LIMIT:
            raise ManyError(
                f"about {size / 1e6:.0f} MB of prompts: more than the Batch API takes inline "
                f"({BATCH_INLINE_LIMIT / 1e6:.0f} MB). Split the data, or run without --batch"
            )
        if requests:
            job = submit_batch([r for _, r in requests], [i for i, _ in requests], display_name=display_name)
            for i, _ in requests:
                results[i] = pending_response(model, job.name, keys[i])
            waiting[job.name] = [i for i, _ in requests]
            store(results)
    connection = template.base.connection
    for job, indices in waiting.items():
        outcome.job = job
        done = wait_for_job(connection, job, status=status, poll=poll)
        if done is None:  # interrupted: the job goes on at Google; placeholders name it
            outcome.interrupted = True
            break
        outcome.job_state = done.state
        collect(done, items, results, indices, model, finish=template.finish)
        for i in indices:
            counts.add(results[i])
            if template.replay is not None and results[i].complete:
                try:
                    template.replay.keep(template.request(items, i), results[i])
                except ValueError:  # the prompt cannot be built any more: nothing to key it by
                    pass
    outcome.elapsed = time.perf_counter() - counts.started
    return outcome


def wait_for_job(connection, name: str, *, status=None, poll: float = 30.0):
    """Poll a job until it ends; None if interrupted (the job goes on)."""
    from ..client import get_batch

    interval = min(1.0, poll)
    try:
        while True:
            job = get_batch(connection, name)
            if status is not None:
                status.show(job)
            if job.done:
                return job
            time.sleep(interval)
            interval = min(interval * 1.5, poll)
    except KeyboardInterrupt:
        return None


def collect(job, items: Optional[Items], results: list, indices: list, model: str, finish=lambda r: r) -> None:
    """Put a finished job's answers in place (by the index each request was sent with)."""
    if job.answers is None:
        for i in indices:
            results[i] = failed_response(
                model, f"The Gemini batch job {job.name} ended {job.state.removeprefix('JOB_STATE_')}: no answers."
            )
        return
    wanted = set(indices)
    got = set()
    for position, (key, answer) in enumerate(job.answers):
        i = (
            int(key)
            if key is not None and str(key).isdigit()
            else (indices[position] if position < len(indices) else None)
        )
        if i is None or i not in wanted:
            continue
        earlier = results[i]
        if isinstance(answer, GeminiError):
            response = failed_response(job.model or model, str(answer))
        else:
            response = finish(build_response([answer], model=job.model or model))
            response.cost = usage_cost(response.model, response.usage, batch=True)
        results[i] = with_key(response, getattr(earlier, KEY_ATTRIBUTE, None))
        got.add(i)
    for i in wanted - got:
        results[i] = failed_response(model, f"The Gemini batch job {job.name} sent no answer for this item.")
