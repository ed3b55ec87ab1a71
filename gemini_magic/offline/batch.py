"""The offline server's Gemini Batch API (Gemini API flavour, inlined requests).

Imported by :mod:`gemini_magic.offline` on the first batch request. The routes
and JSON shapes are the ones google-genai's ``client.batches`` uses against the
Gemini API (not Vertex):

- ``POST {v}/models/{model}:batchGenerateContent`` with
  ``{"batch": {"displayName", "inputConfig": {"requests": {"requests": [
  {"request": GenerateContentRequest, "metadata": {...}}]}}}}`` creates a job
  and answers with its long-running operation, named ``batches/ID``;
- ``GET {v}/batches/ID`` reads the operation: ``metadata.state`` goes
  ``BATCH_STATE_PENDING`` -> ``RUNNING`` -> ``SUCCEEDED`` over the server's
  ``batch_seconds``, and the finished job carries ``metadata.output.
  inlinedResponses.inlinedResponses``: ``{"response": ..., "metadata": ...}``
  or ``{"error": {"code", "message"}, "metadata": ...}`` per request, in order;
- ``GET {v}/batches`` lists, ``POST {v}/batches/ID:cancel`` cancels and
  ``DELETE {v}/batches/ID`` forgets a job.

Answers are the ones ``generateContent`` would give (directives included, but
no pacing: ``delay``, ``latency`` and stalls are ignored in a batch). A request
carrying ``[[offline job=FAILED]]`` (or CANCELLED, EXPIRED) makes the whole job
end in that state.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from .answers import merge_events
from .directives import DirectiveError
from .errors import error_body, not_found_body
from .faults import plan_answer
from .request import read_prompt

_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta."
_ids = itertools.count(1)


@dataclass
class BatchJob:
    name: str
    model: str
    display_name: str
    requests: list
    created: float
    seconds: float
    final: str = "SUCCEEDED"  # the state the job ends in
    cancelled_at: float | None = None
    responses: list | None = field(default=None, repr=False)  # computed once, when it ends


def route_batch(exchange: Any, method: str, version: str, name: str, action: str, body: dict) -> None:
    server = exchange.server
    if action == "batchGenerateContent":
        if method != "POST" or not name.startswith("models/") or name.count("/") != 1:
            return exchange.send_json(404, error_body(404, "Method not found."))
        model = name[len("models/") :]
        if not model.startswith(("gemini", "offline")):
            return exchange.send_json(404, not_found_body(model, version, "batchGenerateContent"))
        return _create(exchange, model, version, body)
    if name == "batches" and not action:
        if method != "GET":
            return exchange.send_json(404, error_body(404, "Method not found."))
        with server.lock:
            jobs = list(server.batches.values())
        return exchange.send_json(200, {"operations": [_operation(job, version, exchange) for job in jobs]})
    with server.lock:
        job = server.batches.get(name)
    if job is None or name.count("/") != 1:
        return exchange.send_json(404, error_body(404, f"Batch {name} not found.", "NOT_FOUND"))
    if method == "GET" and not action:
        return exchange.send_json(200, _operation(job, version, exchange))
    if method == "POST" and action == "cancel":
        if _state(job, time.monotonic()) in ("PENDING", "RUNNING"):
            job.cancelled_at = time.monotonic()
        return exchange.send_json(200, {})
    if method == "DELETE" and not action:
        with server.lock:
            server.batches.pop(name, None)
        return exchange.send_json(200, {})
    return exchange.send_json(404, error_body(404, "Method not found."))


def _create(exchange: Any, model: str, version: str, body: dict) -> None:
    batch: Any = body.get("batch") if isinstance(body.get("batch"), dict) else {}
    config: Any = batch.get("inputConfig") if isinstance(batch.get("inputConfig"), dict) else {}
    holder: Any = config.get("requests") if isinstance(config.get("requests"), dict) else {}
    requests = holder.get("requests")
    if not isinstance(requests, list) or not requests:
        message = "inputConfig.requests.requests must list at least one request"
        if config.get("fileName"):
            message = "the offline server takes inlined requests only, not fileName"
        return exchange.send_json(400, error_body(400, message, "INVALID_ARGUMENT"))
    final = "SUCCEEDED"
    for entry in requests:
        try:
            _, directives, _ = read_prompt(_request_of(entry))
        except DirectiveError:
            continue  # answered with an error entry when the job runs
        final = directives.get("job", final)
    server = exchange.server
    job = BatchJob(
        name=f"batches/offline{next(_ids):06d}",
        model=model,
        display_name=str(batch.get("displayName") or "offline batch"),
        requests=requests,
        created=time.monotonic(),
        seconds=float(server.batch_seconds),
        final=final,
    )
    with server.lock:
        server.batches[job.name] = job
    exchange.send_json(200, _operation(job, version, exchange))


def _request_of(entry: Any) -> dict:
    request = entry.get("request") if isinstance(entry, dict) else None
    return request if isinstance(request, dict) else {}


def _state(job: BatchJob, now: float) -> str:
    if job.cancelled_at is not None:
        return "CANCELLED"
    elapsed = now - job.created
    if elapsed < job.seconds / 4:
        return "PENDING"
    if elapsed < job.seconds:
        return "RUNNING"
    return job.final


def _operation(job: BatchJob, version: str, exchange: Any) -> dict:
    now = time.monotonic()
    state = _state(job, now)
    done = state not in ("PENDING", "RUNNING")
    count = len(job.requests)
    stats: dict[str, str] = {"requestCount": str(count)}
    metadata: dict[str, Any] = {
        "@type": _TYPE + "GenerateContentBatch",
        "model": f"models/{job.model}",
        "displayName": job.display_name,
        "createTime": _timestamp(job.created),
        "updateTime": _timestamp(now if not done else job.created + job.seconds),
        "batchStats": stats,
        "state": f"BATCH_STATE_{state}",
        "name": job.name,
    }
    operation: dict[str, Any] = {"name": job.name, "metadata": metadata}
    if not done:
        stats["pendingRequestCount"] = str(count)
        return operation
    operation["done"] = True
    metadata["endTime"] = metadata["updateTime"]
    if state != "SUCCEEDED":
        operation["error"] = {
            "code": 1 if state == "CANCELLED" else 13,
            "message": f"Offline batch job {state.lower()}.",
        }
        return operation
    responses = job.responses
    if responses is None:
        # Answered outside the lock (answering takes it), kept once: every reader sees the same answers.
        answered = [_answer(exchange, entry, job.model, version) for entry in job.requests]
        with exchange.server.lock:
            if job.responses is None:
                job.responses = answered
            responses = job.responses
    failed = sum(1 for r in responses if "error" in r)
    stats.update(successfulRequestCount=str(count - failed), failedRequestCount=str(failed))
    output = {"inlinedResponses": {"inlinedResponses": responses}}
    metadata["output"] = output
    operation["response"] = {"@type": _TYPE + "GenerateContentBatchOutput", **output}
    return operation


def _answer(exchange: Any, entry: Any, model: str, version: str) -> dict:
    """One inlined response: what generateContent would answer, or an error entry."""
    server = exchange.server
    request = _request_of(entry)
    out: dict[str, Any] = {}
    if isinstance(entry, dict) and isinstance(entry.get("metadata"), dict):
        out["metadata"] = entry["metadata"]
    try:
        prompt, directives, prompt_tokens = read_prompt(request)
    except DirectiveError as exc:
        out["error"] = {"code": 400, "message": str(exc)}
        return out
    faults = server.should_fail(directives)
    plan = plan_answer(request, model, version, directives, prompt, prompt_tokens, 0.0, exchange.api_key, faults)
    if plan.error is not None:
        status, body, _ = plan.error
        out["error"] = {"code": status, "message": body["error"]["message"]}
        return out
    last = plan.events[-1]
    if isinstance(last, bytes):
        out["error"] = {"code": 500, "message": "Offline demo: the answer could not be produced (malformed)."}
    elif "error" in last:
        out["error"] = {"code": last["error"]["code"], "message": last["error"]["message"]}
    else:
        answer = merge_events(plan.events, model)
        answer["responseId"] = server.next_response_id()
        out["response"] = answer
    return out


_WALL_OFFSET = time.time() - time.monotonic()


def _timestamp(monotonic: float) -> str:
    seconds = monotonic + _WALL_OFFSET
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e6):06d}Z"
