"""Many prompts at once, the limits: requests-per-minute and tokens-per-minute token buckets."""

from __future__ import annotations

import asyncio
import time
from typing import Optional

from ..client import Request
from .results import Counts


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


def estimate_tokens(request: Request, counts: Counts) -> float:
    chars = sum(len(p) for p in request.parts if isinstance(p, str)) + len(request.system or "")
    images = sum(1 for p in request.parts if not isinstance(p, str))
    answers = request.max_tokens or (counts.response_tokens / counts.done if counts.done else 0)
    return chars / 4 + 258 * images + answers
