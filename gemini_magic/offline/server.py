"""The offline server itself: a threaded HTTP server on loopback that records requests."""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..secrets import REDACTED

_SECRET_QUERY = re.compile(r"([?&]key=)[^&\s]*")


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

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        delay: float = 0.03,
        verbose: bool = False,
        latency: float = 0.0,
        batch_seconds: float = 1.0,
        processing_seconds: float = 0.6,
        file_seconds: float = 48 * 3600,
    ):
        self.host = host
        self.delay = delay
        self.verbose = verbose
        self.latency = latency  # seconds before each generate answer
        self.batch_seconds = batch_seconds  # how long a Batch API job takes
        self._in_flight = 0
        self.max_concurrent = 0  # most generate requests in flight at once
        self.batches: dict = {}  # Batch API jobs by name (see offline_batch)
        self.processing_seconds = processing_seconds  # how long an uploaded video is PROCESSING
        self.processing_fails = False  # True: uploaded videos end FAILED instead of ACTIVE
        self.file_seconds = file_seconds  # how long an uploaded file lives (48 h, as at Google)
        self.files: dict = {}  # Files API files by name (see offline.files): size and hash, no bytes
        self.upload_sessions: dict = {}  # resumable uploads under way, by upload id
        self.uploaded: list = []  # every finished upload, oldest first (see ``uploads``)
        self._port = port
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: dict[str, int] = {}
        self._stopping = threading.Event()
        self.connections: set = set()
        self._answers = 0
        self._scripts: list = []  # [reply, times left], see offline.scripts
        self.first_events: list[float] = []  # time.time() when each stream's first event was written

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> OfflineGemini:
        with self.lock:
            if self._httpd is not None:
                return self
            server_class, handler_class = _http_classes()
            self._stopping.clear()
            httpd = server_class((self.host, self._port), handler_class)
            httpd.owner = self
            self._httpd = httpd
            self._port = httpd.server_address[1]
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"offline-gemini:{self._port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        self._stopping.set()  # ends stalls and pacing waits at once
        httpd.shutdown()
        httpd.server_close()
        with self.lock:
            connections = list(self.connections)
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
        with self.lock:
            return list(self._requests)

    @property
    def uploads(self) -> list[dict]:
        """Every Files API upload finished since the last ``clear()`` (name, mimeType, sizeBytes,
        sha256...), oldest first. The files themselves stay until they expire or are deleted."""
        with self.lock:
            return [dict(record) for record in self.uploaded]

    def clear(self) -> None:
        """Forget recorded requests and uploads, the ``fail_times`` counters and ``max_concurrent``."""
        with self.lock:
            self._requests.clear()
            self.uploaded.clear()
            self._failures.clear()
            self._scripts.clear()
            self.max_concurrent = 0

    def script(self, reply) -> None:
        """Send ``reply`` (an ``offline.scripts.Reply``) as written to the next matching request."""
        with self.lock:
            self._scripts.append([reply, reply.times])

    def take_script(self, path: str):
        with self.lock:
            for entry in self._scripts:
                reply, left = entry
                if reply.match in path and left > 0:
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._scripts.remove(entry)
                    return reply
        return None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stamp_first_event(self) -> None:
        with self.lock:
            self.first_events.append(time.time())

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self._requests.append(request)

    def should_fail(self, directives: dict) -> bool:
        times = directives.get("fail_times")
        if times is None:
            return True
        key = " ".join(f"{k}={v}" for k, v in sorted(directives.items()))
        with self.lock:
            seen = self._failures.get(key, 0)
            self._failures[key] = seen + 1
        return seen < times

    @contextlib.contextmanager
    def answering(self):
        """Count a generate request in flight (for ``max_concurrent``)."""
        with self.lock:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
        try:
            yield
        finally:
            with self.lock:
                self._in_flight -= 1

    def next_response_id(self) -> str:
        with self.lock:
            self._answers += 1
            return f"offline-{self._answers:06d}"

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


@functools.cache
def _http_classes() -> tuple[type, type]:
    """The http.server classes, built on first use to keep imports cheap."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .routes import Exchange

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # many clients connecting at once (the default 5 drops some)
        block_on_close = False
        owner: OfflineGemini

        def process_request(self, request: Any, client_address: Any) -> None:
            with self.owner.lock:
                self.owner.connections.add(request)
            super().process_request(request, client_address)

        def shutdown_request(self, request: Any) -> None:
            with self.owner.lock:
                self.owner.connections.discard(request)
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
            Exchange(self.server.owner, self).run()

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
