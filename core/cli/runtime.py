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
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import (
    ApiUnavailable,
    Cancelled,
    ConfigError,
    GptImageError,
)
from ..settings import RedactingFilter, Settings, data_dir, load_settings, redact
from .console import write_err, write_out

log = logging.getLogger("core.cli")
Handler = Callable[[argparse.Namespace], int]


CANCEL_GRACE_S = 10.0


LOG_FILE = "cli.log"


SettingsCommand = Callable[[argparse.Namespace, Settings], int]


def say(args: argparse.Namespace, text: str) -> None:
    write_out(redact(text, getattr(args, "secret", None)) + "\n")


def say_json(args: argparse.Namespace, payload: Any) -> None:
    text = json.dumps(payload, indent=2, ensure_ascii=True, default=str)
    write_out(redact(text, getattr(args, "secret", None)) + "\n")


def _report(error: GptImageError, args: argparse.Namespace) -> int:
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
                return _report(
                    ApiUnavailable(
                        f"Internal error: {type(error).__name__}: {error}",
                        hint=f"Details are in {data_dir() / 'logs' / LOG_FILE}; please report it.",
                    ),
                    args,
                )

    handler.__name__ = handler.__qualname__ = command.__name__
    return handler


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
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handlers: list[logging.Handler] = [console]
    try:
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            logs / LOG_FILE, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
        file.setLevel(min(level, logging.INFO))
        file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handlers.append(file)
    except OSError:
        pass  # no log file is better than no CLI
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


def run_cancellable(work: Callable[[Any], Any]) -> Any:
    """Run ``work(cancel_token)`` on a worker thread so Ctrl-C cancels the request cleanly."""
    from ..client import CancelToken

    cancel = CancelToken()
    box: dict[str, Any] = {}
    # An Event, not Thread.join/is_alive: a KeyboardInterrupt inside join() can leave the
    # thread looking finished while it still runs (CPython before 3.13).
    finished = threading.Event()

    def target() -> None:
        try:
            box["result"] = work(cancel)
        except BaseException as exc:  # handed over to the main thread below
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, name="gpt-image-job", daemon=True).start()
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        write_err("cancelling…\n")
        cancel.cancel()
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
            finished.wait(CANCEL_GRACE_S)
        if not finished.is_set():
            raise Cancelled("Cancelled; the request was abandoned.") from None
        if not isinstance(box.get("error"), Cancelled):
            raise Cancelled() from None
    if "error" in box:
        raise box["error"]
    return box["result"]
