"""`jupyter console` in a real pseudo-terminal: the answer grows as text and ends whole.

Before, the console showed ``<...LiveAnswer object at 0x...>`` for the whole stream and never
the answer (it ignores display updates)."""

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.kernel

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def read_until(fd, pattern: str, timeout: float, seen: list) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:
                break
            seen.append((time.monotonic(), chunk))
            if re.search(pattern, ANSI.sub("", "".join(c for _, c in seen))):
                return ANSI.sub("", "".join(c for _, c in seen))
    raise AssertionError(f"never saw {pattern!r}: {ANSI.sub('', ''.join(c for _, c in seen))[-2000:]!r}")


def test_jupyter_console_shows_the_answer_growing_and_whole(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "GOOGLE_"))}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path), TERM="xterm", COLUMNS="120", LINES="40")
    main, child = pty.openpty()
    console = subprocess.Popen(
        [sys.executable, "-m", "jupyter_console", "--kernel", "python3", "--simple-prompt"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    seen: list = []
    try:
        read_until(main, r"In \[1\]", 90, seen)
        os.write(main, b"%load_ext gemini_magic\n")
        read_until(main, r"In \[2\]", 60, seen)
        start = len(seen)
        os.write(main, b"%gemini --offline Say hello. [[offline chunks=40 chunk_chars=20 delay=0.05]]\n")
        text = read_until(main, r"tokens[^\n]*\]\s*\n", 60, seen)
        answer_arrivals = [t for t, chunk in seen[start:] if chunk.strip()]
        assert "object at 0x" not in text
        assert "offline" in text.lower()  # the demo answer's own words
        assert len(answer_arrivals) >= 3  # printed as it streams, not once at the end
    finally:
        os.write(main, b"exit\n")
        try:
            console.wait(timeout=20)
        except subprocess.TimeoutExpired:
            console.kill()
        os.close(main)
