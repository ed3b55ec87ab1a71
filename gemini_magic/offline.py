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

For ``generateContent`` (no streaming) the events are merged into one answer;
``drop_after`` cuts the body, ``malformed_after`` sends a broken body and the
stalls happen before the headers.

Every request is recorded (``server.requests``, ``server.clear()``) with the API
key replaced by ``<redacted>``; the key is never logged or echoed except by
``echo_key=1``. Only the standard library is used, and ``http.server`` is
imported on ``start()``, so importing this module costs next to nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from .offline_answers import _merge, demo_answer, filler, schema_example, split_words
from .offline_directives import DirectiveError, parse_directives
from .offline_errors import _error_body, _not_found
from .offline_plan import _Plan, _plan
from .offline_request import _prompt_of

__all__ = ["OfflineGemini", "RecordedRequest", "DirectiveError", "shared_server"]

REDACTED = "<redacted>"

MODELS = (
    ("gemini-flash-latest", "Gemini Flash Latest"),
    ("gemini-3.8-flash", "Gemini 3.8 Flash"),
    ("gemini-3.5-flash", "Gemini 3.5 Flash"),
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
)

_SECRET_QUERY = re.compile(r"([?&]key=)[^&\s]*")

# Importable from here as before the split (tests and benchmarks use them);
# not in __all__, so help() still documents only the server.
_MOVED = (demo_answer, filler, parse_directives, schema_example, split_words)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, with the API key redacted."""

    method: str  # "GET" or "POST"
    path: str  # without the query, e.g. "/v1/models/gemini-2.5-flash:generateContent"
    query: dict  # {"alt": "sse"}; a ``key`` parameter is redacted
    headers: dict  # lower-cased names; x-goog-api-key/authorization redacted
    json: Any  # the parsed body, or None (no body, or not JSON)


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class OfflineGemini:
    """A Gemini-protocol server on a daemon thread.

    ``OfflineGemini(host="127.0.0.1", port=0, *, delay=0.03, verbose=False)``;
    ``port=0`` picks a free port. ``start()`` returns the server, so
    ``server = OfflineGemini(delay=0).start()`` works, and so does ``with``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.03,
                 verbose: bool = False, latency: float = 0.0, batch_seconds: float = 1.0):
        self.host = host
        self.delay = delay
        self.verbose = verbose
        self.latency = latency  # seconds before each generate answer
        self.batch_seconds = batch_seconds  # how long a Batch API job takes
        self._in_flight = 0
        self.max_concurrent = 0  # most generate requests in flight at once
        self._batches: dict = {}  # Batch API jobs by name (see offline_batch)
        self._port = port
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: dict[str, int] = {}
        self._stopping = threading.Event()
        self._connections: set = set()
        self._answers = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> OfflineGemini:
        with self._lock:
            if self._httpd is not None:
                return self
            server_class, handler_class = _http_classes()
            self._stopping.clear()
            httpd = server_class((self.host, self._port), handler_class)
            httpd.owner = self
            self._httpd = httpd
            self._port = httpd.server_address[1]
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"offline-gemini:{self._port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        self._stopping.set()  # ends stalls and pacing waits at once
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:  # wake handlers idling on keep-alive connections
            try:
                sock.shutdown(2)  # socket.SHUT_RDWR
            except OSError:
                pass
        if thread is not None:
            thread.join()

    def __enter__(self) -> OfflineGemini:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if not self.running:
            raise RuntimeError("OfflineGemini is not started; call .start() first.")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<OfflineGemini {where} delay={self.delay}>"

    # -- recorded state ----------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget recorded requests, the ``fail_times`` counters and ``max_concurrent``."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self.max_concurrent = 0

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _should_fail(self, directives: dict) -> bool:
        times = directives.get("fail_times")
        if times is None:
            return True
        key = " ".join(f"{k}={v}" for k, v in sorted(directives.items()))
        with self._lock:
            seen = self._failures.get(key, 0)
            self._failures[key] = seen + 1
        return seen < times

    @contextlib.contextmanager
    def _answering(self):
        """Count a generate request in flight (for ``max_concurrent``)."""
        with self._lock:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def _next_response_id(self) -> str:
        with self._lock:
            self._answers += 1
            return f"offline-{self._answers:06d}"

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class _Exchange:
    """One request/response on a handler: parse, record, route, answer."""

    _ROUTE = re.compile(r"^/+(?P<version>v[^/]*)/(?P<rest>.*)$")

    def __init__(self, server: OfflineGemini, handler: Any):
        self.server = server
        self.h = handler
        self.headers_sent = False

    # -- input -------------------------------------------------------------

    def run(self) -> None:
        from urllib.parse import parse_qsl, urlsplit

        h = self.h
        split = urlsplit(h.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        self.api_key = headers.get("x-goog-api-key") or query.get("key") or ""
        length = int(headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        for name in ("x-goog-api-key", "authorization"):
            if name in headers:
                headers[name] = REDACTED
        if "key" in query:
            query["key"] = REDACTED
        self.server._record(RecordedRequest(h.command, split.path, query, headers, body))

        try:
            if raw and body is None:
                self.send_json(400, _error_body(
                    400, "Invalid JSON payload received. Unexpected token.", "INVALID_ARGUMENT"))
            else:
                self.route(h.command, split.path, body if isinstance(body, dict) else {})
        except (ConnectionError, TimeoutError):
            h.close_connection = True
        except Exception as exc:  # a bug here: answer 500, never a traceback on stderr
            if self.server.verbose:
                import traceback

                traceback.print_exc()
            if self.headers_sent:
                h.close_connection = True
            else:
                self.send_json(500, _error_body(
                    500, f"Offline server error: {type(exc).__name__}: {exc}"))

    def route(self, method: str, path: str, body: dict) -> None:
        match = self._ROUTE.match(path)
        if match is None:
            return self.send_json(404, _error_body(404, "Method not found."))
        version, rest = match.group("version"), match.group("rest")
        name, _, action = rest.partition(":")
        if name == "batches" or name.startswith("batches/") or action == "batchGenerateContent":
            from .offline_batch import route_batch

            return route_batch(self, method, version, name, action, body)
        if method == "GET" and name == "models" and not action:
            return self.send_json(200, {"models": [_model_info(m) for m, _ in MODELS]})
        if not name.startswith("models/") or name.count("/") != 1:
            return self.send_json(404, _error_body(404, "Method not found."))
        model = name[len("models/"):]
        known = model.startswith(("gemini", "offline"))
        if method == "GET" and not action:
            if not known:
                return self.send_json(404, _not_found(model, version))
            return self.send_json(200, _model_info(model))
        if method != "POST" or action not in (
                "generateContent", "streamGenerateContent", "countTokens"):
            return self.send_json(404, _error_body(404, "Method not found."))
        if not known:
            return self.send_json(404, _not_found(
                model, version, "countTokens" if action == "countTokens" else "generateContent"))

        try:
            if action == "countTokens":
                return self.count_tokens(body)
            prompt, directives, prompt_tokens = _prompt_of(body)
        except DirectiveError as exc:
            return self.send_json(400, _error_body(400, str(exc), "INVALID_ARGUMENT"))
        faults = self.server._should_fail(directives)
        plan = _plan(body, model, version, directives, prompt, prompt_tokens,
                     self.server.delay, self.api_key, faults)
        if plan.error is None:
            response_id = self.server._next_response_id()
            for event in plan.events:
                if isinstance(event, dict) and "error" not in event:
                    event["responseId"] = response_id
        with self.server._answering():
            self.server._wait(directives.get("latency", self.server.latency))
            if action == "streamGenerateContent":
                self.stream(plan)
            else:
                self.answer_once(plan, model)

    # -- answers -----------------------------------------------------------

    def count_tokens(self, body: dict) -> None:
        request = body.get("generateContentRequest")
        source = request if isinstance(request, dict) else body
        _, _, tokens = _prompt_of(source)
        self.send_json(200, {"totalTokens": tokens,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]})

    def stream(self, plan: _Plan) -> None:
        h, server = self.h, self.server
        server._wait(plan.stall_headers)
        if plan.error is not None:
            return self.send_json(*plan.error)
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("X-Offline-Gemini", "demo answer, not Gemini")
        h.end_headers()
        self.headers_sent = True
        write = h.wfile.write
        for index, event in enumerate(plan.events):
            if index == plan.drop_at:
                return self.drop()
            if index == plan.stall_at:
                server._wait(plan.stall)
            elif index and plan.delay:
                server._wait(plan.delay)
            data = event if isinstance(event, bytes) else json.dumps(
                event, ensure_ascii=False, separators=(",", ":")).encode()
            data = b"data: " + data + b"\r\n\r\n"
            write(b"%x\r\n%b\r\n" % (len(data), data))
        if plan.drop_at is not None:
            return self.drop()
        write(b"0\r\n\r\n")

    def answer_once(self, plan: _Plan, model: str) -> None:
        self.server._wait(plan.stall_headers + (plan.stall if plan.stall_at else 0.0)
                          + plan.delay * max(len(plan.events) - 1, 0))
        if plan.error is not None:
            return self.send_json(*plan.error)
        last = plan.events[-1]
        if isinstance(last, bytes):
            data = last
        elif "error" in last:
            return self.send_json(last["error"]["code"], last)
        else:
            data = json.dumps(_merge(plan.events, model), ensure_ascii=False, indent=2).encode()
        h = self.h
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        self.headers_sent = True
        if plan.drop_at is not None:
            h.wfile.write(data[:len(data) // 2])
            return self.drop()
        h.wfile.write(data)

    def drop(self) -> None:
        """Close the connection in the middle of the body (a clean FIN)."""
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(2)  # socket.SHUT_RDWR
        except OSError:
            pass

    def send_json(self, status: int, obj: Any, headers: list | tuple = ()) -> None:
        h = self.h
        data = json.dumps(obj, ensure_ascii=False, indent=2).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        self.headers_sent = True
        h.wfile.write(data)


def _model_info(model: str) -> dict:
    display = dict(MODELS).get(model) or model.replace("-", " ").title()
    return {
        "name": f"models/{model}",
        "version": "offline",
        "displayName": display,
        "description": f"{display}, answered by gemini_magic's offline demo server (not Gemini).",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": True,
    }


@functools.lru_cache(maxsize=None)
def _http_classes() -> tuple[type, type]:
    """The http.server classes, built on first use to keep imports cheap."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # many clients connecting at once (the default 5 drops some)
        block_on_close = False
        owner: OfflineGemini

        def process_request(self, request: Any, client_address: Any) -> None:
            with self.owner._lock:
                self.owner._connections.add(request)
            super().process_request(request, client_address)

        def shutdown_request(self, request: Any) -> None:
            with self.owner._lock:
                self.owner._connections.discard(request)
            super().shutdown_request(request)

        def handle_error(self, request: Any, client_address: Any) -> None:
            if self.owner.verbose and not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                super().handle_error(request, client_address)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gemini-magic-offline"
        sys_version = ""
        disable_nagle_algorithm = True
        server: Server

        def version_string(self) -> str:
            return self.server_version

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionError, TimeoutError):
                self.close_connection = True

        def do_GET(self) -> None:
            _Exchange(self.server.owner, self).run()

        do_POST = do_DELETE = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            if self.server.owner.verbose:
                message = _SECRET_QUERY.sub(r"\1" + REDACTED, format % args)
                sys.stderr.write(f"offline-gemini {self.log_date_time_string()} {message}\n")

    return Server, Handler


_shared: OfflineGemini | None = None
_shared_lock = threading.Lock()


def shared_server() -> OfflineGemini:
    """The process-wide server (default pace), started on first call."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = OfflineGemini().start()
        return _shared


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m gemini_magic.offline",
        description="Serve offline Gemini demo answers over the Gemini REST protocol.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--delay", type=float, default=0.03,
                        help="seconds between streamed chunks (default 0.03)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds to wait before each answer (default 0)")
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    server = OfflineGemini(args.host, args.port, delay=args.delay, verbose=args.verbose,
                           latency=args.latency).start()
    print(f"Offline Gemini demo server (answers are demo text, not Gemini) on {server.url}")
    print("Point google-genai and %%gemini at it with:\n")
    print(f"    export GOOGLE_GEMINI_BASE_URL={server.url} GEMINI_API_KEY=anything\n")
    print("Directives such as [[offline chunks=100 delay=0]] in a prompt shape the answer;")
    print("see `python -c 'import gemini_magic.offline as m; help(m)'`. Ctrl-C stops.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()