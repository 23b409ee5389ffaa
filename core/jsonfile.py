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


class _NotFinite:
    """Stands in for ``Infinity``/``NaN``/``1e999`` while parsing, so the field can be named."""

    def __init__(self, text: str) -> None:
        self.text = text[:40]


def _float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def _find_not_finite(value: Any, where: str = "") -> tuple[str, str] | None:
    """(field path, text) of the first non-finite number in a parsed value."""
    if isinstance(value, _NotFinite):
        return where or "(top level)", value.text
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _find_not_finite(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


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


class _DuplicateKey(Exception):
    """A key given twice in one JSON object: Python would silently keep the last."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key[:40])
            seen.add(key)
    return value


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
        value = json.loads(
            text, parse_float=_float, parse_constant=_NotFinite, object_pairs_hook=_unique_keys
        )
    except _DuplicateKey as exc:
        raise JsonFileError(f"field '{exc}' is given twice (which one is meant?)") from None
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise JsonFileError(f"not usable JSON: {type(exc).__name__}: {str(exc)[:80]}") from None
    bad = _find_not_finite(value)
    if bad is not None:
        raise JsonFileError(f"field '{bad[0]}' holds {bad[1]}, not a finite number")
    return value
