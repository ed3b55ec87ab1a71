#!/usr/bin/env python
"""Files in the prompt, in a real kernel: ``%%gemini --file`` against the raw google-genai
calls doing the same, measured in the same run against the offline server.

    python -m benchmarks.bench_files          # or: make bench-files

Three cases, each as a cell a user waits for (execute request sent to the kernel going idle),
the magic and the raw SDK loop interleaved, ``PASSES`` times; best and median:

1. upload: a fresh 60 MB audio file (random bytes, so nothing is sparse) goes past the inline
   limit: the magic hashes it, uploads it with a progress line and streams the answer; the raw
   loop is ``client.files.upload`` then ``generate_content_stream`` with the file's URI.
2. reuse: the same file again: the magic reuses the upload; the raw loop sends the known URI.
3. inline: a 1 MB PDF sent inline: ``Part.from_bytes`` and ``generate_content_stream``;
4. text: the prompt alone, the magic's own cost per cell (live view, final output), to read
   the others against.

Target: the magic's extra time for a file (its time less the raw loop's) no more than its
extra time for text alone plus hashing the file; reuse costs no upload. Figures go to
``benchmarks/results/bench_files.json``; it reports, it does not assert.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_files.json"
KEY = "bench-key-0123456789"
PASSES = 5
SIZE = 60 * 1024 * 1024
PROMPT = "What is said in this recording? [[offline chunks=20 chunk_chars=40 delay=0]]"

RAW_SETUP = """
from google import genai
from google.genai import types
raw = genai.Client()
def raw_answer(parts):
    return "".join(c.text or "" for c in raw.models.generate_content_stream(model="gemini-2.5-flash", contents=parts))
"""


def timed(kernel, code: str) -> float:
    started = time.perf_counter()
    run = kernel.execute(code)
    elapsed = time.perf_counter() - started
    assert run.status == "ok", run.reply
    return elapsed


def fresh_audio(work: Path, name: str) -> Path:
    path = work / name
    with open(path, "wb") as file:
        file.write(b"ID3\x04\0\0\0\0\0\0")
        file.write(os.urandom(SIZE))
    return path


def main() -> dict:
    from gemini_magic.offline import OfflineGemini
    from tests.kernel_helpers import gemini_kernel

    times: dict = {case: {"magic": [], "raw": []} for case in ("upload", "reuse", "inline", "text")}
    server = OfflineGemini(delay=0).start()
    try:
        with tempfile.TemporaryDirectory() as folder, gemini_kernel(server.url, KEY, draws_widgets=False) as kernel:
            work = Path(folder)
            kernel.execute(RAW_SETUP)
            pdf = work / "paper.pdf"
            pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(1024 * 1024))
            for index in range(PASSES):
                mine, theirs = fresh_audio(work, f"m{index}.mp3"), fresh_audio(work, f"r{index}.mp3")
                times["upload"]["magic"].append(timed(kernel, f"%%gemini --file {mine}\n{PROMPT}"))
                times["upload"]["raw"].append(
                    timed(
                        kernel,
                        f"f = raw.files.upload(file={str(theirs)!r}, config=types.UploadFileConfig("
                        f"mime_type='audio/mpeg', display_name={theirs.name!r}))\n"
                        f"raw_answer([types.Part.from_uri(file_uri=f.uri, mime_type='audio/mpeg'), {PROMPT!r}])",
                    )
                )
                times["reuse"]["magic"].append(timed(kernel, f"%%gemini --file {mine}\n{PROMPT}"))
                times["reuse"]["raw"].append(
                    timed(
                        kernel, f"raw_answer([types.Part.from_uri(file_uri=f.uri, mime_type='audio/mpeg'), {PROMPT!r}])"
                    )
                )
                times["inline"]["magic"].append(timed(kernel, f"%%gemini --file {pdf}\n{PROMPT}"))
                times["inline"]["raw"].append(
                    timed(
                        kernel,
                        f"raw_answer([types.Part.from_bytes(data=open({str(pdf)!r}, 'rb').read(), "
                        f"mime_type='application/pdf'), {PROMPT!r}])",
                    )
                )
                times["text"]["magic"].append(timed(kernel, f"%%gemini\n{PROMPT}"))
                times["text"]["raw"].append(timed(kernel, f"raw_answer([{PROMPT!r}])"))
                mine.unlink()
                theirs.unlink()
        uploads = len(server.uploads)
    finally:
        server.stop()
    report: dict = {"passes": PASSES, "file_bytes": SIZE, "uploads": uploads}
    for case, runs in times.items():
        best = {who: min(values) for who, values in runs.items()}
        median = {who: statistics.median(values) for who, values in runs.items()}
        report[case] = {
            "best_s": best,
            "median_s": median,
            "ratio_best": best["magic"] / best["raw"],
            "ratio_median": median["magic"] / median["raw"],
        }
    return report


if __name__ == "__main__":
    figures = main()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
