"""What the offline server sends for one generate request: the answer's events,
its pacing, and the faults its directives inject (errors, blocks, drops, stalls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .answers import SAFETY_RATINGS, answer_events
from .directives import FAULT_KEYS
from .errors import error_body, not_found_body


@dataclass
class AnswerPlan:
    """What to send for one generate request."""

    events: list  # dicts (JSON events) or bytes (raw, malformed data)
    delay: float = 0.0
    stall_headers: float = 0.0
    stall_at: int | None = None  # stall before sending event #stall_at (>= 1)
    stall: float = 0.0
    drop_at: int | None = None  # close the connection after this many events
    error: tuple | None = None  # (status, body, headers): fail before answering


def plan_answer(
    body: dict,
    model: str,
    version: str,
    directives: dict,
    prompt: str,
    prompt_tokens: int,
    delay: float,
    api_key: str,
    faults: bool,
) -> AnswerPlan:
    """Turn a request and its directives into what to send. ``faults`` is False
    once a ``fail_times`` budget is spent: fault directives are then ignored."""
    d = directives if faults else {k: v for k, v in directives.items() if k not in FAULT_KEYS}
    plan = AnswerPlan(events=[], delay=d.get("delay", delay))
    stall_after, stall = d.get("stall_after"), d.get("stall", 1.0)
    plan.stall_headers = d.get("stall_headers", 0.0) + (stall if stall_after == 0 else 0.0)
    if stall_after:
        plan.stall_at, plan.stall = stall_after, stall

    plan.error = _failure(
        d, model, version, api_key, fail_times_alone=faults and ("fail_times" in d and not d.keys() & FAULT_KEYS)
    )
    if plan.error is not None:
        return plan
    if d.get("block"):
        feedback: dict[str, Any] = {"blockReason": d["block"]}
        if d["block"] == "SAFETY":
            feedback["safetyRatings"] = SAFETY_RATINGS
        plan.events = [
            {
                "promptFeedback": feedback,
                "modelVersion": f"{model}-offline",
                "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
            }
        ]
        return plan

    events = answer_events(body, model, d, prompt, prompt_tokens)
    if "malformed_after" in d:
        events = events[: d["malformed_after"]] + [
            b'{"candidates": [{"content": {"parts": [{"text": "this event is cut sh'
        ]
    elif "error_after" in d:
        events = events[: d["error_after"]] + [error_body(d.get("status", 500))]
    plan.drop_at = d.get("drop_after")
    plan.events = events
    return plan


def _failure(d: dict, model: str, version: str, api_key: str, fail_times_alone: bool) -> tuple | None:
    """``(status, body, headers)`` when the request is to fail outright."""
    if d.get("echo_key"):
        return (
            400,
            error_body(
                400,
                "API key not valid. Please pass a valid API key. (The offline server"
                f" echoes the key it received: {api_key!r})",
            ),
            [],
        )
    status = d.get("status")
    if status is None and "retry_after" in d:
        status = 429
    if status is None and fail_times_alone:
        status = 503
    if status is None or "error_after" in d:
        return None
    if status == 404:
        return 404, not_found_body(model, version), []
    headers, details = [], []
    if status == 400:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        )
    if "retry_after" in d:
        seconds = d["retry_after"]
        text = str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"
        headers.append(("Retry-After", text))
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{text}s"})
    return status, error_body(status, details=details), headers
