"""Many prompts at once, the engine: concurrent requests on one background event loop.

At most ``concurrency`` requests in flight, an optional rate limit, retries by
client.py's rules; the calling thread waits, draws progress and takes Ctrl-C.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Optional

from ..answer import build_response
from ..errors import GeminiError
from ..response import GeminiResponse
from .items import Items, Template, fingerprint
from .limits import RateLimiter, estimate_tokens
from .results import (
    Counts,
    Outcome,
    failed_response,
    is_finished,
    with_key,
)

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
        from ..client import answer_async

        counts = self.counts
        for i in queue:  # one shared iterator: each index is taken once
            if self.fatal is not None:
                return
            started = time.perf_counter()
            try:
                request = self.template.request(self.items, i)
            except Exception as error:  # e.g. PromptError: this item's prompt cannot be built
                self._store(i, failed_response(self.template.base.model, f"The prompt could not be built: {error}"))
                continue
            replay = self.template.replay
            if replay is not None:
                kept = replay.item(request)
                if kept is not None:
                    counts.replayed += kept.replayed_at is not None
                    self._store(i, with_key(self.template.finish(kept), fingerprint(request)))
                    continue
            estimate = estimate_tokens(request, counts)
            counts.in_flight += 1
            try:
                delta = await answer_async(
                    request,
                    before_attempt=(lambda cost=estimate: self.limiter.acquire(cost)) if self.limiter else None,
                    on_retry=self._retrying,
                )
                response = self.template.finish(
                    build_response(
                        [delta],
                        model=request.model,
                        elapsed=time.perf_counter() - started,
                        max_chars=request.connection.max_answer_chars,
                    )
                )
            except GeminiError as error:
                response = failed_response(request.model, str(error), time.perf_counter() - started)
                if error.fatal and self.fatal is None:  # every other item would fail the same way
                    self.fatal = error
            finally:
                counts.in_flight -= 1
            if self.limiter:
                self.limiter.settle(estimate, response.usage.total_tokens)
            if replay is not None:
                replay.keep(request, response)
            self._store(i, with_key(response, fingerprint(request)))

    def _store(self, i: int, response: GeminiResponse) -> None:
        self.results[i] = response
        self.counts.add(response)

    def _retrying(self, attempt: int, attempts: int, reason: str) -> None:
        self.counts.retries += 1


def run_concurrent(
    items: Items, template: Template, results: list, todo, *, concurrency: int, rpm=None, tpm=None, progress=None
) -> Outcome:
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
                results[i] = failed_response(model, f"Not sent: {fatal or 'the run stopped'}")
