"""Which failures are retried, how long to wait (Retry-After, else backoff), and what to say meanwhile."""

from __future__ import annotations

from typing import Optional

from .request import Request

RETRYABLE_CODES = (429, 500, 502, 503, 504)


def retry_policy(request: Request, on_retry) -> dict:
    """tenacity arguments shared by the streaming and the async (many prompts) paths."""
    import tenacity

    attempts = request.connection.retries + 1

    def notify(state):
        if on_retry is not None:
            error = state.outcome.exception()
            on_retry(state.attempt_number, attempts - 1, retry_reason(error, state.upcoming_sleep))

    return dict(
        stop=tenacity.stop_after_attempt(attempts),
        retry=tenacity.retry_if_exception(is_retryable),
        wait=RetryAfterOrBackoff(request.connection.retry_delay),
        before_sleep=notify,
        reraise=True,
    )


def is_retryable(error: BaseException) -> bool:
    code = getattr(error, "code", None)
    if isinstance(code, int) and hasattr(error, "status"):  # an APIError
        return code in RETRYABLE_CODES
    return type(error).__name__ in DROPPED_CONNECTION


DROPPED_CONNECTION = ("RemoteProtocolError", "ConnectError", "ReadError", "ConnectionResetError")


class RetryAfterOrBackoff:
    """Wait what the server asked for (Retry-After), else back off exponentially."""

    def __init__(self, initial: float, maximum: float = 60.0):
        self.initial = initial
        self.maximum = maximum

    def __call__(self, state) -> float:
        asked = retry_after(state.outcome.exception())
        if asked is not None:
            return min(asked, self.maximum)
        return min(self.initial * 2 ** (state.attempt_number - 1), self.maximum)


def retry_after(error) -> Optional[float]:
    headers = getattr(getattr(error, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare for this API; fall back to backoff
        return None


def retry_reason(error, wait: float) -> str:
    code = getattr(error, "code", None)
    what = {429: "rate limited (429)", 503: "service unavailable (503)"}.get(code) if isinstance(code, int) else None
    what = what or (f"server error ({code})" if isinstance(code, int) else "connection dropped")
    return f"{what}; retrying in {wait:.1f} s"
