"""One reader for JSON files people can edit: bounded, finite, and failing only with ValueError.

``json.loads`` accepts what no settings or history file should hold and fails in ways callers
don't expect: ``Infinity``/``NaN`` and ``1e999`` become floats no timeout can use, 100,000 nested
brackets raise ``RecursionError``, a 5,000-digit integer a bare ``ValueError``. ``load_json`` turns
all of it into ``JsonFileError`` (a ``ValueError``) with a reason, so each caller can treat absurd
JSON exactly like invalid JSON: name the file, use defaults where it can go on, overwrite nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Larger than any settings or job.json file this suite writes, by far.
MAX_JSON_BYTES = 8 * 1024 * 1024
#: Deeper than any of those files needs; deeper input is refused before parsing.
MAX_JSON_DEPTH = 64


class JsonFileError(ValueError):
    """Text that is not JSON we accept; ``reason`` says why, ``line``/``column`` where if known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason if line is None else f"{reason} at line {line} column {column}")
        self.reason = reason
        self.line = line
        self.column = column


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonFileError(f"the number {text[:40]} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise JsonFileError(f"{name} is not a number JSON files may hold")


def _depth(text: str) -> int:
    """The deepest bracket nesting, ignoring brackets inside strings (linear, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(
    raw: bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """The value in ``raw`` (UTF-8, a BOM allowed), or ``JsonFileError`` saying why not."""
    if len(raw) > max_bytes:
        raise JsonFileError(f"the file is {len(raw)} bytes; at most {max_bytes} are read")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"not UTF-8 text (byte {exc.start})") from None
    if text.count("[") + text.count("{") > max_depth and _depth(text) > max_depth:
        raise JsonFileError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except JsonFileError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise JsonFileError(f"not usable JSON: {type(exc).__name__}: {str(exc)[:80]}") from None
