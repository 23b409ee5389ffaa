"""Run one prepared job off GIMP's main thread while the main thread shows progress.

The job runs on its one worker thread (``core.job_handle``: ``core.jobs.run_job``, HTTP,
history). The main thread pumps it from a GLib timeout source:
progress text with the elapsed time, partial previews in the interactive window, and the cancel
paths: the window's Cancel button, the script's ``timeout`` argument, and the cancel file
(``<data dir>/gimp-cancel``: create it to cancel whatever GIMP job is running — the way a script
or a test cancels from outside). No libgimp call ever happens on the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import jobs  # noqa: F401 (the job the handle runs: core.jobs.run_job)
from core.job_handle import cancelled_after, start_job
from core.naming import elapsed_text

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


def pump_with_glib(tick: Callable[[], bool], interval_s: float) -> None:
    """Call ``tick`` from a GLib timeout source until it returns False, in a main loop of its
    own (GIMP's dialogs and progress window draw meanwhile). Without PyGObject (the unit tests)
    a plain sleep loop does the same."""
    try:
        from gi.repository import GLib
    except ImportError:
        while tick():
            time.sleep(interval_s)
        return
    loop = GLib.MainLoop()
    raised: list[BaseException] = []

    def on_timeout() -> bool:
        try:
            going = tick()
        except BaseException as exc:  # PyGObject would only print it: hand it to the caller
            raised.append(exc)
            going = False
        if not going:
            loop.quit()
        return going

    GLib.timeout_add(max(1, int(interval_s * 1000)), on_timeout)
    loop.run()
    if raised:
        raise raised[0]


def run_in_background(
    prepared: Any,
    settings: Any,
    progress: Progress,
    *,
    timeout_s: float = 0.0,
    cancel_path: Path | None = None,
) -> Any:
    """``jobs.run_job`` as a job (``core.job_handle``: its one worker thread) pumped from a
    GLib source on the main thread; returns its ``JobResult`` or raises its error.

    A cancel (the window's button, the time limit, the cancel file) ends the run with
    ``Cancelled``; the worker first gets ``CANCEL_GRACE_S`` to close its history record (a
    worker stuck in a blocking call is left behind as a daemon: whatever it still receives goes
    to history, never to the image). A cancel wins even if the answer came in meanwhile.
    """
    if cancel_path is not None:
        cancel_path.unlink(missing_ok=True)  # a stale request must not cancel this job
    handle = start_job(prepared, settings)
    started = time.monotonic()
    state = {"status": "Sending the request", "cancelled_at": None, "reason": None}

    def tick() -> bool:
        for update in handle.pump():
            state["status"] = _show(update, progress, state["status"])
        elapsed = time.monotonic() - started
        progress.set_text(f"GPT Image: {state['status']}… {elapsed_text(elapsed)}")
        progress.pulse()
        if progress.ui is not None:
            progress.ui.tick(elapsed, state["status"])
        if state["cancelled_at"] is None:
            if handle.finished:
                return False
            reason = _cancel_reason(started, timeout_s, cancel_path, progress.ui)
            if reason:
                log.info("%s", reason)
                handle.cancel(reason)
                state.update(cancelled_at=time.monotonic(), reason=reason, status="Cancelling")
            return True
        if handle.join(0):
            return False
        if time.monotonic() - state["cancelled_at"] > CANCEL_GRACE_S:
            log.warning("worker did not stop %.0f s after the cancel; leaving it", CANCEL_GRACE_S)
            return False
        return True

    pump_with_glib(tick, POLL_S)
    if cancel_path is not None:
        cancel_path.unlink(missing_ok=True)
    if state["cancelled_at"] is not None:
        # A cancel wins even if the worker finished meanwhile: the person asked for nothing;
        # core says truly whether anything was sent (and may be billed)
        raise cancelled_after(
            handle, state["reason"] or "Cancelled.", hint="Nothing was changed in the image."
        )
    return handle.result()


def _show(update: Any, progress: Progress, status: str) -> str:
    """One of the job's events on the main thread; returns the latest status text."""
    if update.kind == "partial":
        status = f"Preview {update.index + 1} received"
        if progress.ui is not None and update.image is not None:
            progress.ui.show_image(update.image)
    elif update.kind == "image":
        status = f"Image {update.index + 1} received"
        if progress.ui is not None and update.image is not None:
            progress.ui.show_image(update.image)
    elif update.kind == "progress" and update.message:
        status = str(update.message).rstrip(".…")
    return status
