"""Drive a real Jupyter kernel (jupyter_client) and record what it sends the front end."""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from jupyter_client.manager import start_new_kernel


@dataclass
class Execution:
    """Every iopub message one execute request caused, in order, with arrival times."""

    messages: list = field(default_factory=list)
    arrivals: list = field(default_factory=list)
    reply: dict = field(default_factory=dict)

    def of_type(self, *types):
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self):
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout")

    @property
    def stderr(self):
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr")

    @property
    def status(self):
        return self.reply["content"]["status"]

    def final_output(self) -> dict:
        """Content of the answer's final static output: the update of the live view's
        slot, or (an answer complete before a live view was needed) a plain display."""
        shown = self.of_type("display_data", "update_display_data")
        finals = [m for m in shown if "text/markdown" in m["content"]["data"]]
        assert finals, [m["msg_type"] for m in self.messages]
        return finals[-1]["content"]

    def live_records(self) -> list:
        """What the live widget showed, decoded as the front end does: ("p", finished, tail)
        for each paint and ("s", status, "") for each status line, in order."""
        from gemini_magic.views.widget import decode_stream

        streams: dict = {}
        for m in self.of_type("comm_msg"):
            if m["content"]["data"].get("method") == "custom" and m.get("buffers"):
                streams.setdefault(m["content"]["comm_id"], []).extend(m["buffers"])
        return [record for buffers in streams.values() for record in decode_stream(buffers)]

    def live_paints(self) -> list:
        """The live-view messages that showed answer text (at least one paint each), in order."""
        import zlib

        from gemini_magic.views.widget import decode_records

        inflaters, shown = {}, []
        for m in self.of_type("comm_msg"):
            if m["content"]["data"].get("method") != "custom" or not m.get("buffers"):
                continue
            inflate = inflaters.setdefault(m["content"]["comm_id"], zlib.decompressobj())
            text = "".join(inflate.decompress(bytes(b)).decode("utf-8") for b in m["buffers"])
            records, _ = decode_records(text)
            if any(kind == "p" and (finished or tail) for kind, finished, tail in records):
                shown.append(m)
        return shown

    def bytes_sent(self) -> int:
        """Size of what the front end received: the JSON of each message's content."""
        return sum(
            len(json.dumps(m["content"]).encode()) + sum(len(b) for b in m.get("buffers") or ()) for m in self.messages
        )


class Kernel:
    def __init__(self, manager, client):
        self.manager = manager
        self.client = client

    def execute(self, code: str, timeout: float = 120, *, front_end: str = "notebook") -> Execution:
        """Run ``code`` as ``front_end`` would ask: "notebook" (JupyterLab, Notebook 7: a cell id
        in the request's metadata), "console" (jupyter console: no cell id, stdin allowed) or
        "nbclient" (nbconvert, papermill, Voila: no cell id, no stdin)."""
        msg_id = self.send_execute(code, front_end)
        result = Execution()
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            parent = msg["parent_header"].get("msg_id")
            # Widget comm traffic is kept even if a thread sent it without a parent.
            if parent != msg_id and not msg["msg_type"].startswith("comm_"):
                continue
            result.messages.append(msg)
            result.arrivals.append(time.perf_counter())
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle" and parent == msg_id:
                break
        result.reply = self.reply_to(msg_id, timeout)
        return result

    def reply_to(self, msg_id: str, timeout: float = 30):
        """The shell reply to ``msg_id`` (a reply left from kernel start-up is skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def send_execute(self, code: str, front_end: str) -> str:
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": front_end != "nbclient",
            "stop_on_error": True,
        }
        metadata = {"cellId": f"cell-{uuid.uuid4()}"} if front_end == "notebook" else {}
        msg = self.client.session.msg("execute_request", content, metadata=metadata)
        self.client.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def wait_for_probe(self, timeout: float = 60) -> str:
        """The comm id of the probe gemini_magic opens once ``%load_ext`` has run."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["msg_type"] == "comm_open" and msg["content"]["data"].get("state", {}).get("_probe"):
                return msg["content"]["comm_id"]

    def answer_probe(self, timeout: float = 60) -> None:
        """Play a front end that draws the live widget: answer the probe gemini_magic opens
        once ``%load_ext`` has run (its model's ``initialize`` sends ``{"ready": true}``)."""
        content = {"comm_id": self.wait_for_probe(timeout), "data": {"method": "custom", "content": {"ready": True}}}
        for _ in range(2):  # twice, as the front end does
            self.client.shell_channel.send(self.client.session.msg("comm_msg", content))
            time.sleep(0.3)
        assert self.value("__import__('gemini_magic.views.probe').views.probe.widgets_render()") is True

    def value(self, expression: str):
        """Evaluate ``expression`` in the kernel and return it (via JSON)."""
        run = self.execute(f"import json as _json; print(_json.dumps({expression}))")
        assert run.status == "ok", run.messages
        return json.loads(run.stdout.strip().splitlines()[-1])


@contextmanager
def running_kernel(env: dict):
    """A fresh python3 kernel with ``env`` as its whole environment."""
    manager, client = start_new_kernel(kernel_name="python3", env=env, startup_timeout=90)
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def kernel_env(**extra) -> dict:
    """This process's environment minus any Gemini settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "GOOGLE_"))}
    env.update(extra)
    return env


@contextmanager
def gemini_kernel(server_url: str, api_key: str, *setup: str, draws_widgets: bool = True):
    """A kernel pointed at a Gemini server by environment (as a user would), with
    gemini_magic loaded and the ``setup`` lines (e.g. ``%config ...``) run. With
    ``draws_widgets``, this client answers the live view's probe as a notebook front end
    with anywidget does, so answers stream into the live widget."""
    with running_kernel(kernel_env(GEMINI_API_KEY=api_key, GOOGLE_GEMINI_BASE_URL=server_url)) as kernel:
        run = kernel.execute("\n".join(("%load_ext gemini_magic", *setup)))
        assert run.status == "ok", run.messages
        if draws_widgets:
            kernel.answer_probe()
        yield kernel
