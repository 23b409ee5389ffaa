"""A batch's state in its output folder, written so a ``kill -9`` at any instant loses nothing.

``DIR/.gpt-image-batch/journal.jsonl`` is append-only: one JSON object per event, flushed and
fsynced before the run goes on. The events of a job (by its key, see ``jobfile``):

- ``started`` (with the history id) when its history record exists, and ``sending`` just before
  each request is built and sent: from then on the job may be billed, so a later run never
  sends it again without saying so.
- ``done`` (outputs, cost) after its outputs are on disk; ``failed`` with the error and whether
  the API may have billed it.
- ``submitted`` (with the batch id) once a Batch API batch holding it exists.

A torn last line (the process died mid-write) is ignored. A lock file keeps two runs from
working in one folder at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..settings import atomic_write

STATE_DIR = ".gpt-image-batch"
JOURNAL = "journal.jsonl"
LOCK = "lock"


@dataclass
class JobState:
    """What the journal knows about one job key (its last word wins)."""

    key: str
    line: int = 0
    event: str = ""  # "", "started", "done", "failed"
    history_id: str | None = None
    outputs: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    error: dict[str, Any] | None = None
    may_be_billed: bool = False
    request_id: str | None = None
    batch_id: str | None = None  # submitted to the Batch API
    sent: bool = False  # a request of this job was about to leave (``sending``)


class Journal:
    """The append-only event log of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / STATE_DIR
        self.path = self.dir / JOURNAL
        self._lock = threading.Lock()
        self._lock_file: Any = None

    # locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Journal]:
        """Hold the folder's lock; ``InputError`` when another run has it."""
        self.ensure()
        handle = open(self.dir / LOCK, "a+")  # noqa: SIM115 - held for the whole run
        try:
            if not _try_lock(handle):
                raise InputError(
                    f"Another batch run is working in {self.out_dir}.",
                    hint="Wait for it to finish (or stop it) before starting this one again.",
                )
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield self
        finally:
            handle.close()  # closing releases the lock

    def ensure(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"Cannot create the batch folder {self.dir}: {exc.strerror or exc}"
            ) from None

    # writing ------------------------------------------------------------------------------
    def append(self, event: str, key: str, **fields: Any) -> None:
        """Write one event durably (fsync) before returning."""
        record = {"t": round(time.time(), 3), "event": event, "key": key, **fields}
        data = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock, open(self.path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    # reading ------------------------------------------------------------------------------
    def states(self) -> dict[str, JobState]:
        """Every key's state, replayed from the journal (unreadable lines are skipped)."""
        states: dict[str, JobState] = {}
        for record in self._records():
            key = record.get("key")
            if not isinstance(key, str):
                continue
            state = states.setdefault(key, JobState(key))
            _apply(state, record)
        return states

    def _records(self) -> Iterator[Mapping[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                for raw in handle:
                    try:
                        record = json.loads(raw)
                    except ValueError:
                        continue  # a torn line from a kill mid-write
                    if isinstance(record, dict):
                        yield record
        except FileNotFoundError:
            return


def _apply(state: JobState, record: Mapping[str, Any]) -> None:
    event = str(record.get("event") or "")
    state.line = int(record.get("line") or state.line or 0)
    if record.get("history_id"):
        state.history_id = str(record["history_id"])
    if event == "started":
        state.event = "started"
        state.error, state.may_be_billed, state.sent = None, False, False
    elif event == "sending":
        state.sent = True
    elif event == "done":
        state.event = "done"
        state.outputs = [str(p) for p in record.get("outputs") or []]
        state.cost_usd = record.get("cost_usd")
        state.request_id = record.get("request_id")
        state.error, state.may_be_billed = None, False
    elif event == "submitted":
        state.event = "submitted"
        state.batch_id = record.get("batch_id")
        state.error, state.may_be_billed = None, False
    elif event == "failed":
        state.event = "failed"
        state.error = record.get("error") if isinstance(record.get("error"), dict) else None
        state.may_be_billed = bool(record.get("may_be_billed"))
        state.cost_usd = record.get("cost_usd")


def _try_lock(handle: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def write_file(path: Path, data: bytes) -> None:
    """A batch file (state, request or result file, dry-run upload) written whole or not at all."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}") from None
