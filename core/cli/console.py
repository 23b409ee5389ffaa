"""Console output that never crashes on a console that cannot encode the text."""

from __future__ import annotations

import json
import sys
from typing import Any


def write_out(text: str) -> None:
    """Write to stdout without crashing on consoles that can't encode the text."""
    stream = sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def write_err(text: str) -> None:
    stream = sys.stderr
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def print_json(payload: dict[str, Any]) -> None:
    write_out(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
