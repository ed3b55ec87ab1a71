"""Drive a real Jupyter kernel (jupyter_client) and record what it sends the front end."""

from __future__ import annotations

import json
import os
import time
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
        finals = [m for m in self.of_type("display_data", "update_display_data") if "text/markdown" in m["content"]["data"]]
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
        from gemini_magic.views.widget import decode_records
        import zlib

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
        return sum(len(json.dumps(m["content"]).encode()) + sum(len(b) for b in m.get("buffers") or ()) for m in self.messages)


class Kernel:
    def __init__(self, manager, client):
        self.manager = manager
        self.client = client

    def execute(self, code: str, timeout: float = 120) -> Execution:
        msg_id = self.client.execute(code)
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
        # The reply to this request: a loaded machine can leave an earlier reply waiting (jupyter_client's
        # wait_for_ready sends kernel_info again when the first is slow, and both are answered).
        while True:
            result.reply = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if result.reply["parent_header"].get("msg_id") == msg_id:
                return result

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
def gemini_kernel(server_url: str, api_key: str, *setup: str):
    """A kernel pointed at a Gemini server by environment (as a user would), with
    gemini_magic loaded and the ``setup`` lines (e.g. ``%config ...``) run."""
    with running_kernel(kernel_env(GEMINI_API_KEY=api_key, GOOGLE_GEMINI_BASE_URL=server_url)) as kernel:
        run = kernel.execute("\n".join(("%load_ext gemini_magic", *setup)))
        assert run.status == "ok", run.messages
        yield kernel
