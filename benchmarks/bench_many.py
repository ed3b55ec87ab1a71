#!/usr/bin/env python
"""Many prompts at once: throughput against the ideal, and memory with 10,000 items.

    python benchmarks/bench_many.py            # full run (about 1-2 minutes)
    python benchmarks/bench_many.py --quick    # smoke run: fewer repeats, 40 one-at-a-time

The offline Gemini server runs in a subprocess (``python -m gemini_magic.offline
--latency 0.2 --delay 0``): every answer comes 200 ms after its request, as from a
remote model, and the server's CPU is not this process's. The SDK is pointed at it
by environment (``GEMINI_API_KEY``, ``GOOGLE_GEMINI_BASE_URL``) as a user would.

1. Throughput: ``gemini_magic.map(template, 200 prompts, concurrency=16)`` (the
   engine behind ``%%gemini --each``), after a warm-up, best and median of a few
   runs; against the ideal 200 x 0.2 s / 16 = 2.5 s (target: at least 90% of the
   ideal rate) and against one at a time (concurrency=1, ideal 40 s). With the
   text progress bar too, and as a ``%%gemini --each`` cell in a real kernel
   (widget progress bar; in-kernel time around the magic).
2. Memory: 10,000 prompts with a short latency (5 ms), 16 in flight. The RSS is
   sampled while it runs; "flat" means it grows only by what the results
   themselves hold (their deep size, measured), not with the items in flight or done.

It reports; it does not assert (exit code 0 either way). Figures go to
``benchmarks/results/bench_many.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "benchmarks" / "results" / "bench_many.json"
KEY = "bench-key-0123456789"
LATENCY = 0.2
ITEMS = 200
CONCURRENCY = 16
TARGET_RATE = 0.90  # of the ideal
MEMORY_ITEMS = 10_000
MEMORY_LATENCY = 0.005
TEMPLATE = "Summarise review {index}: {item}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def offline_server(latency: float):
    """The offline server in its own process, answering ``latency`` seconds after each request."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_magic.offline", "--port", str(port), "--delay", "0", "--latency", str(latency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def reviews(n: int) -> list[str]:
    return [f"Review {i}: the product was {'great' if i % 3 else 'not what I expected'}." for i in range(n)]


def timed_map(data, *, concurrency: int, progress: bool = False) -> tuple[float, list]:
    import gemini_magic

    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the text bar, when asked for, is drawn but not shown
        results = gemini_magic.map(TEMPLATE, data, concurrency=concurrency, progress=progress)
    return time.perf_counter() - started, results


def throughput(url: str, repeats: int, sequential_items: int) -> dict:
    os.environ.update(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=url)
    data = reviews(ITEMS)
    timed_map(reviews(CONCURRENCY), concurrency=CONCURRENCY)  # warm-up: SDK import, client, connections
    ideal = ITEMS * LATENCY / CONCURRENCY
    runs, failed = [], 0
    for _ in range(repeats):
        elapsed, results = timed_map(data, concurrency=CONCURRENCY)
        failed += sum(1 for r in results if r.error)
        runs.append(elapsed)
    with_bar = [timed_map(data, concurrency=CONCURRENCY, progress=True)[0] for _ in range(max(1, repeats // 2))]
    one_elapsed, _ = timed_map(reviews(sequential_items), concurrency=1)
    one_at_a_time = one_elapsed * ITEMS / sequential_items
    best, median = min(runs), statistics.median(runs)
    return {
        "items": ITEMS,
        "latency": LATENCY,
        "concurrency": CONCURRENCY,
        "ideal_seconds": ideal,
        "runs_seconds": [round(r, 3) for r in runs],
        "best_seconds": round(best, 3),
        "median_seconds": round(median, 3),
        "rate_of_ideal_best": round(ideal / best, 4),
        "rate_of_ideal_median": round(ideal / median, 4),
        "with_progress_bar_seconds": [round(r, 3) for r in with_bar],
        "rate_of_ideal_with_bar": round(ideal / statistics.median(with_bar), 4),
        "failed_items": failed,
        "one_at_a_time_items": sequential_items,
        "one_at_a_time_seconds": round(one_at_a_time, 3),
        "one_at_a_time_ideal": ITEMS * LATENCY,
        "speedup_over_one_at_a_time": round(one_at_a_time / median, 2),
        "cpu_ms_per_request": None,
    }


def cpu_per_request(url: str) -> float:
    import resource

    os.environ.update(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    timed_map(reviews(ITEMS), concurrency=CONCURRENCY)
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return round(used / ITEMS * 1000, 3)


def in_kernel(url: str) -> dict:
    """The %%gemini --each cell in a real kernel, with its widget progress bar."""
    from tests.kernel_helpers import kernel_env, running_kernel

    env = kernel_env(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=url)
    code = (
        "res = None  # a fresh run each time (an earlier result of the same length would be resumed)\n"
        "import time as _t\n"
        "_s = _t.perf_counter()\n"
        f"get_ipython().run_cell_magic('gemini', '--each xs --out res --concurrency {CONCURRENCY}', {TEMPLATE!r})\n"
        "print(_t.perf_counter() - _s, sum(r.error is None for r in res))"
    )
    with running_kernel(env) as kernel:
        assert kernel.execute(f"%load_ext gemini_magic\nxs = {reviews(ITEMS)!r}").status == "ok"
        warm = code.replace("xs", "xs[:16]")
        kernel.execute(warm)
        seconds = []
        messages = 0
        for _ in range(3):
            run = kernel.execute(code)
            elapsed, done = run.stdout.split()
            seconds.append(float(elapsed))
            messages = len(run.messages)
    ideal = ITEMS * LATENCY / CONCURRENCY
    median = statistics.median(seconds)
    return {
        "runs_seconds": [round(s, 3) for s in seconds],
        "median_seconds": round(median, 3),
        "rate_of_ideal_median": round(ideal / median, 4),
        "done": int(done),
        "iopub_messages_per_run": messages,
    }


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def deep_size(results: list) -> int:
    """Bytes the results hold: each response, its attributes and what they point to (shared once)."""
    seen: set[int] = set()

    def size(obj) -> int:
        if id(obj) in seen or obj is None or isinstance(obj, (bool, int, float)) and -5 <= obj <= 256:
            return 0
        seen.add(id(obj))
        total = sys.getsizeof(obj)
        if isinstance(obj, dict):
            total += sum(size(k) + size(v) for k, v in obj.items())
        elif isinstance(obj, (list, tuple)):
            total += sum(size(v) for v in obj)
        elif hasattr(obj, "__dict__"):
            total += size(vars(obj))
        return total

    return sum(size(r) for r in results) + sys.getsizeof(results)


def memory(url: str, n: int) -> dict:
    import gc

    import gemini_magic

    os.environ.update(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=url)
    template = TEMPLATE + " [[offline chunks=2 chunk_chars=60]]"  # 120-character answers
    gemini_magic.map(template, reviews(64), concurrency=CONCURRENCY, progress=False)  # warm-up
    data = reviews(n)
    gc.collect()
    baseline = rss_bytes()
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample():
        while not stop.wait(0.2):
            samples.append((time.perf_counter(), rss_bytes()))

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    with contextlib.redirect_stderr(io.StringIO()):
        results = gemini_magic.map(template, data, concurrency=CONCURRENCY, progress=True)
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    gc.collect()
    after = rss_bytes()
    held = deep_size(results)
    grown = [rss - baseline for _, rss in samples]
    peak = max(grown + [after - baseline])
    # RSS against time at quarters of the run (the run is steady, so time ~ items done)
    quarters = []
    for fraction in (0.25, 0.5, 0.75, 1.0):
        moment = started + fraction * elapsed
        near = min(samples, key=lambda s: abs(s[0] - moment)) if samples else (moment, after)
        quarters.append({"fraction": fraction, "rss_growth_mb": round((near[1] - baseline) / 1e6, 2)})
    return {
        "items": n,
        "latency": MEMORY_LATENCY,
        "elapsed_seconds": round(elapsed, 2),
        "failed_items": sum(1 for r in results if r.error),
        "rss_baseline_mb": round(baseline / 1e6, 1),
        "rss_growth_peak_mb": round(peak / 1e6, 2),
        "rss_growth_after_mb": round((after - baseline) / 1e6, 2),
        "results_deep_size_mb": round(held / 1e6, 2),
        "results_bytes_per_item": round(held / n),
        "rss_growth_bytes_per_item": round((after - baseline) / n),
        "engine_overhead_mb": round((peak - held) / 1e6, 2),
        "rss_by_quarter": quarters,
    }


def report(results: dict) -> str:
    t, m = results["throughput"], results["memory"]
    lines = [
        f"gemini_magic many-prompt benchmark ({results['mode']}; {results['machine']['cpus']} CPUs, "
        f"Python {results['machine']['python']}; load average {results['machine']['load_average_at_start'][0]} "
        "at start; offline server in a subprocess)",
        "",
        f"{t['items']} prompts, {t['latency'] * 1000:.0f} ms latency each, {t['concurrency']} in flight",
        f"  {'run':<34}{'seconds':>9}{'of ideal rate':>15}",
        f"  {'ideal (200 x 0.2 s / 16)':<34}{t['ideal_seconds']:>9.2f}{'100.0%':>15}",
        f"  {'gemini_magic.map, best':<34}{t['best_seconds']:>9.2f}{t['rate_of_ideal_best']:>15.1%}",
        f"  {'gemini_magic.map, median':<34}{t['median_seconds']:>9.2f}{t['rate_of_ideal_median']:>15.1%}",
        f"  {'  with the text progress bar':<34}{statistics.median(t['with_progress_bar_seconds']):>9.2f}"
        f"{t['rate_of_ideal_with_bar']:>15.1%}",
    ]
    if results.get("kernel"):
        k = results["kernel"]
        lines.append(
            f"  {'%%gemini --each in a kernel (widget)':<34}{k['median_seconds']:>9.2f}{k['rate_of_ideal_median']:>15.1%}"
        )
    lines += [
        f"  {'one at a time (concurrency=1)':<34}{t['one_at_a_time_seconds']:>9.2f}"
        f"{t['ideal_seconds'] / t['one_at_a_time_seconds']:>15.1%}"
        + ("" if t["one_at_a_time_items"] == t["items"] else f"   ({t['one_at_a_time_items']} items, scaled)"),
        f"  speed-up over one at a time: x{t['speedup_over_one_at_a_time']}; client CPU per request: "
        f"{t['cpu_ms_per_request']} ms; failed items: {t['failed_items']}",
        f"  target: at least {TARGET_RATE:.0%} of the ideal rate -> "
        + ("met" if t["rate_of_ideal_median"] >= TARGET_RATE else "NOT met")
        + " (median)",
        "",
        f"Memory: {m['items']:,} prompts, {m['latency'] * 1000:.0f} ms latency, {CONCURRENCY} in flight, "
        f"{m['elapsed_seconds']} s",
        f"  RSS growth: peak {m['rss_growth_peak_mb']} MB, after {m['rss_growth_after_mb']} MB "
        f"({m['rss_growth_bytes_per_item']} bytes an item)",
        f"  the results themselves hold {m['results_deep_size_mb']} MB ({m['results_bytes_per_item']} bytes an item)",
        f"  beyond the results (engine, SDK, allocator): {m['engine_overhead_mb']} MB at peak",
        "  RSS growth by quarter of the run: "
        + ", ".join(f"{q['fraction']:.0%}: {q['rss_growth_mb']} MB" for q in m["rss_by_quarter"]),
        f"  failed items: {m['failed_items']}",
        "",
        f"JSON: {results['json_path']}",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; 40 one-at-a-time prompts, scaled")
    parser.add_argument("--no-kernel", action="store_true", help="skip the in-kernel %%gemini --each run")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    results = {
        "mode": "quick" if args.quick else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
        },
    }
    with offline_server(LATENCY) as url:
        results["throughput"] = throughput(url, repeats, 40 if args.quick else ITEMS)
        results["throughput"]["cpu_ms_per_request"] = cpu_per_request(url)
        if not args.no_kernel:
            results["kernel"] = in_kernel(url)
    with offline_server(MEMORY_LATENCY) as url:
        results["memory"] = memory(url, MEMORY_ITEMS)
    results["targets"] = {
        "rate_of_ideal": TARGET_RATE,
        "met": results["throughput"]["rate_of_ideal_median"] >= TARGET_RATE,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results["json_path"] = str(RESULTS.relative_to(ROOT))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
