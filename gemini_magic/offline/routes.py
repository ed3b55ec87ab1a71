"""One request/response of the offline server: parse, record, route, answer (SSE or JSON)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..secrets import REDACTED
from .answers import merge_events
from .directives import DirectiveError
from .errors import error_body, not_found_body
from .faults import AnswerPlan, plan_answer
from .request import read_prompt
from .scripts import send as send_script
from .server import RecordedRequest

if TYPE_CHECKING:
    from .server import OfflineGemini

MODELS = (
    ("gemini-flash-latest", "Gemini Flash Latest"),
    ("gemini-3.8-flash", "Gemini 3.8 Flash"),
    ("gemini-3.5-flash", "Gemini 3.5 Flash"),
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
)


class Exchange:
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
        self.server.record(RecordedRequest(h.command, split.path, query, headers, body))

        try:
            scripted = self.server.take_script(split.path)
            if scripted is not None:
                return send_script(self, scripted)
            if split.path.startswith("/upload/") and h.command == "POST":
                from .files import route_upload

                return route_upload(self, query, headers, raw)
            if raw and body is None:
                self.send_json(
                    400, error_body(400, "Invalid JSON payload received. Unexpected token.", "INVALID_ARGUMENT")
                )
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
                self.send_json(500, error_body(500, f"Offline server error: {type(exc).__name__}: {exc}"))

    def route(self, method: str, path: str, body: dict) -> None:
        match = self._ROUTE.match(path)
        if match is None:
            return self.send_json(404, error_body(404, "Method not found."))
        version, rest = match.group("version"), match.group("rest")
        name, _, action = rest.partition(":")
        if name == "batches" or name.startswith("batches/") or action == "batchGenerateContent":
            from .batch import route_batch

            return route_batch(self, method, version, name, action, body)
        if name == "files" or name.startswith("files/"):
            from .files import route_files

            return route_files(self, method, name)
        if method == "GET" and name == "models" and not action:
            return self.send_json(200, {"models": [_model_info(m) for m, _ in MODELS]})
        if not name.startswith("models/") or name.count("/") != 1:
            return self.send_json(404, error_body(404, "Method not found."))
        model = name[len("models/") :]
        known = model.startswith(("gemini", "offline"))
        if method == "GET" and not action:
            if not known:
                return self.send_json(404, not_found_body(model, version))
            return self.send_json(200, _model_info(model))
        if method != "POST" or action not in ("generateContent", "streamGenerateContent", "countTokens"):
            return self.send_json(404, error_body(404, "Method not found."))
        if not known:
            return self.send_json(
                404, not_found_body(model, version, "countTokens" if action == "countTokens" else "generateContent")
            )

        from .files import file_problem

        problem = file_problem(self.server, body)
        if problem is not None:
            return self.send_json(*problem)
        try:
            if action == "countTokens":
                return self.count_tokens(body)
            prompt, directives, prompt_tokens = read_prompt(body)
        except DirectiveError as exc:
            return self.send_json(400, error_body(400, str(exc), "INVALID_ARGUMENT"))
        faults = self.server.should_fail(directives)
        plan = plan_answer(
            body, model, version, directives, prompt, prompt_tokens, self.server.delay, self.api_key, faults
        )
        if plan.error is None:
            response_id = self.server.next_response_id()
            for event in plan.events:
                if isinstance(event, dict) and "error" not in event:
                    event["responseId"] = response_id
        with self.server.answering():
            self.server.pause(directives.get("latency", self.server.latency))
            if action == "streamGenerateContent":
                self.stream(plan)
            else:
                self.answer_once(plan, model)

    # -- answers -----------------------------------------------------------

    def count_tokens(self, body: dict) -> None:
        from .files import count_by_modality

        request = body.get("generateContentRequest")
        read_prompt(request if isinstance(request, dict) else body)  # a bad directive is a 400, as for generate
        self.send_json(200, count_by_modality(self.server, body))

    def stream(self, plan: AnswerPlan) -> None:
        h, server = self.h, self.server
        server.pause(plan.stall_headers)
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
                server.pause(plan.stall)
            elif index and plan.delay:
                server.pause(plan.delay)
            data = (
                event
                if isinstance(event, bytes)
                else json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            )
            data = b"data: " + data + b"\r\n\r\n"
            write(b"%x\r\n%b\r\n" % (len(data), data))
            if index == 0:
                server.stamp_first_event()
        if plan.drop_at is not None:
            return self.drop()
        write(b"0\r\n\r\n")

    def answer_once(self, plan: AnswerPlan, model: str) -> None:
        self.server.pause(
            plan.stall_headers + (plan.stall if plan.stall_at else 0.0) + plan.delay * max(len(plan.events) - 1, 0)
        )
        if plan.error is not None:
            return self.send_json(*plan.error)
        last = plan.events[-1]
        if isinstance(last, bytes):
            data = last
        elif "error" in last:
            return self.send_json(last["error"]["code"], last)
        else:
            data = json.dumps(merge_events(plan.events, model), ensure_ascii=False, indent=2).encode()
        h = self.h
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        self.headers_sent = True
        if plan.drop_at is not None:
            h.wfile.write(data[: len(data) // 2])
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
