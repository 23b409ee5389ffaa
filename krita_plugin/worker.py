"""A core job handle (``core.job_handle``: one worker thread per job) pumped from a Qt timer.

The job's thread never touches Krita objects: it gets plain data (a ``PreparedJob``) and returns
a ``JobResult``. This object lives on the UI thread; its timer drains the handle's typed events
and hands them on as Qt signals, so every slot runs on the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .core.client import CancelToken
from .core.errors import ConfigError, GptImageError
from .core.job_handle import JobHandle
from .qt import QObject, QTimer, pyqtSignal

log = logging.getLogger(__name__)

#: How often the UI thread looks for the job's events (a preview shows at most this late).
PUMP_MS = 30


def log_file() -> str | None:
    """Where the plug-in's log (with tracebacks) is, for bug reports."""
    for handler in logging.getLogger(__package__).handlers:
        name = getattr(handler, "baseFilename", None)
        if name:
            return str(name)
    return None


def dependency_error(error: ImportError) -> GptImageError:
    """openai loads with the first job: a broken install shows here, with the docker's text."""
    from . import dependency_message

    what = f"a dependency failed to load ({error.name or error}: {error})"
    log.error("%s", dependency_message(what))
    return ConfigError(dependency_message(what))


class CallWorker(QObject):
    """Runs ``work(cancel, emit)`` as a job; ``progressed``/``done``/``failed`` arrive on the UI thread.

    ``serial`` identifies the job, so the UI can drop late signals of a job it already gave up
    on. ``finished`` fires once the handle has reported its end (done, failed or cancelled)
    and the job's thread has ended too (after a cancel it may still be closing its history
    record): until then the docker keeps this object alive.
    """

    progressed = pyqtSignal(int, object)  # not "event": that would hide QObject.event()
    done = pyqtSignal(int, object)
    failed = pyqtSignal(int, object)
    finished = pyqtSignal()

    def __init__(
        self, serial: int, work: Callable[[CancelToken, Callable[[Any], None]], Any]
    ) -> None:
        super().__init__()
        self.serial = serial
        self.handle: JobHandle[Any] = JobHandle(
            work, log_path=log_file, import_error=dependency_error
        )
        self._timer = QTimer(self)
        self._timer.setInterval(PUMP_MS)
        self._timer.timeout.connect(self.pump)

    @property
    def cancel_token(self) -> CancelToken:
        return self.handle.token

    def start(self) -> None:
        self.handle.start()
        self._timer.start()

    def cancel(self) -> None:
        self.handle.cancel()

    def wait(self, msecs: int) -> bool:
        """Wait up to ``msecs`` for the job's thread to end (closing a dialog, tests)."""
        return self.handle.join(msecs / 1000)

    def pump(self) -> None:
        """Hand the job's events on as signals (the timer calls this on the UI thread)."""
        for update in self.handle.pump():
            if update.kind == "done":
                self.done.emit(self.serial, update.result)
            elif update.kind == "failed":
                self.failed.emit(self.serial, update.error)
            elif update.kind != "cancelled":  # the UI that cancelled has moved on already
                self.progressed.emit(self.serial, update)
        if self.handle.finished and self.handle.join(0):
            self._timer.stop()
            self.finished.emit()
