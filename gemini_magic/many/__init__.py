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

The parts, one job each: ``items`` (the data and the template), ``results``
(kept answers, what to ask, counts), ``limits`` (rate limits), ``engine`` (the
concurrent run), ``batch`` (the Batch API), ``progress`` (progress and summary)
and ``entry`` (the entry points: the magic's ``run_magic``, ``map`` and
``collect_job``).
"""

from ..errors import ManyError
from .engine import shutdown
from .entry import collect_job, map, run_magic

__all__ = ["map", "run_magic", "collect_job", "shutdown", "ManyError"]
