"""On-disk history: a paid result is never lost.

One folder per job under ``<data dir>/history/<id>/``::

    job.json          prompt, settings, model, api size, crop, source document, request id,
                      usage, cost, timings, status ("running" -> "done" | "failed" | "cancelled")
    result-1.png ...  each result, written the moment it arrives
    image.png, mask.png, selection.png, reference-1.png ...   the inputs, so a job can be re-run

Ids sort by time (``20261123-235959-abcd``, UTC). Every file is written atomically (temp file in
the same folder, fsync, ``os.replace``), and a new job folder is assembled under a dot-name and
renamed into place, so a crash or kill at any moment leaves a history that still lists: at worst a
job stays "running" with the images it had received. ``list`` skips dot-folders and never fails on
one bad folder. The size cap prunes the oldest finished jobs; the API key is never stored here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import InputError
from .job_record import (
    FORMAT_VERSION,
    RecordError,
    created_ts_of,
    finished_timings,
    new_record,
    read_record,
)
from .settings import atomic_write, data_dir

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
#: The remembered size of each job folder (``History.folder_sizes``), a cache beside them.
SIZES_FILE = ".sizes.json"
#: A folder changed less than this ago is measured again next time (file times are coarse).
SIZE_SETTLE_NS = 2_000_000_000
HISTORY_DIR = "history"
DEFAULT_MAX_BYTES = 2048 * 1024 * 1024
#: A "running" job older than this is from a process that died; it may be pruned.
STALE_RUNNING_S = 24 * 3600
STATUSES = ("running", "done", "failed", "cancelled")  # + "interrupted", "unreadable" when read
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4,16}$")
_RESULT_RE = re.compile(r"^result-(\d+)\.(png|jpe?g|webp)$")


def _now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def image_extension(data: bytes, fallback: str = "png") -> str:
    """The file extension for encoded image bytes, from their magic number."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "jpeg" if fallback == "jpg" else fallback


def _jsonable(value: Any) -> Any:
    """Plain JSON values from NamedTuples (Extent, Bounds), Paths and enums."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "_asdict"):
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # str Enum
        return value.value
    return value


@dataclass(frozen=True)
class JobRecord:
    """One job as found on disk. ``data`` is job.json; images are found by listing the folder."""

    id: str
    path: Path
    data: Mapping[str, Any]

    @property
    def status(self) -> str:
        """job.json's status; "interrupted" for a "running" job whose process is gone."""
        status = str(self.data.get("status", "unreadable"))
        if status == "running" and _died(self.data):
            return "interrupted"
        return status

    @property
    def prompt(self) -> str:
        return str(self.data.get("prompt", ""))

    @property
    def created_ts(self) -> float:
        value = self.data.get("created_ts")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return created_ts_of(self.id)  # unreadable records sort by the time their id says

    @property
    def readable(self) -> bool:
        return self.data.get("status") != "unreadable"

    @property
    def unreadable_reason(self) -> str | None:
        """Why job.json could not be used (None when it could)."""
        return None if self.readable else str(self.data.get("unreadable_reason") or "")

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def images(self) -> list[Path]:
        """Result images in index order, whatever job.json says (it may lag a kill)."""
        found = []
        with contextlib.suppress(OSError):
            for entry in self.path.iterdir():
                match = _RESULT_RE.match(entry.name)
                if match and entry.is_file():
                    found.append((int(match.group(1)), entry))
        return [path for _, path in sorted(found)]

    @property
    def inputs(self) -> dict[str, Any]:
        """Input files by role: image, mask, selection -> Path; references -> [Path]."""
        names = self.data.get("inputs") if self.readable else {}
        names = names if isinstance(names, dict) else {}
        out: dict[str, Any] = {}
        for role, name in names.items():
            if role.endswith("_names"):  # the original file names, not files of this folder
                continue
            if isinstance(name, list):
                out[role] = [self.path / n for n in name]
            elif name:
                out[role] = self.path / name
        return out

    def size_bytes(self) -> int:
        return _folder_size(self.path)

    def to_dict(self) -> dict[str, Any]:
        """job.json plus where its files are; for the CLI and hosts."""
        return {
            **self.data,
            "id": self.id,
            "status": self.status,
            "path": str(self.path),
            "image_paths": [str(p) for p in self.images],
        }


def _unreadable(folder: Path, reason: str) -> JobRecord:
    # said where it matters (listed as unreadable, or the command's one error line), not twice
    log.info("History entry %s is unreadable: %s", folder.name, reason)
    data = {
        "id": folder.name,
        "status": "unreadable",
        "unreadable_reason": reason,
        "prompt": "",
        "error": {"message": f"unreadable: {reason}"},
        "format_version": FORMAT_VERSION,
    }
    return JobRecord(folder.name, folder, data)


def _died(data: Mapping[str, Any]) -> bool:
    """True when the process that wrote a "running" job is known to be gone (same machine, POSIX).

    Elsewhere it is unknown, and the job stays "running" until it is a day old (see prune).
    """
    pid, host = data.get("pid"), data.get("host")
    if os.name != "posix" or not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _result_index(name: str) -> int:
    match = _RESULT_RE.match(name)
    return int(match.group(1)) if match else 0


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


class History:
    """Job folders under ``root``; safe to use from a worker thread while the host lists it."""

    def __init__(self, root: Path, max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Any) -> History:
        """The default history in the data dir, capped by ``settings.history_max_mb``."""
        return cls(data_dir() / HISTORY_DIR, settings.history_max_bytes())

    # -- writing ------------------------------------------------------------------------------

    def create(
        self,
        *,
        prompt: str,
        mode: str,
        model: str,
        settings: Mapping[str, Any] | None = None,
        source_document: str = "",
        inputs: Mapping[str, bytes | None] | None = None,
        references: Sequence[tuple[str, bytes]] = (),
        **fields: Any,
    ) -> JobRecord:
        """Start a job: its folder appears complete (inputs + job.json, status "running") or not at all.

        ``inputs`` maps a file name (``image.png``, ``mask.png``, ``selection.png``) to bytes;
        ``references`` are (original name, bytes) and are stored as ``reference-<i>.<ext>``.
        ``fields`` go into job.json as given (api_size, crop, canvas, estimate_usd, ...).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        created = time.time()
        job_id, staging = self._new_staging(created)
        try:
            stored: dict[str, Any] = {}
            for name, data in (inputs or {}).items():
                if data is not None:
                    atomic_write(staging / name, data, durable=False)  # nothing paid for yet
                    stored[Path(name).stem] = name
            ref_names = []
            for i, (original, data) in enumerate(references, start=1):
                name = f"reference-{i}.{image_extension(data, Path(original).suffix[1:] or 'png')}"
                atomic_write(staging / name, data, durable=False)
                ref_names.append(name)
            if ref_names:
                stored["references"] = ref_names
                stored["reference_names"] = [original for original, _ in references]
            record = new_record(
                job_id,
                created=created,
                mode=mode,
                prompt=prompt,
                model=model,
                settings=settings or {},
                source_document=source_document,
                inputs=stored,
                **fields,
            )
            self._write_record(staging, record, durable=False)  # flushed with the first result
            final = self.root / job_id
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return JobRecord(job_id, final, _jsonable(record))

    def _new_staging(self, created: float) -> tuple[str, Path]:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created))
        for _ in range(100):
            job_id = f"{stamp}-{secrets.token_hex(2)}"
            if (self.root / job_id).exists():
                continue
            staging = self.root / f".new-{job_id}"
            try:
                staging.mkdir()
            except FileExistsError:
                continue
            return job_id, staging
        raise OSError("could not allocate a history id")  # pragma: no cover

    def _write_record(
        self, folder: Path, record: Mapping[str, Any], *, durable: bool = True
    ) -> None:
        text = json.dumps(_jsonable(record), indent=2, ensure_ascii=False) + "\n"
        atomic_write(folder / JOB_FILE, text.encode("utf-8"), durable=durable)

    def update(self, job_id: str, **fields: Any) -> JobRecord:
        """Merge ``fields`` into job.json (atomic read-modify-write)."""
        return self._merge(job_id, fields)

    def _merge(self, job_id: str, fields: Mapping[str, Any], durable: bool = True) -> JobRecord:
        with self._lock:
            record = self.get(job_id)
            if not record.readable:  # never overwrite a record nobody can read: it may be mended
                raise InputError(
                    f"History entry {job_id} is unreadable ({record.unreadable_reason}); "
                    "it was left as it is."
                )
            data = dict(record.data)
            for key, value in fields.items():
                if key == "timings" and isinstance(value, Mapping):
                    data["timings"] = {**(data.get("timings") or {}), **value}
                else:
                    data[key] = value
            self._write_record(record.path, data, durable=durable)
            return JobRecord(job_id, record.path, _jsonable(data))

    def add_image(self, job_id: str, index: int, data: bytes, output_format: str = "png") -> Path:
        """Store result ``index`` (0-based) as ``result-<index+1>.<ext>`` now, before anyone uses it."""
        folder = self._folder(job_id)
        name = f"result-{index + 1}.{image_extension(data, output_format)}"
        atomic_write(folder / name, data)  # the image first: it is what was paid for
        try:
            with self._lock:
                record = self.get(job_id)
                images = [n for n in record.data.get("images", []) if n != name] + [name]
                # the image is on disk for good and listing reads the folder: this may lag
                self._merge(job_id, {"images": sorted(images, key=_result_index)}, durable=False)
        except (OSError, ValueError) as exc:  # the image is safe; listing finds it anyway
            log.warning("History entry %s: could not note %s in job.json: %s", job_id, name, exc)
        return folder / name

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        error: Mapping[str, Any] | None = None,
        prune: bool = True,
        **fields: Any,
    ) -> JobRecord:
        """Close a job: status done/failed/cancelled, plus request_id, usage, cost, timings..."""
        if status not in STATUSES[1:]:
            raise ValueError(f"finish status must be one of {STATUSES[1:]}, not {status!r}")
        with self._lock:
            record = self.get(job_id)
            timings = finished_timings(record.created_ts, fields.pop("timings", None))
            record = self.update(
                job_id,
                status=status,
                error=dict(error) if error else None,
                timings=timings,
                **fields,
            )
        if prune:
            try:
                self.prune(keep=(job_id,))
            except OSError as exc:  # pruning must never cost the result just saved
                log.warning("History prune failed: %s", exc)
        return record

    # -- reading ------------------------------------------------------------------------------

    def _folder(self, job_id: str) -> Path:
        if not _ID_RE.match(job_id or ""):
            raise InputError(f"Not a history id: {job_id!r}", hint="See `history list`.")
        folder = self.root / job_id
        if not folder.is_dir():
            raise InputError(f"No history entry {job_id}.", hint="See `history list`.")
        return folder

    def get(self, job_id: str) -> JobRecord:
        folder = self._folder(job_id)
        return self._load(folder)

    def get_readable(self, job_id: str) -> JobRecord:
        """``get`` for commands that act on what the record says (re-run, refine, composite):
        an unreadable record is ``InputError`` naming why, and is left as it is."""
        record = self.get(job_id)
        if not record.readable:
            raise InputError(
                f"History entry {job_id} is unreadable: {record.unreadable_reason}; "
                "it was left as it is.",
                hint="`history show ID` lists its files; `history export ID --raw` writes a "
                "stored result as it is.",
            )
        return record

    def _load(self, folder: Path) -> JobRecord:
        """The record of ``folder`` through the one reader (``job_record.read_record``); one
        that can't be used comes back with status "unreadable" and the reason, never an error."""
        try:
            raw = (folder / JOB_FILE).read_bytes()
        except FileNotFoundError:
            return _unreadable(folder, "job.json is missing")
        except OSError as exc:
            return _unreadable(folder, f"job.json cannot be read: {exc.strerror or exc}")
        try:
            data = read_record(raw, folder)
        except RecordError as exc:
            return _unreadable(folder, str(exc))
        except Exception as exc:  # a reader bug must not break history either
            log.exception("History entry %s: reading job.json failed", folder.name)
            return _unreadable(folder, f"job.json could not be read ({type(exc).__name__})")
        return JobRecord(folder.name, folder, data)

    def _entries(self) -> Iterator[Path]:
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return
        for entry in entries:
            if _ID_RE.match(entry.name) and entry.is_dir():
                yield entry

    def list(self) -> list[JobRecord]:
        """All jobs, newest first. One unreadable folder never hides the others."""
        records = [self._load(folder) for folder in self._entries()]
        return sorted(records, key=lambda r: (r.created_ts, r.id), reverse=True)

    def search(self, text: str) -> list[JobRecord]:
        """Jobs whose prompt contains ``text`` (case-insensitive), newest first."""
        needle = text.casefold()
        return [r for r in self.list() if needle in r.prompt.casefold()]

    def total_bytes(self) -> int:
        return sum(self.folder_sizes().values())

    def folder_sizes(self) -> dict[str, int]:
        """Bytes of every job folder. A folder's size is remembered in ``SIZES_FILE`` with the
        folder's modification time (every file here is written by a rename, which changes it;
        a finished job's folder no longer changes), so pruning after each job stats each folder
        once instead of walking them all. The file is only a cache: unreadable, it is rebuilt."""
        cache = self._size_cache()
        settled = time.time_ns() - SIZE_SETTLE_NS
        sizes: dict[str, int] = {}
        fresh: dict[str, list[int]] = {}
        for folder in self._entries():
            try:
                mtime = folder.stat().st_mtime_ns
            except OSError:
                continue
            known = cache.get(folder.name)
            if isinstance(known, list) and len(known) == 2 and known[0] == mtime:
                size = int(known[1])
            else:
                size = _folder_size(folder)
            sizes[folder.name] = size
            if mtime < settled:  # file times are coarse: a folder that just changed may again
                fresh[folder.name] = [mtime, size]
        if fresh != cache:
            with contextlib.suppress(OSError):
                data = json.dumps(fresh, separators=(",", ":")).encode("utf-8")
                atomic_write(self.root / SIZES_FILE, data, durable=False)
        return sizes

    def _size_cache(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / SIZES_FILE).read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # -- removing -----------------------------------------------------------------------------

    def delete(self, job_id: str) -> None:
        """Remove a job: renamed out of sight first, so a half-done delete is never listed."""
        folder = self._folder(job_id)
        trash = self.root / f".del-{job_id}-{secrets.token_hex(2)}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def prune(self, *, keep: Sequence[str] = (), now: float | None = None) -> list[str]:
        """Delete the oldest finished jobs until the history fits ``max_bytes``; returns their ids.

        Running jobs are kept unless stale (older than a day: their process is gone). Leftover
        staging and trash folders from killed processes are cleared when stale.
        """
        now = time.time() if now is None else now
        self._clear_leftovers(now)
        if not self.max_bytes:
            return []
        sizes = self.folder_sizes()
        total = sum(sizes.values())
        if total <= self.max_bytes:  # the usual case: no job.json is read at all
            return []
        records = sorted(
            (self._load(self.root / job_id) for job_id in sizes), key=lambda r: (r.created_ts, r.id)
        )
        removed: list[str] = []
        for record in records:
            if total <= self.max_bytes:
                break
            if record.id in keep:
                continue
            if not record.finished and now - record.created_ts < STALE_RUNNING_S:
                continue
            self.delete(record.id)
            total -= sizes[record.id]
            removed.append(record.id)
        if removed:
            log.info(
                "History pruned %d job(s) to stay under %d bytes", len(removed), self.max_bytes
            )
        return removed

    def _clear_leftovers(self, now: float) -> None:
        with contextlib.suppress(FileNotFoundError):
            for entry in self.root.iterdir():
                if entry.name.startswith((".new-", ".del-")) and entry.is_dir():
                    with contextlib.suppress(OSError):
                        if entry.name.startswith(".del-") or (
                            now - entry.stat().st_mtime > STALE_RUNNING_S
                        ):
                            shutil.rmtree(entry, ignore_errors=True)
