"""A local server that speaks the Gemini REST protocol and gives demo answers.

Point the real ``google-genai`` client at it and everything works with no API
key and no network: ``%%gemini --offline`` uses it for classes and demos, the
test suite uses it instead of patching the SDK, and benchmarks use it to stream
thousands of chunks. Its answers are **labelled demo text, not Gemini**.

From Python::

    from gemini_magic.offline import OfflineGemini
    from google import genai
    from google.genai import types

    with OfflineGemini(delay=0) as server:
        client = genai.Client(api_key="anything",
                              http_options=types.HttpOptions(base_url=server.url))
        for chunk in client.models.generate_content_stream(
                model="gemini-2.5-flash", contents="Explain p-values"):
            print(chunk.text, end="")
        server.requests[-1].json      # exactly what the SDK sent (key redacted)

From a shell (serves until Ctrl-C and prints what to export)::

    python -m gemini_magic.offline [--port 8765] [--delay 0.03] [--latency 0] [--verbose]
    export GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765 GEMINI_API_KEY=anything

Endpoints, under any API version (``/v1/``, ``/v1beta/``...):
``models/{model}:streamGenerateContent?alt=sse``, ``models/{model}:generateContent``,
``models/{model}:countTokens``, ``GET models`` and ``GET models/{model}``. A model is
known if its name starts with ``gemini`` or ``offline``; others get Google's 404.

The Batch API (Gemini API flavour, inlined requests), as ``client.batches`` uses
it: ``POST models/{model}:batchGenerateContent`` creates a job (an operation
named ``batches/ID``), ``GET batches/ID`` reads it, ``GET batches`` lists,
``POST batches/ID:cancel`` and ``DELETE batches/ID``. A job is
``BATCH_STATE_PENDING`` for the first quarter of ``batch_seconds`` (default 1),
then ``BATCH_STATE_RUNNING``, then ``BATCH_STATE_SUCCEEDED`` with one inlined
response per request, in order (an ``error`` entry for a request whose
directives make it fail). Batches live as long as the server.

The Files API, as ``client.files`` uses it (see ``offline.files``): resumable uploads
(``POST upload/{version}/files`` to start, then the pieces to the ``X-Goog-Upload-URL`` it
hands back, on loopback), ``GET files/ID``, ``GET files`` and ``DELETE files/ID``. A video is
``PROCESSING`` for ``processing_seconds`` (default 0.6) after its upload, then ``ACTIVE``;
a file expires ``file_seconds`` (48 hours) after it. ``fileData`` parts naming a missing or
expired file are answered 403, one still processing 400. ``server.uploads`` lists the
finished uploads (size and sha256; the bytes are not kept). ``countTokens`` answers
``promptTokensDetails`` by modality (text, image, document, audio, video).

``OfflineGemini(latency=0.2)`` waits that long before every generate answer
(a model's time to first byte, for benchmarks); ``server.max_concurrent`` is the
most generate requests it has had in flight at once (``clear()`` resets it).

The answer is a Markdown demo (heading, an echo of your prompt, a list and a
Python code block), the same for the same prompt, streamed in chunks of 20-40
characters with ``delay`` seconds between them. ``generationConfig`` is honoured
roughly: ``maxOutputTokens`` cuts the answer (about 4 characters a token) and
ends it with ``MAX_TOKENS``; ``responseMimeType: application/json`` gives a small
JSON object, or with ``responseJsonSchema``/``responseSchema`` a value that fits
the schema (three items per array); ``thinkingConfig.includeThoughts`` adds
thought summaries; a ``googleSearch`` tool adds ``groundingMetadata`` citing two
example.com/example.org pages. The demo answer lists what else the request
carried (images, earlier turns of a conversation, search).

Directives
----------
Put ``[[offline key=value ...]]`` anywhere in the prompt (or the system
instruction; the prompt wins) to shape that one answer. It is removed from the
echoed prompt. An unknown key or a bad value is answered with a 400 that says so.
``N`` counts events sent (thought summaries included)::

    chunks=N chunk_chars=C   exactly N text chunks of exactly C characters each
                             (Markdown filler, C defaults to 20; maxOutputTokens
                             is then ignored)
    delay=S                  seconds between chunks (0: as fast as possible)
    thoughts=1               thought-summary parts first; usage gets thoughtsTokenCount
    status=CODE              fail with HTTP CODE (400-599) and Google's error body:
                             400 INVALID_ARGUMENT (API key not valid), 401
                             UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND,
                             429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE...
    retry_after=S            add a Retry-After header (and RetryInfo); alone: 429
    fail_times=K             the faults apply only to the first K requests carrying
                             the same directive, then answers are normal (alone:
                             503). Add tag=NAME to keep counters of tests apart.
    echo_key=1               400 whose message echoes the API key received (a leaky
                             server, to test the client's redaction)
    block=REASON             prompt blocked: promptFeedback.blockReason, no candidates
                             (SAFETY, OTHER, BLOCKLIST, PROHIBITED_CONTENT, IMAGE_SAFETY)
    finish=REASON after=N    N events, then a candidate that ends with finishReason
                             REASON (SAFETY with safetyRatings, RECITATION with
                             citationMetadata, MAX_TOKENS, OTHER...) and usage
    drop_after=N             send N events, then close the connection mid-body
    malformed_after=N        after N events, one whose data is not JSON
    error_after=N            after N events, an in-stream {"error": ...} event
                             (code 500, or the one given by status=)
    stall_after=N stall=S    after N events, send nothing for S seconds (default 1),
                             then go on; N=0 stalls before the response headers,
                             as Gemini does before the first chunk
    stall_headers=S          stall S seconds before the response headers
    echo=1                   the answer is the prompt itself (directive removed),
                             split like chunk_chars= if given; for testing how
                             untrusted text is shown
    tag=NAME                 ignored; tells apart otherwise identical directives
    latency=S                wait S seconds before answering (default: the
                             server's ``latency``, 0); not a fault, so it also
                             applies after a ``fail_times`` budget is spent
    job=STATE                in a Batch API request: the whole job ends in
                             JOB_STATE_STATE (FAILED, CANCELLED, EXPIRED)
    image=N                  N small generated PNGs (inlineData parts) spread
                             through the answer (at most 16); a model whose name
                             has "image" in it answers with at least one
    outcome=WORD             with a codeExecution tool: the run ends OK (the
                             default), FAILED or DEADLINE_EXCEEDED

A ``codeExecution`` tool adds an ``executableCode`` part and its
``codeExecutionResult`` a third of the way in; a ``urlContext`` tool adds
``urlContextMetadata`` listing every http(s) address in the prompt, with status
ERROR, PAYWALL or UNSAFE when the address holds ``fail``, ``paywall`` or
``unsafe``, else SUCCESS (see :mod:`gemini_magic.offline.media`).

For ``generateContent`` (no streaming) the events are merged into one answer;
``drop_after`` cuts the body, ``malformed_after`` sends a broken body and the
stalls happen before the headers.

Every request is recorded (``server.requests``, ``server.clear()``) with the API
key replaced by ``<redacted>``; the key is never logged or echoed except by
``echo_key=1``. Only the standard library is used, and ``http.server`` is
imported on ``start()``, so importing this module costs next to nothing.
"""

from .directives import DirectiveError
from .server import OfflineGemini, RecordedRequest, shared_server

__all__ = ["OfflineGemini", "RecordedRequest", "DirectiveError", "shared_server"]
