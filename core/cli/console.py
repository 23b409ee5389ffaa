"""Console output that never crashes on a console that cannot encode the text.

Windows consoles (cp1252 and friends) refuse many prompt characters; a job that was paid for
must not fail on printing its own report.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def write_out(text: str) -> None:
    _write(sys.stdout, text)


def write_err(text: str) -> None:
    _write(sys.stderr, text)


def print_json(payload: dict[str, Any]) -> None:
    write_out(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
