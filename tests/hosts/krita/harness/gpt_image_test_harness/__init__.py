"""Test harness: runs pytest INSIDE a real Krita, writes the results, then quits Krita.

Installed only into throw-away test profiles (never shipped). Environment:

  KRITA_TEST_OUT       output dir (result.json, junit.xml, harness.log)        [required]
  KRITA_TEST_DIR       pytest target (dir or file); unset = warm-up run: just quit
  KRITA_TEST_SYSPATH   ':'-separated dirs prepended to sys.path (pytest for Krita's Python)
  KRITA_TEST_WATCHDOG  seconds before a hard exit with a Python stack dump (default 300)
  KRITA_TEST_ARGS      extra pytest args (space separated)

The tests run in a greenlet, so that waiting (``pause()``) hands control back to Krita's
top-level event loop, as a user's Krita has it between two clicks. That matters: Krita delivers
its "synchronized" events (the layer model, the active layer, ...) only when no event handler is
running, so tests that waited inside a nested ``processEvents()`` saw a Krita where new layers
never reach the layer docker and can never be made active. Without greenlet (or when called
outside the test greenlet) ``pause()`` falls back to ``processEvents()``.
"""

import faulthandler
import json
import os
import shlex
import sys
import time
import traceback

OUT = os.environ.get("KRITA_TEST_OUT", "")
T0 = time.time()


def log(msg: str) -> None:
    if not OUT:
        return
    with open(os.path.join(OUT, "harness.log"), "a", encoding="utf-8") as f:
        f.write(f"{time.time() - T0:8.2f} {msg}\n")


if OUT:
    os.makedirs(OUT, exist_ok=True)
    # Krita's own excepthook opens a modal dialog: a headless run would hang forever.
    sys.excepthook = lambda t, v, tb: log(
        "UNCAUGHT:\n" + "".join(traceback.format_exception(t, v, tb))
    )
    # A C-level watchdog still fires while a modal loop holds the GIL.
    _wd = open(os.path.join(OUT, "watchdog_traceback.txt"), "w")  # noqa: SIM115
    faulthandler.dump_traceback_later(
        float(os.environ.get("KRITA_TEST_WATCHDOG", "300")), exit=True, file=_wd
    )
    for p in reversed([p for p in os.environ.get("KRITA_TEST_SYSPATH", "").split(":") if p]):
        sys.path.insert(0, p)

from krita import Extension, Krita  # noqa: E402

# The plug-in's own Qt shim (krita_plugin/qt.py), copied in beside this file by the runner.
from .qt import QApplication, QThread, QTimer  # noqa: E402

try:
    import greenlet
except ImportError:  # the suite still runs, only with nested event loops
    greenlet = None

_tests = None  # the greenlet running pytest, while it runs

RESULT: dict = {"python": sys.version, "krita": Krita.instance().version(), "t_import": T0}


def _finish() -> None:
    app = Krita.instance()
    for d in app.documents():  # else file_quit shows a modal "save changes?" dialog
        d.setModified(False)
    if OUT:
        with open(os.path.join(OUT, "result.json"), "w", encoding="utf-8") as f:
            json.dump(RESULT, f, indent=1, default=str)
    log("quit")
    app.action("file_quit").trigger()  # clean exit (QApplication.quit() segfaults at exit)


def pause(ms: int = 1) -> None:
    """Let Krita's top-level event loop run for about ``ms`` ms, then carry on."""
    if _tests is None or greenlet.getcurrent() is not _tests:
        QApplication.processEvents()
        return
    QTimer.singleShot(ms, _resume)
    _tests.parent.switch()


def _at_top_level() -> bool:
    """True when called straight from Krita's main event loop, not from inside a nested one.

    A nested loop started from Python (``processEvents()`` in a slot, a file loading with
    progress) leaves that slot's frame under ours; one started by Krita itself raises the loop level.
    """
    caller = sys._getframe(1).f_back  # whoever is under _resume
    if caller is not None:
        nested = RESULT.setdefault("nested_resumes", {})
        where = f"{caller.f_code.co_filename}:{caller.f_lineno} {caller.f_code.co_name}"
        nested[where] = nested.get(where, 0) + 1
        return False
    return QThread.currentThread().loopLevel() <= 1


def _resume() -> None:
    """Timer slot: continue the tests where they paused; finish once pytest has returned.

    Only from the top-level loop: a timer can also fire inside a nested event loop that Krita or
    the plug-in runs (while a file loads, say), and the tests must not run in the middle of that.
    """
    if not _at_top_level():
        QTimer.singleShot(1, _resume)
        return
    _tests.switch()
    if _tests.dead:
        _finish()


def _run() -> None:
    global _tests
    RESULT["t_window"] = time.time()
    if not os.environ.get("KRITA_TEST_DIR"):
        log("warm-up run: quitting")
        RESULT["pytest_rc"] = 0
        _finish()
        return
    RESULT["top_level_loop"] = greenlet is not None
    if greenlet is None:
        _pytest_session()
        _finish()
        return
    _tests = greenlet.greenlet(_pytest_session)
    QTimer.singleShot(0, _resume)  # from the top-level loop, not from inside this timer slot


def _pytest_session() -> None:
    log("running tests")
    try:
        import pytest

        if not getattr(sys, "argv", None):
            sys.argv = ["krita"]
        target = os.environ["KRITA_TEST_DIR"]
        base = target if os.path.isdir(target) else os.path.dirname(target)
        args = [
            target,
            "-c",
            os.path.join(base, "pytest.ini"),
            "--rootdir",
            base,
            "--confcutdir",
            base,
            "-p",
            "no:cacheprovider",
            "-rA",
            "--junitxml",
            os.path.join(OUT, "junit.xml"),
        ]
        args += shlex.split(os.environ.get("KRITA_TEST_ARGS", ""))
        RESULT["pytest_rc"] = int(pytest.main(args))
    except BaseException:
        RESULT["harness_error"] = traceback.format_exc()
        RESULT["pytest_rc"] = 99
    RESULT["t_end_tests"] = time.time()
    log(f"tests done rc={RESULT['pytest_rc']}")


class _Harness(Extension):
    def setup(self) -> None:
        Krita.instance().notifier().windowCreated.connect(lambda: QTimer.singleShot(500, _run))

    def createActions(self, window) -> None:
        pass


Krita.instance().addExtension(_Harness(Krita.instance()))
log("harness registered")
