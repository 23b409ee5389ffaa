"""Runs a core job off the main thread and hands events back to it through Qt signals.

The worker never touches Krita objects: it gets a ``PreparedJob`` (plain data) and returns a
``JobResult``. Signals emitted from the thread are queued into the main thread's event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .core.client import CancelToken
from .core.errors import ConfigError, GptImageError, InternalError
from .qt import QThread, pyqtSignal

log = logging.getLogger(__name__)


def log_file() -> str | None:
    """Where the plug-in's log (with tracebacks) is, for bug reports."""
    for handler in logging.getLogger(__package__).handlers:
        name = getattr(handler, "baseFilename", None)
        if name:
            return str(name)
    return None


class CallWorker(QThread):
    """Runs ``work(cancel, emit)`` in a thread; ``event``/``done``/``failed`` arrive on the UI thread.

    ``serial`` identifies the job, so the UI can drop late signals of a job it already gave up on.
    """

    event = pyqtSignal(int, object)
    done = pyqtSignal(int, object)
    failed = pyqtSignal(int, object)

    def __init__(
        self, serial: int, work: Callable[[CancelToken, Callable[[Any], None]], Any]
    ) -> None:
        super().__init__()
        self.serial = serial
        self.cancel_token = CancelToken()
        self._work = work

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self) -> None:
        try:
            result = self._work(self.cancel_token, lambda ev: self.event.emit(self.serial, ev))
        except InternalError as error:  # a bug core caught: name the log that has the traceback
            self.failed.emit(self.serial, error.with_log(log_file()))
        except GptImageError as error:
            self.failed.emit(self.serial, error)
        except ImportError as error:  # openai loads with the first job: a broken install shows here
            from . import dependency_message

            what = f"a dependency failed to load ({error.name or error}: {error})"
            log.error("%s", dependency_message(what))
            self.failed.emit(self.serial, ConfigError(dependency_message(what)))
        except Exception as error:  # a bug must reach the UI, not kill the thread silently
            log.exception("gpt-image worker failed")
            bug = InternalError.from_exception(error, request_sent=None, log_path=log_file())
            self.failed.emit(self.serial, bug)
        else:
            self.done.emit(self.serial, result)
