"""Many prompts at once, the entry points: the magic's ``run_magic``, ``map`` and ``collect_job``."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, Optional

from .. import settings as settings_module
from ..client import Request
from ..errors import BatchJobError, GeminiError, ManyError
from ..output.summary import summary
from .batch import collect, run_batch, wait_for_job
from .engine import run_concurrent
from .items import Items, Template
from .progress import BatchStatus, Progress, problem_message
from .results import Counts, Outcome, is_finished, plan, previous_results

__all__ = ["map", "run_magic", "collect_job"]


def run_magic(magics, cmd, request_for) -> None:
    """``%%gemini --each NAME`` / ``--batch`` / ``--batch-job JOB``: run, store, summarise.

    ``request_for(command)`` is the magic's own request builder: every option
    and setting check of the single-prompt path applies here too. Failures are
    raised as gemini_magic errors; the magic's boundary shows them in one line.
    """
    from .. import command

    options = cmd.options
    user_ns = magics.shell.user_ns
    widget = getattr(magics.shell, "kernel", None) is not None
    job_name = options.batch_job
    if job_name is not None and not (job_name.startswith("batches/") and job_name.count("/") == 1):
        raise ManyError(f"--batch-job {job_name!r}: not a batch job name (they look like batches/abc123)")
    items = _each(options.each, user_ns) if options.each is not None else None
    if items is None and job_name is None:
        raise ManyError("--batch needs --each NAME: the data to run the template over")
    if job_name is None and not command.visible(cmd.prompt):
        raise ManyError("empty template: write the prompt in the cell, with {item} or column names in it")
    if options.no_vars and job_name is None:
        raise ManyError("--each fills {item} and the columns into the cell: it cannot be used with --no-vars")
    # The single-prompt checks (options, settings, model), on a stand-in prompt.
    cell = request_for(command.Command(options, "(each)"))
    settings, base, out = cell.settings, cell.request, cell.out
    replay = magics._replay(cmd, settings) if job_name is None else None
    if not options.dry_run and (replay is None or replay.sends):
        base.connection.check()
    names = ["_gemini"] + ([out] if out else [])
    previous = user_ns.get(out) if out else None

    def store(results):
        value = items.aligned(results, out or "_gemini") if items is not None else list(results)
        for name in names:
            user_ns[name] = value

    if job_name is not None:
        display: BatchStatus | Progress = BatchStatus(widget=widget)
        outcome = collect_job(base, job_name, items, previous, status=display, poll=settings.batch_poll)
    else:
        template = Template(
            cmd.prompt,
            base,
            user_ns,
            limits=_limits(settings),
            prefix=tuple(part for part in base.parts if not isinstance(part, str)),  # --image
            format=cell.plan.format,
            replay=replay,
        )
        assert items is not None  # --each is given (checked above) unless --batch-job is
        template.check(items)
        if options.dry_run:
            from ..dryrun import SAMPLE, dry_run, show

            sample = [template.request(items, i) for i in range(min(SAMPLE, items.n))]
            recorded = sum(replay.has(template.request(items, i)) for i in range(items.n)) if replay else None
            return show(magics.shell, dry_run(settings, sample, total=items.n, batch=options.batch, recorded=recorded))
        results, todo = plan(items, template, previous_results(previous, items))
        if options.batch:
            display = BatchStatus(widget=widget, count=len(todo))
        else:
            display = Progress(items.n, label="gemini", widget=widget, done=items.n - len(todo))
        outcome = _send(
            items,
            template,
            results,
            todo,
            settings,
            batch=options.batch,
            display_name=f"gemini_magic --each {options.each}",
            status=display,
            store=store,
        )
    if outcome.results is not None:
        store(outcome.results)
    if replay is not None:
        replay.done()
    display.finish(outcome.counts, summary(outcome, names, label=items.label if items is not None else int))
    problem = problem_message(outcome, names)
    if problem:
        from ..errors import AnswerIncomplete

        raise AnswerIncomplete(problem)


def _each(name: str, user_ns: dict) -> Items:
    if not name.isidentifier():
        raise ManyError(f"--each {name!r}: give the name of a variable (a list, Series or DataFrame)")
    if name not in user_ns:
        raise ManyError(f"--each {name}: no variable named {name!r}")
    return Items(user_ns[name], name=name)


def collect_job(
    base: Request, name: str, items: Optional[Items], previous, *, status=None, poll: float = 30.0
) -> Outcome:
    """``--batch-job``: wait for a job and put its answers in place (by the index each was sent with)."""
    started = time.perf_counter()
    job = wait_for_job(base.connection, name, status=status, poll=poll)
    earlier = previous_results(previous, items) if items is not None else None
    if job is None:  # interrupted: nothing to store, the job goes on
        return Outcome(None, Counts(), time.perf_counter() - started, interrupted=True, job=name)
    if job.answers is None and items is None:
        raise BatchJobError(
            f"The Gemini batch job {name} ended {job.state.removeprefix('JOB_STATE_')} with no answers to collect."
        )
    if items is not None:
        n = items.n
    else:
        keys = [int(k) for k, _ in job.answers or () if k is not None and str(k).isdigit()]
        n = max(keys + [len(job.answers or ()) - 1]) + 1
    results = earlier or [None] * n
    indices = [i for i in range(n) if not is_finished(results[i])]
    counts = Counts(total=n, reused=n - len(indices))
    collect(job, items, results, indices, job.model or base.model)
    for i in indices:
        counts.add(results[i])
    return Outcome(results, counts, time.perf_counter() - started, job=name, job_state=job.state)


def map(
    template: str,
    data: Any,
    *,
    model: Optional[str] = None,
    system: Optional[str] = None,
    temperature: Optional[float] = None,
    max_tokens: Optional[int] = None,
    concurrency: Optional[int] = None,
    rpm: Optional[int] = None,
    tpm: Optional[int] = None,
    batch: bool = False,
    resume: Any = None,
    namespace: Optional[Mapping] = None,
    offline: Optional[bool] = None,
    progress: bool = True,
    retries: Optional[int] = None,
    timeout: Optional[float] = None,
    replay: Optional[str] = None,
    code_execution: Optional[bool] = None,
    urls: tuple = (),
):
    """Ask Gemini ``template`` once per item of ``data``; answers aligned with ``data``.

    ``data`` is a list, tuple, pandas Series or DataFrame. In ``template``,
    ``{item}`` is the item (a row's dict for a DataFrame), ``{index}`` its
    position (pandas: its label), and ``{name}`` a key of a dict item or a
    column of the row; ``namespace`` gives further names. Returns a list of
    GeminiResponse, or a Series with ``data``'s index for pandas input.

    ``concurrency`` requests at most in flight (default 16, or
    ``%config GeminiMagics.concurrency``); ``rpm``/``tpm`` cap requests and
    tokens per minute. 429 and 5xx are retried with backoff. A failed item
    holds its ``.error`` and the run goes on. Interrupt returns what finished
    (the rest marked interrupted); pass the result back as ``resume=`` to send
    only what is missing, failed or changed. ``batch=True`` uses the Gemini
    Batch API (cheaper, slower; interrupting leaves the job running and
    ``resume=`` collects it). ``replay="auto"``/``"only"`` plays recorded
    items back and records complete ones (``GeminiMagics.replay``).
    ``code_execution=True`` lets Gemini run code (each answer's ``.executed``);
    ``urls`` are pages every prompt has Gemini read (``.url_context``). Other
    defaults come from ``%config GeminiMagics``.
    """
    if not isinstance(template, str) or not template.strip():
        raise ManyError("template: give the prompt as a non-empty string, with {item} or column names in it")
    settings = settings_module.current().derive(
        model=model,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        offline=offline,
        retries=retries,
        timeout=timeout,
        replay=replay,
        code_execution=code_execution,
    )
    items = Items(data)
    from ..command import check_urls

    base = settings.request(prompt="", urls=check_urls(urls))
    from ..replay import Replay

    replay_run = Replay.for_settings(settings, settings.replay, _namespace())
    if replay_run is None or replay_run.sends:
        base.connection.check()
    plan_template = Template(
        template,
        base,
        namespace or {},
        limits=_limits(settings),
        replay=replay_run,
    )
    plan_template.check(items)
    results, todo = plan(items, plan_template, previous_results(resume, items))
    widget = _in_kernel()
    status: BatchStatus | Progress | None = None
    if progress and batch:
        status = BatchStatus(widget=widget, count=len(todo), stream=sys.stderr)
    elif progress:
        status = Progress(items.n, label="gemini", widget=widget, done=items.n - len(todo))
    outcome = _send(
        items, plan_template, results, todo, settings, batch=batch, display_name="gemini_magic.map", status=status
    )
    if status is not None and widget:
        status.finish(outcome.counts, summary(outcome, [], label=items.label))
    elif isinstance(status, Progress):  # a text bar ends its line; the summary is the returned value
        status.finish(outcome.counts, None)
    if replay_run is not None:
        replay_run.done()
    if outcome.fatal and not outcome.counts.done:
        raise GeminiError(outcome.fatal)
    problem = problem_message(outcome, [], again="Call map again with resume=<this result>")
    if problem and (outcome.interrupted or outcome.fatal):
        print(problem, file=sys.stderr)
    return items.aligned(outcome.results or [])


def _limits(settings) -> dict:
    """What a template's values may become: the settings' bounds on text, tables and files."""
    return {"max_chars": settings.max_chars, "max_rows": settings.max_rows, "max_file_bytes": settings.max_file_bytes}


def _send(items, template, results, todo, settings, *, batch, display_name, status, store=None) -> Outcome:
    """Send what is to do: as one Batch API job (``batch``), else as concurrent requests."""
    if batch:
        return run_batch(
            items,
            template,
            results,
            todo,
            display_name=display_name,
            store=store or (lambda results: None),
            status=status,
            poll=settings.batch_poll,
        )
    return run_concurrent(
        items,
        template,
        results,
        todo,
        concurrency=settings.concurrency,
        rpm=settings.rpm,
        tpm=settings.tpm,
        progress=status,
    )


def _namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return {}
    return shell.user_ns if shell is not None else {}


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython

        return getattr(get_ipython(), "kernel", None) is not None
    except ImportError:
        return False
