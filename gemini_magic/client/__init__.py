"""The one family of modules that talks to google-genai: client, request, stream, errors.

``google.genai`` is imported lazily (it costs about 0.4 s) so that
``%load_ext gemini_magic`` stays instant. Nothing outside this package touches
SDK types: answers are turned into plain :class:`Delta` values and every SDK or
transport failure into a :class:`~gemini_magic.errors.GeminiError` with a
message a user can act on.

- ``connection``: where requests go, the cached client;
- ``request``: what one call sends, in the SDK's form;
- ``stream``: one streamed answer, retried before its first chunk;
- ``chunks``: SDK chunks read into deltas;
- ``retry``: what is retried, and how long to wait;
- ``errors``: SDK and transport exceptions into one sentence;
- ``aio``: one whole answer through the async client (many prompts);
- ``batch``: the Batch API;
- ``count``: countTokens (``--count``, ``--dry-run``);
- ``files``: the Files API: uploads, their reuse, the wait while Google processes a video.
"""

from .aio import answer_async
from .batch import BatchJob, get_batch, submit_batch
from .chunks import Delta
from .connection import Connection, forget_clients, get_client
from .count import TokenCount, count_prompt, count_tokens
from .files import forget_uploads, prepare, uploaded_files
from .request import Request
from .stream import stream_answer

__all__ = [
    "BatchJob",
    "Connection",
    "Delta",
    "Request",
    "TokenCount",
    "answer_async",
    "count_prompt",
    "count_tokens",
    "forget_uploads",
    "forget_clients",
    "get_batch",
    "get_client",
    "prepare",
    "stream_answer",
    "submit_batch",
    "uploaded_files",
]
