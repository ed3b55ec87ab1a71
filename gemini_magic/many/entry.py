"""Many prompts at once, the entry points: the magic's ``run_magic``, ``map`` and ``collect_job``."""


from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, Optional

from ..client import Request
from ..errors import GeminiError
from .batch import collect, run_batch, wait_for_job
from .engine import run_concurrent
from .items import Items, ManyError, Template
from ..output.summary import summary
from .progress import BatchStatus, Progress, problem_message
from .results import Counts, Outcome, is_finished, plan, previous_results

__all__ = ["map", "run_magic", "collect_job"]

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 100  # google-genai's HTTP pool holds 100 connections



# -- the magic and the function ----------------------------------------------------


def check_limits(concurrency, rpm, tpm, option=lambda name: name) -> None:
    if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ManyError(f"{option('concurrency')} {concurrency}: must be between 1 and {MAX_CONCURRENCY}")
    for name, value in (("rpm", rpm), ("tpm", tpm)):
        if value is not None and value <= 0:
            raise ManyError(f"{option(name)} {value}: must be a positive number per minute")


def run_magic(magics, cmd, build_request) -> None:
    """``%%gemini --each NAME`` / ``--batch`` / ``--batch-job JOB``: run, store, summarise.

    ``build_request(command)`` is the magic's own request builder: every option
    and config check of the single-prompt path applies here too.
    """
    from IPython.core.error import UsageError

    from .. import command

    options = cmd.options
    user_ns = magics.shell.user_ns
    widget = getattr(magics.shell, "kernel", None) is not None
    job_name = options.batch_job
    try:
        concurrency = options.concurrency if options.concurrency is not None else magics.concurrency
        rpm = options.rpm if options.rpm is not None else magics.rpm
        tpm = options.tpm if options.tpm is not None else magics.tpm
        check_limits(concurrency, rpm, tpm, option=lambda name: f"--{name}")
        if job_name is not None and not (job_name.startswith("batches/") and job_name.count("/") == 1):
            raise ManyError(f"--batch-job {job_name!r}: not a batch job name (they look like batches/abc123)")
        items = _each(options.each, user_ns) if options.each is not None else None
        if items is None and job_name is None:
            raise ManyError("--batch needs --each NAME: the data to run the template over")
        if job_name is None and not cmd.prompt.strip():
            raise ManyError("empty template: write the prompt in the cell, with {item} or column names in it")
        if getattr(options, "no_vars", False) and job_name is None:
            raise ManyError("--each fills {item} and the columns into the cell: it cannot be used with --no-vars")
    except ManyError as error:
        raise UsageError(str(error)) from None
    # The single-prompt checks (options, config, model), on a stand-in prompt.
    base, out = build_request(command.Command(options, "(each)"))
    try:
        base.connection.check()
    except GeminiError as error:
        raise UsageError(str(error)) from None
    names = ["_gemini"] + ([out] if out else [])
    previous = user_ns.get(out) if out else None

    def store(results):
        value = items.aligned(results, out or "_gemini") if items is not None else list(results)
        for name in names:
            user_ns[name] = value

    try:
        if job_name is not None:
            display = BatchStatus(widget=widget)
            outcome = collect_job(base, job_name, items, previous, status=display, poll=magics.batch_poll)
        else:
            template = Template(
                cmd.prompt, base, user_ns,
                limits={"max_chars": magics.max_chars, "max_rows": magics.max_rows},
                prefix=tuple(part for part in base.parts if not isinstance(part, str)),  # --image
                format=_answer_format(options, magics, user_ns),
            )
            template.check(items)
            results, todo = plan(items, template, previous_results(previous, items))
            if options.batch:
                display = BatchStatus(widget=widget, count=len(todo))
                outcome = run_batch(
                    items, template, results, todo, display_name=f"gemini_magic --each {options.each}",
                    store=store, status=display, poll=magics.batch_poll,
                )
            else:
                display = Progress(items.n, label="gemini", widget=widget, done=items.n - len(todo))
                outcome = run_concurrent(
                    items, template, results, todo, concurrency=concurrency, rpm=rpm, tpm=tpm, progress=display
                )
    except (ManyError, GeminiError) as error:
        raise UsageError(str(error)) from None
    if outcome.results is not None:
        store(outcome.results)
    display.finish(outcome.counts, summary(outcome, names, label=items.label if items is not None else int))
    problem = problem_message(outcome, names)
    if problem:
        raise UsageError(problem)


def _answer_format(options, magics, user_ns):
    """The -f / --schema format (already checked by the request builder), for parsing answers."""
    from .. import formats

    try:
        return formats.prepare(getattr(options, "format", None) or magics.format, getattr(options, "schema", None), user_ns)
    except (formats.SchemaError, AttributeError):
        return None


def _each(name: str, user_ns: dict) -> Items:
    if not name.isidentifier():
        raise ManyError(f"--each {name!r}: give the name of a variable (a list, Series or DataFrame)")
    if name not in user_ns:
        raise ManyError(f"--each {name}: no variable named {name!r}")
    return Items(user_ns[name], name=name)


def collect_job(base: Request, name: str, items: Optional[Items], previous, *, status=None, poll: float = 30.0) -> Outcome:
    """``--batch-job``: wait for a job and put its answers in place (by the index each was sent with)."""
    started = time.perf_counter()
    job = wait_for_job(base.connection, name, status=status, poll=poll)
    earlier = previous_results(previous, items) if items is not None else None
    if job is None:  # interrupted: nothing to store, the job goes on
        return Outcome(None, Counts(), time.perf_counter() - started, interrupted=True, job=name)
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


def _magic_defaults() -> dict:
    """The %config GeminiMagics settings when the extension is loaded, else built-ins."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    magics = shell.magics_manager.registry.get("GeminiMagics") if shell is not None else None
    if magics is not None:
        names = ("model", "temperature", "max_tokens", "system", "offline", "timeout", "retries",
                 "retry_delay", "concurrency", "rpm", "tpm", "batch_poll")
        return {name: getattr(magics, name) for name in names if hasattr(magics, name)}
    import os

    from ..magics import DEFAULT_MODEL

    return {
        "model": os.environ.get("GEMINI_MAGIC_MODEL") or DEFAULT_MODEL,
        "offline": os.environ.get("GEMINI_MAGIC_OFFLINE", "").lower() in ("1", "true", "yes"),
        "timeout": 120.0, "retries": 3, "retry_delay": 1.0, "batch_poll": 30.0,
    }


def map(  # noqa: A001 - gemini_magic.map, as the issue names it
    template: str,
    data: Any,
    *,
    model: Optional[str] = None,
    system: Optional[str] = None,
    temperature: Optional[float] = None,
    max_tokens: Optional[int] = None,
    concurrency: Optional[int] = None,
    rpm: Optional[float] = None,
    tpm: Optional[float] = None,
    batch: bool = False,
    resume: Any = None,
    namespace: Optional[Mapping] = None,
    offline: Optional[bool] = None,
    progress: bool = True,
    retries: Optional[int] = None,
    timeout: Optional[float] = None,
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
    ``resume=`` collects it). Other defaults come from ``%config GeminiMagics``.
    """
    from ..client import Connection

    defaults = _magic_defaults()
    concurrency = concurrency if concurrency is not None else defaults.get("concurrency") or DEFAULT_CONCURRENCY
    rpm = rpm if rpm is not None else defaults.get("rpm")
    tpm = tpm if tpm is not None else defaults.get("tpm")
    check_limits(concurrency, rpm, tpm)
    if temperature is not None and not 0 <= temperature <= 2:
        raise ManyError(f"temperature={temperature}: must be between 0 and 2")
    if max_tokens is not None and max_tokens < 1:
        raise ManyError(f"max_tokens={max_tokens}: must be a positive whole number")
    if not isinstance(template, str) or not template.strip():
        raise ManyError("template: give the prompt as a non-empty string, with {item} or column names in it")
    items = Items(data)
    offline_url = None
    if defaults.get("offline") if offline is None else offline:
        from ..offline import shared_server

        offline_url = shared_server().url
    connection = Connection(
        offline_url=offline_url,
        timeout=timeout if timeout is not None else defaults.get("timeout"),
        retries=retries if retries is not None else defaults.get("retries", 3),
        retry_delay=defaults.get("retry_delay", 1.0),
    )
    connection.check()
    base = Request(
        prompt="",
        model=model or defaults["model"],
        connection=connection,
        system=system if system is not None else defaults.get("system"),
        temperature=temperature if temperature is not None else defaults.get("temperature"),
        max_tokens=max_tokens if max_tokens is not None else defaults.get("max_tokens"),
    )
    plan_template = Template(template, base, namespace or {})
    plan_template.check(items)
    results, todo = plan(items, plan_template, previous_results(resume, items))
    widget = _in_kernel()
    if batch:
        status = BatchStatus(widget=widget, count=len(todo), stream=sys.stderr) if progress else None
        outcome = run_batch(items, plan_template, results, todo, display_name="gemini_magic.map",
                            status=status, poll=defaults.get("batch_poll", 30.0))
        if status is not None and widget:
            status.finish(outcome.counts, summary(outcome, [], label=items.label))
    else:
        bar = Progress(items.n, label="gemini", widget=widget, done=items.n - len(todo)) if progress else None
        outcome = run_concurrent(items, plan_template, results, todo, concurrency=concurrency,
                                 rpm=rpm, tpm=tpm, progress=bar)
        if bar is not None:
            bar.finish(outcome.counts, summary(outcome, [], label=items.label) if widget else None)
    if outcome.fatal and not outcome.counts.done:
        raise GeminiError(outcome.fatal)
    problem = problem_message(outcome, [], again="Call map again with resume=<this result>")
    if problem and (outcome.interrupted or outcome.fatal):
        print(problem, file=sys.stderr)
    return items.aligned(outcome.results)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython

        return getattr(get_ipython(), "kernel", None) is not None
    except ImportError:
        return False
