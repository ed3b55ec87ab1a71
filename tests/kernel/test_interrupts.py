"""Interrupt in any pattern: the partial answer is kept, the final output written, nothing leaks.

A real kernel gets its SIGINTs as JupyterLab's stop button sends them, but closer
together than a hand can: two within a millisecond, three within ten.
"""

import os
import signal
import time

import pytest

from tests.kernel_helpers import gemini_kernel
from tests.support import TEST_KEY

pytestmark = pytest.mark.kernel

THREADS = "__import__('threading').active_count()"
COMMS = "len(__import__('comm').get_comm_manager().comms)"


@pytest.mark.parametrize("gaps", [(0.001,), (0.005, 0.005)], ids=["two-within-1ms", "three-within-10ms"])
def test_interrupts_in_quick_succession_keep_the_answer_and_leak_nothing(gemini_server, gaps):
    with gemini_kernel(gemini_server.url, TEST_KEY) as kernel:
        pid = kernel.manager.provisioner.pid
        kernel.execute("%%gemini --out answer\nwarm up [[offline chunks=3 delay=0.03]]")
        threads_before = kernel.value(THREADS)
        for attempt in range(6):
            client = kernel.client
            msg_id = kernel.send_execute(
                "%%gemini --out answer\nA long one. [[offline chunks=400 delay=0.02]]", "notebook"
            )
            messages, paints = [], 0
            while paints < 2 + attempt % 3:  # interrupt at slightly different moments
                msg = client.get_iopub_msg(timeout=30)
                messages.append(msg)
                if msg["msg_type"] == "comm_msg" and msg["content"]["data"].get("method") == "custom":
                    paints += 1
            os.kill(pid, signal.SIGINT)
            for gap in gaps:
                time.sleep(gap)
                os.kill(pid, signal.SIGINT)
            while True:
                msg = client.get_iopub_msg(timeout=30)  # the execute request is answered
                messages.append(msg)
                if (
                    msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"
                    and msg["parent_header"].get("msg_id") == msg_id
                ):
                    break
            reply = kernel.reply_to(msg_id)
            assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "UsageError", reply
            assert "Interrupted" in reply["content"]["evalue"]
            tracebacks = [line for m in messages if m["msg_type"] == "error" for line in m["content"]["traceback"]]
            assert not any("KeyboardInterrupt" in line or "File " in line for line in tracebacks), tracebacks
            finals = [
                m
                for m in messages
                if m["msg_type"] == "update_display_data" and "text/markdown" in m["content"]["data"]
            ]
            assert finals and "interrupted" in finals[-1]["content"]["data"]["text/markdown"]
            opened = sum(1 for m in messages if m["msg_type"] == "comm_open")
            closed = sum(1 for m in messages if m["msg_type"] == "comm_close")
            assert opened == closed, (opened, closed)
            fields = kernel.value("dict(n=len(answer), interrupted=answer.interrupted, same=answer is _gemini)")
            assert fields["interrupted"] and fields["same"] and fields["n"] > 0
        assert kernel.value(COMMS) == 0
        assert kernel.value(THREADS) <= threads_before + 1  # painters are reused, none left looping
        assert kernel.execute("%%gemini\nStill there? [[offline chunks=3]]").status == "ok"
