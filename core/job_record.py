"""``job.json``: the typed, versioned record of one job — its one writer and its one reader.

``new_record`` builds every record history writes (``format_version`` = ``FORMAT_VERSION``);
``read_record`` is the only way one is read back: bounded JSON (``core.jsonfile``), migration of
older versions (v1 said ``"version": 1``; v0 said nothing), then a check of every field's shape
and that the files it names exist. Anything else — bad JSON, a list where an object belongs,
absurd nesting, a named file that is gone — is a ``RecordError`` with a reason; history lists such
an entry as "unreadable" with that reason and never fails because of it.

``record_options`` gives a record's job options with the defaults of ``core.options`` filled in,
so hosts, rerun and refine read a stored job the same way.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import InputError
from .geometry import Extent
from .imagefile import MAX_IMAGE_SIDE, check_dimensions
from .jsonfile import load_json
from .options import option
from .pipeline import Mode

FORMAT_VERSION = 2
STATUSES = ("running", "done", "failed", "cancelled")
MODES = tuple(mode.value for mode in Mode)
#: The job options a record stores under "settings" (blend options under "settings.blend").
RECORD_OPTIONS = (
    "quality",
    "resolution",
    "aspect",
    "n",
    "partial_images",
    "output_format",
    "output_compression",
    "background",
    "moderation",
)
BLEND_OPTIONS = ("padding_px", "grow_px", "feather_px", "match_colour")


class RecordError(ValueError):
    """A job.json that cannot be used; the message is the reason shown in history."""


def _now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


# --- writing -----------------------------------------------------------------------------------


def new_record(
    job_id: str,
    *,
    created: float,
    mode: str,
    prompt: str,
    model: str,
    settings: Mapping[str, Any],
    source_document: str,
    inputs: Mapping[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    """The record of a job that starts now (status "running"): every field, current version."""
    return {
        "format_version": FORMAT_VERSION,
        "id": job_id,
        "status": "running",
        "created": _now_iso(created),
        "created_ts": created,
        "mode": mode,
        "prompt": prompt,
        "model": model,
        "source_document": source_document,
        "settings": dict(settings),
        "inputs": dict(inputs),
        "images": [],
        "request_id": None,
        "usage": None,
        "cost_usd": None,
        "error": None,
        "timings": {"started": _now_iso(created)},
        "pid": os.getpid(),
        "host": socket.gethostname(),
        **fields,
    }


def finished_timings(created_ts: float, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    ended = time.time()
    timings: dict[str, Any] = {
        "finished": _now_iso(ended),
        "elapsed_s": round(ended - (created_ts or ended), 3),
    }
    timings.update(extra or {})
    return timings


# --- reading -----------------------------------------------------------------------------------


def read_record(raw: bytes, folder: Path) -> dict[str, Any]:
    """The record in ``raw`` (job.json's bytes), migrated to the current version and checked;
    ``RecordError`` with a reason when it cannot be used."""
    try:
        data = load_json(raw)
    except ValueError as exc:
        raise RecordError(f"job.json is {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(f"job.json holds {_kind(data)}, not an object")
    data = migrate(data)
    check_shapes(data)
    check_files(data, folder)
    return data


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as the current version says it. Each step upgrades one version."""
    record = dict(data)
    version = record.get("format_version", record.get("version", 0))
    if isinstance(version, bool) or not isinstance(version, int):
        raise RecordError(f"format_version is {_kind(version)}, not a whole number")
    if version < 0:
        raise RecordError(f"format_version {version} is not a version (0 or more)")
    if version > FORMAT_VERSION:
        raise RecordError(
            f"format_version {version} is newer than this plug-in reads ({FORMAT_VERSION}); "
            "update the plug-in"
        )
    while version < FORMAT_VERSION:
        record = _STEPS[version](record)
        version += 1
    record["format_version"] = FORMAT_VERSION
    return record


def _v0_to_v1(record: dict[str, Any]) -> dict[str, Any]:
    """v0 (before versions): the same fields, some possibly missing; nothing to rename."""
    return record


def _v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    """v1 said ``"version": 1``; v2 says ``"format_version": 2``."""
    record.pop("version", None)
    return record


_STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}

_STR, _NUM, _INT = (str,), (int, float), (int,)
_OPT_STR, _OPT_NUM = (str, type(None)), (int, float, type(None))
_OPT_DICT, _LIST, _DICT = (dict, type(None)), (list,), (dict,)
#: Field -> the JSON types it may hold (absent fields take their defaults when read).
SHAPES: dict[str, tuple[type, ...]] = {
    "id": _STR,
    "status": _STR,
    "created": _STR,
    "created_ts": _NUM,
    "mode": _STR,
    "prompt": _STR,
    "model": _STR,
    "source_document": _OPT_STR,
    "settings": _DICT,
    "inputs": _DICT,
    "images": _LIST,
    "request_id": _OPT_STR,
    "usage": _OPT_DICT,
    "cost_usd": _OPT_NUM,
    "estimate_usd": _OPT_NUM,
    "error": _OPT_DICT,
    "timings": _DICT,
    "canvas": (list, type(None)),
    "crop": (list, type(None)),
    "api_size": _OPT_STR,
    "plan": _OPT_DICT,
    "estimate": _OPT_DICT,
    "selection_origin": (list, type(None)),
    "rerun_of": _OPT_STR,
    "parent_id": _OPT_STR,
}
REQUIRED = ("prompt", "mode", "model", "status")


def check_shapes(data: Mapping[str, Any]) -> None:
    """``RecordError`` naming the first field whose value has the wrong shape."""
    for name in REQUIRED:
        if name not in data:
            raise RecordError(f"job.json has no {name!r}")
    for name, types in SHAPES.items():
        if name in data and (
            not isinstance(data[name], types)
            or (isinstance(data[name], bool) and bool not in types)
        ):
            raise RecordError(f"{name!r} is {_kind(data[name])}, not {_expected(types)}")
    if data["status"] not in STATUSES:
        raise RecordError(
            f"status {str(data['status'])[:40]!r} is not one of {', '.join(STATUSES)}"
        )
    if data["mode"] not in MODES:
        raise RecordError(f"mode {str(data['mode'])[:40]!r} is not one of {', '.join(MODES)}")
    for name, length in (("canvas", 2), ("crop", 4), ("selection_origin", 2)):
        value = data.get(name)
        if value is not None and (
            len(value) != length
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise RecordError(f"{name!r} is not {length} whole numbers")
    check_geometry(data)
    for role, value in data["inputs"].items() if "inputs" in data else ():
        names = value if isinstance(value, list) else [value]
        if not all(isinstance(n, str) for n in names):
            raise RecordError(f"inputs.{role} is not a file name")
    for key in ("settings",):
        blend = data.get(key, {}).get("blend") if isinstance(data.get(key), dict) else None
        if blend is not None and not isinstance(blend, dict):
            raise RecordError(f"settings.blend is {_kind(blend)}, not an object")
    if not all(isinstance(n, str) for n in data.get("images", [])):
        raise RecordError("'images' holds something that is not a file name")


def check_geometry(data: Mapping[str, Any]) -> None:
    """``RecordError`` for a canvas, crop or API size no job can have (zero, negative, beyond
    the largest image accepted, a crop off the canvas): a record is never a way to allocate
    what an image file could not ask for."""
    canvas, crop = data.get("canvas"), data.get("crop")
    if canvas is not None:
        width, height = canvas
        try:
            check_dimensions(width, height, "the canvas")
        except InputError as exc:
            raise RecordError(f"'canvas' {width}x{height} is not a canvas: {exc.message}") from None
    if crop is not None:
        x, y, w, h = crop
        reach = 2 * MAX_IMAGE_SIDE
        if w <= 0 or h <= 0 or max(w, h) > reach or max(abs(x), abs(y)) > reach:
            raise RecordError(f"'crop' {crop} is not an area of an image")
        if canvas is not None and (x >= canvas[0] or y >= canvas[1] or x + w <= 0 or y + h <= 0):
            raise RecordError(f"'crop' {crop} lies outside the {canvas[0]}x{canvas[1]} canvas")
    if data.get("api_size") is not None:
        try:
            size = Extent.parse(str(data["api_size"]))
        except ValueError:
            raise RecordError(f"'api_size' {str(data['api_size'])[:20]!r} is not WxH") from None
        if not (0 < size.width <= MAX_IMAGE_SIDE and 0 < size.height <= MAX_IMAGE_SIDE):
            raise RecordError(f"'api_size' {size} is not a size the API makes")
    origin = data.get("selection_origin")
    if origin is not None and max(abs(v) for v in origin) > 2 * MAX_IMAGE_SIDE:
        raise RecordError(f"'selection_origin' {origin} is off any canvas")


def check_files(data: Mapping[str, Any], folder: Path) -> None:
    """``RecordError`` when a file the record names is not in its folder (or escapes it)."""
    names: list[str] = list(data.get("images") or [])
    for role, value in (data.get("inputs") or {}).items():
        if role.endswith("_names"):  # original file names, not files of this folder
            continue
        names += value if isinstance(value, list) else [value] if value else []
    for name in names:
        if Path(name).name != name or name in ("", ".", ".."):
            raise RecordError(f"file name {name[:60]!r} points outside the job folder")
        if not (folder / name).is_file():
            raise RecordError(f"{name} is missing from the job folder")


def record_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """The job options a record stored, defaults (``core.options``) for what it lacks:
    ``{"model", "quality", ..., "blend": {"padding_px", ...}}``."""
    stored = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    # stored fields this table does not define (an expand's borders…) pass through as they are
    values: dict[str, Any] = dict(stored)
    values["model"] = str(data.get("model") or option("model").default)
    for name in RECORD_OPTIONS:
        value = stored.get(name)
        values[name] = option(name).default if value is None else value
    blend = stored.get("blend") if isinstance(stored.get("blend"), dict) else {}
    values["blend"] = {
        name: option(name).default if blend.get(name) is None else blend[name]
        for name in BLEND_OPTIONS
    }
    return values


def created_ts_of(job_id: str) -> float:
    """The creation time an id encodes (``20261123-235959-abcd``, UTC); 0 when it can't say."""
    try:
        stamp = datetime.strptime(job_id[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return 0.0
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _expected(types: tuple[type, ...]) -> str:
    words = dict.fromkeys(_kind(t()) if t is not type(None) else "null" for t in types)
    return " or ".join(words)
