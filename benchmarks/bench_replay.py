#!/usr/bin/env python
"""Replay: a 20-cell notebook replayed against the same notebook showing its answers with
``display(Markdown(...))``, in real kernels; and the record file's size for 1,000 answers.

    python benchmarks/bench_replay.py          # or: make bench-replay

1. Notebook: 20 ``%%gemini`` cells are recorded once (offline server, replay "auto").
   Then, each in a fresh kernel started with no key and no endpoint:
   - replay: ``%config GeminiMagics.replay = "only"`` and the 20 cells as written;
   - plain: the 20 answers loaded from a JSON file, each cell ``display(Markdown(answers[i]))``.
   Both kernels are open at once and their runs interleaved (cold: the first run in a new
   kernel, imports included; warm: 5 more runs each), in 2 pairs of kernels. Time is the
   round trip a user waits for: execute request sent to the kernel going idle, summed
   over the 20 cells; best and median. Target: replay
   costs no more than plain (ratio <= 1.0, warm); the cold figure is reported too.
2. Size: 1,000 answers of English-like prose (Zipf-distributed words, 300-3,000
   characters each, so zlib does about as well as on real answers) recorded with
   their prompts; the file (after a checkpoint) against the answers' own UTF-8 bytes.
   Target: at most 1.2x.

Figures go to ``benchmarks/results/bench_replay.json``; it reports, it does not assert.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "benchmarks" / "results" / "bench_replay.json"
KEY = "bench-key-0123456789"
PASSES = 5  # warm passes of the 20 cells per kernel pair
CELLS = [
    f"%%gemini --out a{i}\nExplain idea number {i} of introductory statistics, with an example." for i in range(20)
]


def timed(kernel, cells) -> float:
    total = 0.0
    for cell in cells:
        started = time.perf_counter()
        run = kernel.execute(cell)
        total += time.perf_counter() - started
        assert run.status == "ok", run.reply
    return total


def notebook(work: Path) -> dict:
    from gemini_magic.offline import OfflineGemini
    from tests.kernel_helpers import gemini_kernel, kernel_env, running_kernel

    record = work / "bench.gemini.sqlite"
    config = f"%config GeminiMagics.replay_file = {str(record)!r}"
    server = OfflineGemini(delay=0).start()
    try:
        with gemini_kernel(server.url, KEY, config, '%config GeminiMagics.replay = "auto"') as home:
            timed(home, CELLS)
            answers = home.value("[str(globals()[f'a{i}']) for i in range(20)]")
    finally:
        server.stop()
    (work / "answers.json").write_text(json.dumps(answers))
    plain_cells = [f"display(Markdown(answers[{i}]))" for i in range(20)]
    results = {"replay": [], "plain": []}
    colds = {"replay": [], "plain": []}
    for _ in range(2):
        # Both kernels open at once, their passes interleaved: load from elsewhere hits both alike.
        with running_kernel(kernel_env()) as replay, running_kernel(kernel_env()) as plain:
            replay.execute(f'%load_ext gemini_magic\n{config}\n%config GeminiMagics.replay = "only"')
            plain.execute(
                f"import json\nfrom IPython.display import display, Markdown\n"
                f"answers = json.load(open({str(work / 'answers.json')!r}))"
            )
            colds["replay"].append(timed(replay, CELLS))
            colds["plain"].append(timed(plain, plain_cells))
            for _ in range(PASSES):
                results["replay"].append(timed(replay, CELLS))
                results["plain"].append(timed(plain, plain_cells))
            genai = replay.value("'google.genai' in __import__('sys').modules")
    best = {name: (min(colds[name]), min(runs)) for name, runs in results.items()}
    median = {name: sorted(runs)[len(runs) // 2] for name, runs in results.items()}
    return {
        "cells": 20,
        "replay_cold_s": round(best["replay"][0], 4),
        "replay_warm_s": round(best["replay"][1], 4),
        "plain_cold_s": round(best["plain"][0], 4),
        "plain_warm_s": round(best["plain"][1], 4),
        "ratio_warm": round(best["replay"][1] / best["plain"][1], 3),
        "ratio_cold": round(best["replay"][0] / best["plain"][0], 3),
        "replay_warm_median_s": round(median["replay"], 4),
        "plain_warm_median_s": round(median["plain"], 4),
        "ratio_warm_median": round(median["replay"] / median["plain"], 3),
        "google_genai_imported_by_replay": genai,
        "target_ratio": 1.0,
    }


def prose(rng: random.Random, words: list, weights: list, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        sentence = " ".join(rng.choices(words, weights, k=rng.randint(6, 20)))
        sentence = sentence[0].upper() + sentence[1:] + rng.choice([". ", ". ", ", and ", "? ", ".\n\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)


def size(work: Path) -> dict:
    from gemini_magic.client import Request
    from gemini_magic.replay import Store, recording_key, summary
    from gemini_magic.response import GeminiResponse, Usage

    rng = random.Random(15)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    words = sorted({"".join(rng.choices(letters, weights=range(26, 0, -1), k=rng.randint(1, 10))) for _ in range(6000)})
    weights = [1 / (rank + 1) for rank in range(len(words))]
    rng.shuffle(words)
    path = work / "size.gemini.sqlite"
    store = Store(str(path))
    answer_bytes = prompt_bytes = 0
    for i in range(1000):
        prompt = f"Question {i}: " + prose(rng, words, weights, rng.randint(40, 200))
        text = prose(rng, words, weights, rng.randint(300, 3000))
        request = Request(prompt=prompt, model="gemini-2.5-flash", parts=(prompt,))
        response = GeminiResponse(text, model="gemini-2.5-flash", usage=Usage(40, 500, 0, 540), finish_reason="STOP")
        store.put(recording_key(request), summary(request), response)
        answer_bytes += len(text.encode())
        prompt_bytes += len(prompt.encode())
    store.compact()
    store.close()
    file_bytes = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())
    import zlib

    texts = "".join(r.answer["text"] for r in Store(str(path)).records()).encode()
    return {
        "answers": 1000,
        "answer_bytes": answer_bytes,
        "prompt_bytes": prompt_bytes,
        "file_bytes": file_bytes,
        "ratio": round(file_bytes / answer_bytes, 3),
        "target_ratio": 1.2,
        "zlib_ratio_of_the_answers_alone": round(len(zlib.compress(texts, 9)) / len(texts), 3),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        figures = {"size": size(work)}
        print("record file:", json.dumps(figures["size"]))
        figures["notebook"] = notebook(work)
        print("notebook:", json.dumps(figures["notebook"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
