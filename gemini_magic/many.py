"""Many prompts at once: one template over every item of a list, Series or DataFrame.

    import gemini_magic
    df["summary"] = gemini_magic.map("Summarise in one line: {review}", df)

    %%gemini --each df --out summaries --concurrency 16 --rpm 300
    Summarise in one line: {review}

The template is filled per item with ``{item}`` (the value; a row's dict for a
DataFrame), ``{index}`` (its position, or its label for pandas input), the
keys of a dict item or the columns of a row, and then, in the magic, the
notebook's variables. Results come back aligned with the input: a list, or a
Series with the input's index for pandas input; each a GeminiResponse.

How it runs: google-genai's async client on one background event loop, at
most ``concurrency`` requests in flight, an optional requests/tokens-per-minute
token bucket, retries on 429/5xx with backoff (Retry-After honoured; the retry
rules are client.py's), a tqdm progress bar. A failed item keeps its error and
the run goes on; Interrupt keeps every finished answer; a run given the
previous results (``--out NAME`` holding them, or ``resume=``) sends only the
items that are missing, failed, or whose prompt changed. ``batch=True`` /
``--batch`` sends the whole job to the Gemini Batch API instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import hashlib
import re
import sys
import threading
import time
from collections import ChainMap
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .client import GeminiError, Request
from .response import GeminiResponse, Usage

__all__ = ["map", "ManyError", "Items", "Template", "run_concurrent", "run_batch", "Counts"]

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 100  # google-genai's HTTP pool holds 100 connections
BATCH_INLINE_LIMIT = 20_000_000  # bytes: the Gemini API's cap on an inlined batch
FATAL_KINDS = ("key", "model", "config")  # every other item would fail the same way
_KEY = "_gemini_prompt_key"  # on each GeminiResponse: a hash of what was asked
_JOB = "batch_job"  # on a placeholder: the Batch API job that will answer it
PENDING = "BATCH_PENDING"


class ManyError(ValueError):
    """A mistake in a many-prompt run, found before anything is sent (one line)."""


# -- the data -------------------------------------------------------------------


def _pandas_kind(value: Any) -> str:
    for cls in type(value).__mro__:
        if cls.__name__ in ("DataFrame", "Series") and cls.__module__.split(".", 1)[0] == "pandas":
            return cls.__name__
    return ""


class Items:
    """The data a template runs over, and what each item offers the template."""

    def __init__(self, data: Any, name: str = "data"):
        self.name = name
        self.index = None  # the pandas index, for pandas input
        self.columns: list = []
        kind = _pandas_kind(data)
        if kind == "DataFrame":
            self.kind, self.index = "frame", data.index
            self.columns = list(data.columns)
            self._values = [column.tolist() for _, column in data.items()]
            self.n = len(data)
        elif kind == "Series":
            self.kind, self.index = "series", data.index
            self._values = data.tolist()
            self.n = len(self._values)
        elif isinstance(data, (list, tuple, range)) or _is_1d_array(data):
            self.kind = "list"
            self._values = data.tolist() if _is_1d_array(data) else data
            self.n = len(self._values)
        else:
            what = type(data).__name__
            hint = " (make it a list first: list(...))" if hasattr(data, "__iter__") else ""
            raise ManyError(f"{name} is a {what}: give a list, tuple, pandas Series or DataFrame{hint}")
        if self.n == 0:
            raise ManyError(f"{name} is empty: nothing to ask")

    def item(self, i: int) -> Any:
        if self.kind == "frame":
            return {column: values[i] for column, values in zip(self.columns, self._values)}
        return self._values[i]

    def label(self, i: int) -> Any:
        return self.index[i] if self.index is not None else i

    def namespace(self, i: int) -> dict:
        item = self.item(i)
        namespace = {"item": item}
        if isinstance(item, Mapping):
            namespace.update((k, v) for k, v in item.items() if isinstance(k, str))
        namespace["index"] = self.label(i)
        return namespace

    def names(self, limit: int = 12) -> str:
        """The per-item names a template can use, for messages."""
        names = ["item", "index"] + [str(c) for c in self.columns if isinstance(c, str)]
        if self.kind != "frame" and isinstance(self.item(0), Mapping):
            names += [k for k in self.item(0) if isinstance(k, str)]
        shown = ", ".join(names[:limit]) + (", …" if len(names) > limit else "")
        return shown

    def aligned(self, results: list, name: Optional[str] = None):
        """``results`` shaped like the input: a Series for pandas input, else a list."""
        if self.index is None:
            return list(results)
        import pandas

        return pandas.Series(results, index=self.index, name=name, dtype=object)


def _is_1d_array(data: Any) -> bool:
    return type(data).__module__ == "numpy" and type(data).__name__ == "ndarray" and data.ndim == 1


class _Recording(Mapping):
    """A per-item namespace that remembers which of its names were looked up."""

    def __init__(self, names: dict):
        self.names = names
        self.used: set = set()

    def __getitem__(self, key):
        value = self.names[key]
        self.used.add(key)
        return value

    def __contains__(self, key):
        return key in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)


@dataclasses.dataclass
class Template:
    """The cell (or ``map``'s template) and everything else a request carries."""

    text: str
    base: Request  # model, system, generation options, connection
    fallback: Mapping = dataclasses.field(default_factory=dict)  # e.g. the notebook's variables
    limits: Mapping = dataclasses.field(default_factory=dict)  # build_parts' max_chars, max_rows
    prefix: tuple = ()  # parts sent before every prompt (--image)
    format: Any = None  # a formats.Format: -f json / --schema answers are parsed into .parsed

    def finish(self, response: GeminiResponse) -> GeminiResponse:
        """Parse a JSON answer into ``.parsed``; one that does not parse is a failed item."""
        if self.format is not None and self.format.parse is not None:
            from .formats import parse_failure

            problem = parse_failure(response, self.format)
            if problem:
                response.error = problem
        return response

    def request(self, items: Items, i: int) -> Request:
        from .prompt import build_parts

        parts = build_parts(self.text, ChainMap(items.namespace(i), self.fallback), **self.limits)
        prompt = "".join(part for part in parts if isinstance(part, str))
        return dataclasses.replace(self.base, prompt=prompt, parts=self.prefix + tuple(parts))

    def check(self, items: Items) -> None:
        """Build the first prompt now: a mistake is a ManyError before anything is sent."""
        from .prompt import PromptError, build_parts

        recording = _Recording(items.namespace(0))
        try:
            build_parts(self.text, ChainMap(recording, self.fallback), **self.limits)
        except PromptError as error:
            missing = re.search(r"no variable named '([^']+)'", str(error))
            if missing:
                raise ManyError(
                    f"the template uses {{{missing.group(1)}}}: not a column or key of {items.name}, nor a "
                    f"variable (each item offers: {items.names()})"
                ) from None
            raise ManyError(f"the template: {error}") from None
        if not recording.used:
            raise ManyError(
                f"the template never uses the item: every request would be the same. Refer to {{item}}, "
                f"{{index}} or a column/key (each item offers: {items.names()})"
            )


def fingerprint(request: Request) -> str:
    """A short hash of everything a request asks (not where it goes)."""
    digest = hashlib.blake2b(digest_size=12)

    def feed(value):
        if isinstance(value, (tuple, list)):
            digest.update(b"(")
            for element in value:
                feed(element)
            digest.update(b")")
        elif hasattr(value, "mime_type") and isinstance(getattr(value, "data", None), bytes):
            digest.update(value.mime_type.encode() + b"\0" + value.data)
        else:
            digest.update(repr(value).encode("utf-8", "surrogatepass") + b"\0")

    for spec in dataclasses.fields(request):
        if spec.name not in ("connection", "prompt"):
            digest.update(spec.name.encode())
            feed(getattr(request, spec.name))
    return digest.hexdigest()


# -- results --------------------------------------------------------------------


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
    if _pandas_kind(previous) == "Series":
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


def _response(delta, request: Request, elapsed: float) -> GeminiResponse:
    from .session import _policy_message

    finish = delta.finish_reason
    error = _policy_message(finish, delta.block_reason, delta.safety)
    if delta.block_reason:
        finish = f"BLOCKED:{delta.block_reason}"
    return GeminiResponse(
        delta.text,
        model=sys.intern(delta.model_version or request.model),  # one copy for thousands of answers
        usage=Usage.from_metadata(delta.usage),
        finish_reason=finish,
        elapsed=elapsed,
        error=error,
    )


def _failed(model: str, error: str, elapsed: float = 0.0) -> GeminiResponse:
    return GeminiResponse("", model=model, finish_reason="ERROR", elapsed=elapsed, error=error)


def _keyed(response: GeminiResponse, key: Optional[str]) -> GeminiResponse:
    if key is not None:
        setattr(response, _KEY, key)
    return response


def _pending(model: str, job: str, key: Optional[str]) -> GeminiResponse:
    response = GeminiResponse("", model=model, finish_reason=PENDING)
    setattr(response, _JOB, job)
    return _keyed(response, key)


def plan(items: Items, template: Template, previous: Optional[list]) -> tuple[list, list]:
    """``(results, todo)``: finished earlier answers kept in place, indices still to ask."""
    results: list = [None] * items.n
    if not previous:
        return results, range(items.n)
    todo = []
    for i, earlier in enumerate(previous):
        if is_finished(earlier) or (isinstance(earlier, GeminiResponse) and earlier.finish_reason == PENDING):
            key = getattr(earlier, _KEY, None)
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
    in_flight: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0  # thinking included
    total_tokens: int = 0
    started: float = dataclasses.field(default_factory=time.perf_counter)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.reused

    def add(self, response: GeminiResponse) -> None:
        usage = response.usage
        self.prompt_tokens += usage.prompt_tokens
        self.response_tokens += usage.response_tokens + usage.thinking_tokens
        self.total_tokens += usage.total_tokens
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
        text += f" · {_compact(self.total_tokens)} tokens"
        if self.retries:
            text += f" · {self.retries} retries"
        return text


def _compact(number: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= size:
            return f"{number / size:.1f}{suffix}"
    return str(number)


# -- limits ---------------------------------------------------------------------


class _Bucket:
    """A token bucket refilled at ``per_minute / 60`` a second, holding one second's worth."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def wait(self, cost: float, now: float) -> float:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(cost, self.capacity)  # a big request waits for a full bucket, then borrows
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits, either optional.

    Tokens are estimated before a request (prompt characters / 4, 258 per image,
    plus the answers' average so far) and corrected by the usage Gemini reports.
    """

    def __init__(self, rpm: Optional[float] = None, tpm: Optional[float] = None):
        self.requests = _Bucket(rpm) if rpm else None
        self.tokens = _Bucket(tpm) if tpm else None

    async def acquire(self, tokens: float) -> None:
        while True:
            now = time.monotonic()
            wait = max(
                self.requests.wait(1, now) if self.requests else 0.0,
                self.tokens.wait(tokens, now) if self.tokens else 0.0,
            )
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        if self.requests:
            self.requests.level -= 1
        if self.tokens:
            self.tokens.level -= tokens

    def settle(self, estimated: float, actual: int) -> None:
        if self.tokens and actual:
            self.tokens.level -= actual - estimated


def _estimate(request: Request, counts: Counts) -> float:
    chars = sum(len(p) for p in request.parts if isinstance(p, str)) + len(request.system or "")
    images = sum(1 for p in request.parts if not isinstance(p, str))
    answers = request.max_tokens or (counts.response_tokens / counts.done if counts.done else 0)
    return chars / 4 + 258 * images + answers


# -- the engine -----------------------------------------------------------------

_loop: Optional[asyncio.AbstractEventLoop] = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """One event loop on a daemon thread, for every run: its connection pool is reused."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed() or not _loop.is_running():
            _loop = asyncio.new_event_loop()
            ready = threading.Event()
            _loop.call_soon(ready.set)
            threading.Thread(target=_loop.run_forever, name="gemini-many", daemon=True).start()
            ready.wait()
        return _loop


def shutdown() -> None:
    """Stop the background loop (on %unload_ext); the next run starts a new one."""
    global _loop
    with _loop_lock:
        loop, _loop = _loop, None
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(loop.stop)


class Engine:
    """The async run: workers take indices in turn, so at most ``concurrency`` are in flight."""

    def __init__(self, items, template, results, todo, *, concurrency, limiter, counts):
        self.items = items
        self.template = template
        self.results = results
        self.todo = todo
        self.concurrency = concurrency
        self.limiter = limiter
        self.counts = counts
        self.fatal: Optional[GeminiError] = None
        self.finished = threading.Event()

    async def main(self) -> None:
        queue = iter(self.todo)
        workers = [asyncio.ensure_future(self._worker(queue)) for _ in range(min(self.concurrency, len(self.todo)))]
        try:
            if workers:
                await asyncio.gather(*workers)
        finally:  # cancelled (Interrupt): stop every worker before saying we are done
            for worker in workers:
                worker.cancel()
            if workers:
                await asyncio.wait(workers)
            self.finished.set()

    async def _worker(self, queue) -> None:
        from .client import answer_async

        counts = self.counts
        for i in queue:  # one shared iterator: each index is taken once
            if self.fatal is not None:
                return
            started = time.perf_counter()
            try:
                request = self.template.request(self.items, i)
            except Exception as error:  # e.g. PromptError: this item's prompt cannot be built
                self._store(i, _failed(self.template.base.model, f"The prompt could not be built: {error}"))
                continue
            estimate = _estimate(request, counts)
            counts.in_flight += 1
            try:
                delta = await answer_async(
                    request,
                    before_attempt=(lambda: self.limiter.acquire(estimate)) if self.limiter else None,
                    on_retry=self._retrying,
                )
                response = self.template.finish(_response(delta, request, time.perf_counter() - started))
            except GeminiError as error:
                response = _failed(request.model, str(error), time.perf_counter() - started)
                if error.kind in FATAL_KINDS and self.fatal is None:
                    self.fatal = error
            finally:
                counts.in_flight -= 1
            if self.limiter:
                self.limiter.settle(estimate, response.usage.total_tokens)
            self._store(i, _keyed(response, fingerprint(request)))

    def _store(self, i: int, response: GeminiResponse) -> None:
        self.results[i] = response
        self.counts.add(response)

    def _retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self.counts.retries += 1


@dataclasses.dataclass
class Outcome:
    results: list
    counts: Counts
    elapsed: float
    interrupted: bool = False
    fatal: Optional[str] = None
    job: Optional[str] = None  # a Batch API job still running (left, not collected)
    job_state: Optional[str] = None


def run_concurrent(items: Items, template: Template, results: list, todo, *, concurrency: int,
                   rpm=None, tpm=None, progress=None) -> Outcome:
    """Run ``todo`` on the background loop; this thread waits, draws progress, takes Ctrl-C."""
    counts = Counts(total=items.n, reused=sum(1 for r in results if is_finished(r)))
    limiter = RateLimiter(rpm, tpm) if (rpm or tpm) else None
    engine = Engine(items, template, results, todo, concurrency=concurrency, limiter=limiter, counts=counts)
    future = asyncio.run_coroutine_threadsafe(engine.main(), _background_loop())
    interrupted = False
    fatal = None
    try:
        while True:
            try:
                future.result(timeout=0.1)
                break
            except concurrent.futures.TimeoutError:
                if progress is not None:
                    progress.update(counts)
    except KeyboardInterrupt:
        interrupted = True
        future.cancel()  # cancels the in-flight requests; finished answers stay in results
        _wait_through_interrupts(engine.finished)
    except Exception as error:  # a bug: keep what finished, say what broke
        fatal = f"The run stopped on an internal error: {type(error).__name__}: {error}"
    if engine.fatal is not None:
        fatal = str(engine.fatal)
    _fill_unfinished(results, template.base.model, interrupted, fatal)
    if progress is not None:
        progress.update(counts)
    return Outcome(results, counts, time.perf_counter() - counts.started, interrupted, fatal)


def _wait_through_interrupts(event: threading.Event, limit: float = 10.0) -> None:
    """Wait for the cancelled run to wind down; a second Ctrl-C does not cut that short."""
    deadline = time.monotonic() + limit
    while True:
        try:
            event.wait(max(0.0, deadline - time.monotonic()))
            return
        except KeyboardInterrupt:
            continue


def _fill_unfinished(results: list, model: str, interrupted: bool, fatal: Optional[str]) -> None:
    for i, response in enumerate(results):
        if response is None:
            if interrupted:
                results[i] = GeminiResponse("", model=model, finish_reason="INTERRUPTED", interrupted=True)
            else:
                results[i] = _failed(model, f"Not sent: {fatal or 'the run stopped'}")


# -- the Batch API ---------------------------------------------------------------


def run_batch(items: Items, template: Template, results: list, todo, *, display_name: str,
              store: Callable[[list], None] = lambda results: None, status=None, poll: float = 30.0) -> Outcome:
    """Collect the jobs earlier placeholders wait for, then submit one job for the rest.

    ``store`` is called with the results as soon as a job is submitted (placeholders
    naming it), so an Interrupt or a closed notebook can collect it later.
    """
    from .client import submit_batch

    counts = Counts(total=items.n, reused=sum(1 for r in results if is_finished(r)))
    waiting: dict[str, list] = {}
    fresh = []
    for i in todo:
        job = getattr(results[i], _JOB, None) if isinstance(results[i], GeminiResponse) else None
        (waiting.setdefault(job, []) if job else fresh).append(i)
    outcome = Outcome(results, counts, 0.0)
    model = template.base.model
    if fresh:
        requests, keys, size = [], {}, 0
        for i in fresh:
            try:
                request = template.request(items, i)
            except Exception as error:  # e.g. PromptError: this item's prompt cannot be built
                results[i] = _failed(model, f"The prompt could not be built: {error}")
                counts.add(results[i])
                continue
            requests.append((i, request))
            keys[i] = fingerprint(request)
            size += sum(len(p) if isinstance(p, str) else len(p.data) * 4 // 3 for p in request.parts) + 200
        if size > BATCH_INLINE_LIMIT:
            raise ManyError(
                f"about {size / 1e6:.0f} MB of prompts: more than the Batch API takes inline "
                f"({BATCH_INLINE_LIMIT / 1e6:.0f} MB). Split the data, or run without --batch"
            )
        if requests:
            job = submit_batch([r for _, r in requests], [i for i, _ in requests], display_name=display_name)
            for i, _ in requests:
                results[i] = _pending(model, job.name, keys[i])
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
    outcome.elapsed = time.perf_counter() - counts.started
    return outcome


def wait_for_job(connection, name: str, *, status=None, poll: float = 30.0):
    """Poll a job until it ends; None if interrupted (the job goes on)."""
    from .client import get_batch

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
            results[i] = _failed(model, f"The Gemini batch job {job.name} ended {job.state.removeprefix('JOB_STATE_')}: no answers.")
        return
    wanted = set(indices)
    got = set()
    for position, (key, answer) in enumerate(job.answers):
        i = int(key) if key is not None and str(key).isdigit() else (indices[position] if position < len(indices) else None)
        if i is None or i not in wanted:
            continue
        earlier = results[i]
        if isinstance(answer, GeminiError):
            response = _failed(job.model or model, str(answer))
        else:
            response = finish(_response(answer, Request(prompt="", model=job.model or model), 0.0))
        results[i] = _keyed(response, getattr(earlier, _KEY, None))
        got.add(i)
    for i in wanted - got:
        results[i] = _failed(model, f"The Gemini batch job {job.name} sent no answer for this item.")


# -- progress and summary --------------------------------------------------------


class Progress:
    """A tqdm bar: a widget in a kernel (replaced by a static summary at the end), else text."""

    def __init__(self, total: int, *, label: str, widget: bool, done: int = 0, stream=None):
        self.widget = widget
        self.handle = None
        self.last = done
        kwargs = dict(total=total, desc=label, unit="item", initial=done, dynamic_ncols=True)
        if widget:
            from IPython.display import display
            from tqdm.notebook import tqdm

            self.bar = tqdm(display=False, **kwargs)
            self.handle = display(self.bar.container, display_id=True)
        else:
            from tqdm.std import tqdm

            self.bar = tqdm(file=stream or sys.stderr, mininterval=0.25, **kwargs)

    def update(self, counts: Counts) -> None:
        finished = counts.finished
        if finished != self.last:
            self.bar.set_postfix_str(counts.postfix(), refresh=False)
            self.bar.update(finished - self.last)
            self.last = finished

    def finish(self, counts: Counts, bundle: Optional[tuple] = None) -> None:
        self.update(counts)
        self.bar.set_postfix_str(counts.postfix(), refresh=False)
        self.bar.refresh()
        self.bar.close()
        if bundle is not None and self.handle is None:
            print(bundle[0]["text/plain"], end="")
        if self.handle is not None and bundle is not None:
            data, metadata = bundle
            self.handle.update(data, raw=True, metadata=metadata)
            container = self.bar.container
            for widget in (*container.children, container):
                for part in (getattr(widget, "layout", None), getattr(widget, "style", None), widget):
                    if part is not None:
                        part.close()


class BatchStatus:
    """The state of a Batch API job: one line updated in place (kernel) or printed (terminal)."""

    def __init__(self, *, widget: bool, count: int = 0, stream=None):
        self.widget = widget
        self.count = count
        self.handle = None
        self.stream = stream
        self.shown = None
        self.line = None
        self.started = time.perf_counter()

    def show(self, job) -> None:
        state = job.state.removeprefix("JOB_STATE_")
        elapsed = time.perf_counter() - self.started
        requests = f" · {self.count:,} requests" if self.count else ""
        line = f"Gemini batch job {job.name}: {state}{requests} · {elapsed:.0f} s"
        if self.widget:
            from IPython.display import display

            data = {"text/markdown": f"<sub>⏳ {line}</sub>", "text/plain": line}
            if self.handle is None:
                self.handle = display(data, raw=True, display_id=True)
            elif line != self.line:
                self.handle.update(data, raw=True)
            self.line = line
        elif state != self.shown:
            print(line, file=self.stream or sys.stdout, flush=True)
        self.shown = state

    def finish(self, counts: Counts, bundle: tuple) -> None:
        data, metadata = bundle
        if self.handle is not None:
            self.handle.update(data, raw=True, metadata=metadata)
        elif self.widget:
            from IPython.display import display

            display(data, raw=True, metadata=metadata)
        else:
            print(data["text/plain"], end="", file=self.stream or sys.stdout)


def summary(outcome: Outcome, names: list[str], *, label: Callable[[int], Any] = lambda i: i) -> tuple[dict, dict]:
    """The static output a saved notebook keeps: counts, tokens, time, failures."""
    counts = outcome.counts
    results = outcome.results or []
    parts = [f"**gemini × {counts.total:,}**", f"{counts.done:,} done"]
    if counts.failed:
        parts.append(f"{counts.failed:,} failed")
    if counts.reused:
        parts.append(f"{counts.reused:,} kept from before")
    pending = sum(1 for r in results if isinstance(r, GeminiResponse) and r.finish_reason == PENDING)
    stopped = sum(1 for r in results if isinstance(r, GeminiResponse) and r.interrupted)
    if pending:
        parts.append(f"{pending:,} waiting in {outcome.job}")
    if stopped:
        parts.append(f"{stopped:,} not finished (interrupted)")
    if counts.total_tokens:
        parts.append(f"{counts.total_tokens:,} tokens ({counts.prompt_tokens:,} → {counts.response_tokens:,})")
    parts.append(f"{outcome.elapsed:.1f} s")
    if outcome.job:
        parts.append(f"batch job {outcome.job}")
    if names:
        parts.append("in " + " and ".join(f"`{n}`" for n in names))
    lines = [" · ".join(parts)]
    problems = [(i, r.error) for i, r in enumerate(results) if isinstance(r, GeminiResponse) and r.error]
    if outcome.fatal:
        lines.append(f"> **⚠ Stopped: {_inert(outcome.fatal)}**")
    for i, error in problems[:3]:
        lines.append(f"> ⚠ item {_inert(repr(label(i)))}: {_inert(error)}")
    if len(problems) > 3:
        lines.append(f"> … and {len(problems) - 3:,} more.")
    if problems or stopped or pending:
        lines.append("> Run it again with the same output to send only what is missing or failed.")
    markdown = "\n\n".join(lines) + "\n"
    plain = markdown.replace("**", "").replace("`", "").replace("> ", "")
    metadata = {
        "gemini_magic": {
            "each": {
                "total": counts.total, "done": counts.done, "failed": counts.failed, "reused": counts.reused,
                "tokens": counts.total_tokens, "elapsed": round(outcome.elapsed, 3),
                "interrupted": outcome.interrupted, "batch_job": outcome.job,
            }
        }
    }
    return {"text/markdown": markdown, "text/plain": plain}, metadata


def _inert(text: str) -> str:
    return " ".join(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split())


def problem_message(outcome: Outcome, names: list[str], *, again: str = "") -> Optional[str]:
    """The one line that fails the cell, or None when the run is good enough to go on."""
    kept = " and ".join(names) or "the result"
    counts = outcome.counts
    if outcome.job and outcome.interrupted:
        held = f"{kept} holds placeholders naming it. " if outcome.results is not None else ""
        again = again or f"Run the cell again (or %gemini --batch-job {outcome.job} --out NAME)"
        return f"Left Gemini batch job {outcome.job} running at Google; {held}{again} to collect the answers."
    if outcome.interrupted:
        again = again or "Run the cell again"
        return (
            f"Interrupted: {counts.done + counts.reused:,} of {counts.total:,} answers are kept in {kept}; "
            f"{again[0].lower()}{again[1:]} to send only the rest."
        )
    if outcome.fatal:
        return f"{outcome.fatal} ({counts.done + counts.reused:,} of {counts.total:,} answers kept in {kept}.)"
    if counts.failed and not counts.done and not counts.reused:
        first = next((r.error for r in outcome.results if isinstance(r, GeminiResponse) and r.error), "")
        return f"Every request failed; the first: {first}"
    return None


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

    from . import command

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
    from . import formats

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

    from .magics import DEFAULT_MODEL

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
    from .client import Connection

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
        from .offline import shared_server

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
