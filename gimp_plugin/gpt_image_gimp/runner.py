"""Run one prepared job off GIMP's main thread while the main thread shows progress.

The worker thread only calls ``core.jobs.run_job`` (HTTP, history). The main thread polls it:
progress text with the elapsed time, partial previews in the interactive window, and the cancel
paths: the window's Cancel button, the script's ``timeout`` argument, and the cancel file
(``<data dir>/gimp-cancel``: create it to cancel whatever GIMP job is running — the way a script
or a test cancels from outside). No libgimp call ever happens on the worker.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import jobs
from core.client import CancelToken
from core.errors import Cancelled, GptImageError

from . import logs

CANCEL_FILE_NAME = "gimp-cancel"
POLL_S = 0.1
#: After a cancel, how long the worker gets to return before the run gives up on it.
CANCEL_GRACE_S = 5.0

log = logs.get("runner")


def cancel_file(data_dir: Path) -> Path:
    return Path(data_dir) / CANCEL_FILE_NAME


@dataclass
class Progress:
    """What the main thread shows; ``ui`` is the interactive window (None when scripted)."""

    set_text: Callable[[str], None]
    pulse: Callable[[], None]
    ui: Any = None


class _Worker(threading.Thread):
    def __init__(self, prepared: Any, settings: Any, token: CancelToken) -> None:
        super().__init__(name="gpt-image-job", daemon=True)
        self.prepared = prepared
        self.settings = settings
        self.token = token
        self.events: queue.Queue = queue.Queue()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = jobs.run_job(
                self.prepared, self.settings, on_event=self.events.put, cancel=self.token
            )
        except BaseException as exc:  # handed to the main thread, which decides
            self.error = exc


def _cancel_reason(
    started: float, timeout_s: float, cancel_path: Path | None, ui: Any
) -> str | None:
    if ui is not None and ui.cancelled:
        return "Cancelled by the user."
    if cancel_path is not None and cancel_path.exists():
        return f"Cancelled through {cancel_path}."
    if timeout_s and time.monotonic() - started > timeout_s:
        return f"Cancelled: the job took longer than its time limit of {timeout_s:g} s."
    return None


def run_in_background(
    prepared: Any,
    settings: Any,
    progress: Progress,
    *,
    timeout_s: float = 0.0,
    cancel_path: Path | None = None,
) -> Any:
    """``jobs.run_job`` on a worker thread; returns its ``JobResult`` or raises its error.

    A cancel stops waiting even when the worker is stuck in a blocking call: after
    ``CANCEL_GRACE_S`` the run raises ``Cancelled`` and leaves the daemon worker behind (whatever
    it still receives is written to history by ``run_job``, never to the image).
    """
    if cancel_path is not None:
        cancel_path.unlink(missing_ok=True)  # a stale request must not cancel this job
    token = CancelToken()
    worker = _Worker(prepared, settings, token)
    started = time.monotonic()
    cancelled_at: float | None = None
    reason = None
    status = "Sending the request"
    worker.start()
    while worker.is_alive():
        worker.join(POLL_S)
        status = _drain(worker.events, progress, status)
        elapsed = time.monotonic() - started
        progress.set_text(f"GPT Image: {status}… {elapsed:.0f} s")
        progress.pulse()
        if progress.ui is not None:
            progress.ui.tick(elapsed, status)
        if cancelled_at is None:
            reason = _cancel_reason(started, timeout_s, cancel_path, progress.ui)
            if reason:
                log.info("%s", reason)
                token.cancel()
                cancelled_at = time.monotonic()
                status = "Cancelling"
        elif time.monotonic() - cancelled_at > CANCEL_GRACE_S:
            log.warning("worker did not stop %.0f s after the cancel; leaving it", CANCEL_GRACE_S)
            break
    if cancel_path is not None:
        cancel_path.unlink(missing_ok=True)
    if cancelled_at is not None:
        # A cancel wins even if the worker finished meanwhile: the person asked for nothing.
        raise Cancelled(reason or "Cancelled.", hint="Nothing was changed in the image.")
    if worker.error is not None:
        if isinstance(worker.error, GptImageError):
            raise worker.error
        raise worker.error
    return worker.result


def _drain(events: queue.Queue, progress: Progress, status: str) -> str:
    """Handle the worker's events on the main thread; returns the latest status text."""
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return status
        kind = getattr(event, "kind", "")
        if kind == "partial":
            status = f"Preview {getattr(event, 'index', 0) + 1} received"
            if progress.ui is not None and event.image is not None:
                progress.ui.show_image(event.image)
        elif kind == "image":
            status = f"Image {getattr(event, 'index', 0) + 1} received"
            if progress.ui is not None and event.image is not None:
                progress.ui.show_image(event.image)
        elif kind == "status" and getattr(event, "message", None):
            status = str(event.message).rstrip(".…")
