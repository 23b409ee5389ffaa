"""Console output that never crashes on a console that cannot encode the text.

Windows consoles (cp1252 and friends) refuse many prompt characters; a job that was paid for
must not fail on printing its own report.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from typing import Any, TextIO

#: C0/C1 controls (but newline and tab), DEL, and invisible format characters (bidi overrides,
#: zero-width): stored text shown on a terminal must not move the cursor or recolour it.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]|[^\x00-\x7f]")


_JOINERS = "\u200c\u200d"  # used inside words (Indic scripts) and emoji: harmless, kept


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char > "\x9f" and (unicodedata.category(char) != "Cf" or char in _JOINERS):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control and invisible format characters shown escaped (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def write_out(text: str) -> None:
    _write(sys.stdout, printable(text))


def write_json(text: str) -> None:
    """JSON text as it is (its own escaping keeps controls out of string values)."""
    _write(sys.stdout, text)


def write_err(text: str) -> None:
    _write(sys.stderr, printable(text))


def print_json(payload: dict[str, Any]) -> None:
    _write(sys.stdout, json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def redraw(text: str, *, err: bool = False) -> None:
    """Overwrite the terminal's current line with ``text`` (escaped): a progress bar."""
    _write(sys.stderr if err else sys.stdout, "\r" + printable(text) + "\x1b[K")
