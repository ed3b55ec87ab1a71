"""``python -m gemini_magic.offline``: serve the offline demo server until Ctrl-C."""

from __future__ import annotations

import time

from .server import OfflineGemini


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m gemini_magic.offline",
        description="Serve offline Gemini demo answers over the Gemini REST protocol.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between streamed chunks (default 0.03)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer (default 0)")
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    server = OfflineGemini(args.host, args.port, delay=args.delay, verbose=args.verbose, latency=args.latency).start()
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
