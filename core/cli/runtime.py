"""What every API command shares: settings, key-safe logging, errors → exit codes, Ctrl-C.

Commands wrapped by ``with_settings`` get settings from the config dir and environment,
logging to stderr and ``<data dir>/logs/cli.log`` with the key blanked out, ``--json`` errors
as ``{"error": {...}}`` on stdout, and the exit code of the ``GptImageError``. Jobs run on a
worker thread so Ctrl-C cancels the request cleanly (exit 130, history says "cancelled").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import logging.handlers
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import (
    Cancelled,
    ConfigError,
    GptImageError,
    InternalError,
)
from ..settings import RedactingFilter, Settings, data_dir, load_settings, redact
from .console import printable, write_err, write_json, write_out

log = logging.getLogger("core.cli")
Handler = Callable[[argparse.Namespace], int]


CANCEL_GRACE_S = 10.0


LOG_FILE = "cli.log"


SettingsCommand = Callable[[argparse.Namespace, Settings], int]
#: Non-empty once the running command handed a job to ``run_cancellable`` (so a bug report can
#: say truthfully whether anything may have been sent). One command runs per process at a time.
_JOBS_STARTED: list[bool] = []


def leave(code: int) -> None:
    """End the process with ``code`` as a normal exit would, minus Python's finalization.

    First what an exit must still do: the interpreter's own thread shutdown (idle pool
    workers let go, other non-daemon threads joined), the ``atexit`` handlers, the standard
    streams flushed. Where any of that is not as expected (no ``threading._shutdown``, a stream
    that cannot be flushed) the ordinary ``SystemExit`` does it all instead.
    """
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None or threading.current_thread() is not threading.main_thread():
        raise SystemExit(code)
    shutdown()
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code)


def say(args: argparse.Namespace, text: str) -> None:
    write_out(redact(text, getattr(args, "secret", None)) + "\n")


def say_json(args: argparse.Namespace, payload: Any) -> None:
    text = json.dumps(payload, indent=2, ensure_ascii=True, default=str).replace("\x7f", "\\u007f")
    write_json(redact(text, getattr(args, "secret", None)) + "\n")


def _report(error: GptImageError, args: argparse.Namespace) -> int:
    if isinstance(error, InternalError):
        error = error.with_log(data_dir() / "logs" / LOG_FILE)
    write_err(redact(f"error: {error}", getattr(args, "secret", None)) + "\n")
    log.info("exit %d: %s", error.exit_code, error)
    if getattr(args, "json", False):
        say_json(args, {"error": error.to_dict()})
    return error.exit_code


def with_settings(command: SettingsCommand, *, lenient: bool = False) -> Handler:
    """Wrap a command: settings, key-safe logging, errors mapped to exit codes."""

    def handler(args: argparse.Namespace) -> int:
        with _key_safe_logging(getattr(args, "verbose", 0)) as secret_filter:
            try:
                settings = _settings_or_defaults() if lenient else load_settings()
                args.secret = secret_filter.secret = settings.api_key
                return command(args, settings)
            except GptImageError as error:
                return _report(error, args)
            except KeyboardInterrupt:
                return _report(Cancelled(), args)
            except Exception as error:  # a bug: one line for the person, details in the log
                log.info("Internal error:\n%s", traceback.format_exc())  # to the log file, redacted
                started = bool(_JOBS_STARTED)
                kept = "every result that arrived is in history (python -m core history list)"
                return _report(
                    InternalError.from_exception(
                        error,
                        log_path=data_dir() / "logs" / LOG_FILE,
                        request_sent=None if started else False,
                        kept=kept if started else "",
                    ),
                    args,
                )
            finally:
                _JOBS_STARTED.clear()

    handler.__name__ = handler.__qualname__ = command.__name__
    return handler


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """The log file; when it can't be written (full disk, read-only, gone), the job goes on,
    the problem is said once on stderr, and the file is not tried again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        self.broken = True
        reason = sys.exc_info()[1]
        reason_text = getattr(reason, "strerror", None) or reason or "unknown error"
        with contextlib.suppress(Exception):
            write_err(
                f"warning: cannot write the log file {self.baseFilename} ({reason_text}); not logging to it any more\n"
            )
        with contextlib.suppress(Exception):
            if self.stream is not None:
                self.stream.close()
        self.stream = None

    def flush(self) -> None:
        if self.broken:
            return
        try:
            super().flush()
        except OSError:
            self.handleError(None)  # type: ignore[arg-type]

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().close()


class _QuietConsoleHandler(logging.StreamHandler):
    """stderr; a closed or broken stderr drops log lines instead of printing tracebacks."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().flush()


class _PrintableFormatter(logging.Formatter):
    """Log lines on the terminal with control characters shown escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


class _KeyFilter(RedactingFilter):
    """Blanks the key out of every log record; the key is set once settings are loaded."""

    def __init__(self) -> None:
        super().__init__(None)
        self.secret: Any = None

    def filter(self, record: logging.LogRecord) -> bool:
        self._secret = self.secret
        return super().filter(record)


@contextlib.contextmanager
def _key_safe_logging(verbosity: int) -> Iterator[_KeyFilter]:
    """stderr at WARNING (-v INFO, -vv DEBUG incl. the SDK) and a rotating log file in the data
    dir, both filtered for the key; removed afterwards (tests call ``main`` many times)."""
    key_filter = _KeyFilter()
    root = logging.getLogger()
    level = logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING
    console = _QuietConsoleHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(_PrintableFormatter("%(levelname)s: %(message)s"))
    handlers: list[logging.Handler] = [console]
    try:
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        file = _QuietFileHandler(
            logs / LOG_FILE, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
        file.setLevel(min(level, logging.INFO))
        file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handlers.append(file)
    except OSError as exc:  # no log file is better than no CLI
        write_err(f"warning: no log file ({exc.strerror or exc}); logging to the terminal only\n")
    sdk_loggers = {name: logging.getLogger(name) for name in ("openai", "httpx", "httpcore")}
    saved = (root.level, {name: lg.level for name, lg in sdk_loggers.items()})
    root.setLevel(min(level, logging.INFO))
    for logger in sdk_loggers.values():
        logger.setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    for handler in handlers:
        handler.addFilter(key_filter)
        root.addHandler(handler)
    try:
        yield key_filter
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        for name, logger in sdk_loggers.items():
            logger.setLevel(saved[1][name])


def _settings_or_defaults() -> Settings:
    """For commands that need neither key nor network (estimate, reading history): a broken
    settings file is reported as a warning and the defaults are used."""
    try:
        return load_settings()
    except ConfigError as error:
        log.warning("%s; using default settings", error)
        return Settings()


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )


#: On a file or pipe, the one "waiting" line appears once the answer has taken this long (a
#: quick answer leaves the log as it was).
PLAIN_WAITING_AFTER_S = 2.0


class WaitingLine:
    """ "waiting for the API… 12 s" on stderr while a request runs: on a terminal redrawn in
    place each second and erased at the end; on a file or pipe (logs, CI) one plain line, once,
    when the answer takes longer than ``PLAIN_WAITING_AFTER_S``, and left there."""

    def __init__(self, what: str, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.terminal = bool(self.stream.isatty())
        except (AttributeError, ValueError, OSError):
            self.terminal = False
        self.enabled = True
        self.what = what
        self.started = time.monotonic()
        self.shown = 0
        self.last = -1
        self.said = False

    def tick(self) -> None:
        elapsed = time.monotonic() - self.started
        if not self.enabled:
            return
        if not self.terminal:
            if not self.said and elapsed >= PLAIN_WAITING_AFTER_S:
                self.said = True
                self._put(f"{self.what} (no answer yet after {elapsed:.0f} s)\n")
            return
        seconds = int(elapsed)
        if seconds < 1 or seconds == self.last:
            return
        self.last = seconds
        text = f"\r{self.what} {seconds} s (Ctrl-C cancels)"
        if self._put(text):
            self.shown = len(text)

    def _put(self, text: str) -> bool:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            return False
        return True

    def clear(self) -> None:
        if self.shown:
            self._put("\r" + " " * self.shown + "\r")
            self.shown = 0


def run_cancellable(
    work: Callable[[Any, Callable[[Any], None]], Any],
    waiting: str | None = None,
    on_update: Callable[[Any], None] | None = None,
) -> Any:
    """Run ``work(cancel_token, emit)`` as a job (``core.job_handle``: one worker thread) and
    wait for it here, so Ctrl-C cancels the request cleanly; ``on_update`` gets each typed
    event on this thread; ``waiting`` is the text of the elapsed-time line on a terminal."""
    from ..job_handle import JobCancelled, JobHandle

    _JOBS_STARTED.append(True)
    handle = JobHandle(work).start()
    line = WaitingLine(waiting or "waiting…")
    line.enabled = line.enabled and waiting is not None
    try:
        while not handle.finished:
            for update in handle.wait(0.1):
                if on_update is not None:
                    on_update(update)
            line.tick()
        line.clear()
    except KeyboardInterrupt:
        line.clear()
        write_err("cancelling…\n")
        handle.cancel()
        ended = False
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
            ended = handle.join(CANCEL_GRACE_S)  # the record is closed as cancelled first
        if not ended:
            raise Cancelled("Cancelled; the request was abandoned.") from None
        own = handle.worker_outcome
        if isinstance(own, JobCancelled) and own.error is not None:
            raise own.error from None  # it says whether the request may be billed
        raise Cancelled() from None
    return handle.result()
