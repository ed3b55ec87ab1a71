"""The Gemini Batch API: submit one job of inlined requests, read it back with its answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import BatchJobError
from ..secrets import redact
from .chunks import chunk_delta, enum_name
from .connection import Connection, get_client
from .errors import describe_error
from .request import Request, generation_config, sdk_contents


@dataclass
class BatchJob:
    """A Gemini Batch API job as last read: its state and, once done, its answers."""

    name: str  # "batches/..."
    state: str  # "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED", ...
    done: bool
    model: Optional[str] = None
    created: object = None  # datetime, when the server said
    # Once succeeded: one (metadata key or None, Delta or GeminiError) per request, in order.
    answers: Optional[list] = None


def submit_batch(requests: list, keys: list, *, display_name: str = "gemini_magic") -> BatchJob:
    """Create one Batch API job with ``requests`` inlined (all for one model). Their files go
    by URI (uploaded first, or reused): the inlined requests of a job share one size limit."""
    from google.genai import types

    from .files import prepare

    first = requests[0]
    client = get_client(first.connection)
    try:
        src = [
            types.InlinedRequest(
                contents=sdk_contents(prepare(r, limit=0)), config=generation_config(r), metadata={"key": str(k)}
            )
            for r, k in zip(requests, keys)
        ]
        job = client.batches.create(
            model=first.model, src=src, config=types.CreateBatchJobConfig(display_name=display_name)
        )
    except Exception as error:
        raise describe_error(error, first) from None
    return batch_job_of(job, first)


def get_batch(connection: Connection, name: str) -> BatchJob:
    """Read a Batch API job by name (``batches/ID``)."""
    request = Request(prompt="", model="", connection=connection)
    try:
        job = get_client(connection).batches.get(name=name)
    except Exception as error:
        if getattr(error, "code", None) == 404 or isinstance(error, ValueError):
            raise BatchJobError(
                f"No Gemini batch job named {name!r} (it may have been deleted, or have expired)."
            ) from None
        raise describe_error(error, request) from None
    return batch_job_of(job, request)


# The job states Google documents; "done" ones end the wait.
ACTIVE_STATES = (
    "JOB_STATE_UNSPECIFIED",
    "JOB_STATE_QUEUED",
    "JOB_STATE_PENDING",
    "JOB_STATE_RUNNING",
    "JOB_STATE_CANCELLING",
    "JOB_STATE_UPDATING",
    "JOB_STATE_PAUSED",
)
KNOWN_STATES = ACTIVE_STATES + (
    "JOB_STATE_SUCCEEDED",
    "JOB_STATE_FAILED",
    "JOB_STATE_CANCELLED",
    "JOB_STATE_EXPIRED",
    "JOB_STATE_PARTIALLY_SUCCEEDED",
)


def batch_job_of(job, request: Request) -> BatchJob:
    from google.genai import errors

    state = enum_name(job.state) if job.state is not None else "JOB_STATE_UNSPECIFIED"
    done = bool(job.done)
    if state not in KNOWN_STATES:
        # Not a state Google documents: say so (as plain words) and stop waiting for it.
        state, done = "JOB_STATE_UNKNOWN", True
    name = redact(str(job.name or ""))
    status = BatchJob(name, state, done, redact((job.model or "").removeprefix("models/")), job.create_time)
    inlined = job.dest.inlined_responses if job.dest is not None else None
    if inlined is not None:
        status.answers = []
        for item in inlined:
            key = (item.metadata or {}).get("key")
            if item.error is not None or item.response is None:
                code = (item.error.code if item.error is not None else None) or 500
                message = (item.error.message if item.error is not None else None) or "no answer in the batch"
                api_error = errors.APIError(code, {"error": {"code": code, "message": message}})
                status.answers.append((key, describe_error(api_error, request)))
            else:
                status.answers.append((key, chunk_delta(item.response)))
    return status
