"""Run ``python -m core`` with a full disk under chosen paths: a real ENOSPC from the kernel.

    python tests/faultfs.py REGEX [REGEX ...] -- ARGV...

Every file this process opens for writing whose absolute path matches one of the regular
expressions is opened on ``/dev/full`` instead (``os.open``, which ``atomic_write``,
``tempfile`` and the rescue use, and ``open``, which logging uses): each write to it fails with
``ENOSPC`` in the kernel, at the point where the program writes, exactly as on a full disk.
Reads, and writes elsewhere, are untouched. ``FAULTFS_LOG`` (a path) records each redirected
path, one a line, so a test can see which write points were hit. ``FAULTFS_ARM`` (a regular
expression) makes the disk fill up only after the first file matching it was written: with
the history's ``job.json`` (written just before the request is sent) the disk is full "after
the answer", past every check made before sending.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import runpy
import stat
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _matches(patterns: list[re.Pattern[str]], path: object) -> bool:
    if isinstance(path, int):
        return False
    try:
        text = os.path.abspath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return any(p.search(text) for p in patterns)


def _note(path: object) -> None:
    where = os.environ.get("FAULTFS_LOG")
    if where:
        with _real_open(where, "a", encoding="utf-8") as handle:
            handle.write(os.path.abspath(os.fsdecode(path)) + "\n")


_real_os_open = os.open
_real_open = builtins.open
_real_fchmod = os.fchmod


def install(patterns: list[re.Pattern[str]], arm: re.Pattern[str] | None = None) -> None:
    """Redirect writes under ``patterns`` to /dev/full for the rest of this process (once a
    file matching ``arm`` was opened for writing, when given)."""
    armed = [arm is None]

    def full(path: object) -> bool:
        if not armed[0]:
            if _matches([arm], path):
                armed[0] = True
            return False
        return _matches(patterns, path)

    def fault_os_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & _WRITE_FLAGS and dir_fd is None and full(path):
            _note(path)
            return _real_os_open("/dev/full", os.O_RDWR | (flags & os.O_APPEND))
        if dir_fd is None:
            return _real_os_open(path, flags, mode)
        return _real_os_open(path, flags, mode, dir_fd=dir_fd)

    def safe_fchmod(fd, mode):
        if stat.S_ISCHR(os.fstat(fd).st_mode):  # never chmod /dev/full itself (tests run as root)
            return
        _real_fchmod(fd, mode)

    def fault_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and full(file):
            _note(file)
            return _real_open("/dev/full", mode.replace("x", "w"), *args, **kwargs)
        return _real_open(file, mode, *args, **kwargs)

    os.open = fault_os_open
    os.fchmod = safe_fchmod
    builtins.open = fault_open
    io.open = fault_open


def main(argv: list[str]) -> None:
    split = argv.index("--")
    arm = os.environ.get("FAULTFS_ARM")
    install([re.compile(p) for p in argv[:split]], re.compile(arm) if arm else None)
    sys.argv = ["core", *argv[split + 1 :]]
    runpy.run_module("core", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
