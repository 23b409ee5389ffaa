"""Run the stand-in as a process: ``python -m tests.standin --port 0 --ready-file FILE``.

The base URL (``http://127.0.0.1:PORT/v1``) is written to FILE once the server listens (written
to a temporary name and renamed, so a reader never sees half a URL) and printed to stdout.
Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import StandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", help="write the base URL here once listening")
    parser.add_argument(
        "--event-delay", type=float, default=0.0, help="seconds between stream events"
    )
    args = parser.parse_args(argv)

    standin = StandIn(args.host, args.port, event_delay=args.event_delay)
    base_url = standin.start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(base_url + "\n")
        os.replace(tmp, args.ready_file)
    print(base_url, flush=True)
    done.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
