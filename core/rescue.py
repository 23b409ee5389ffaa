"""The last resort for a paid result that history could not take: a file somewhere else.

A full or failing disk must never lose an image that was paid for. When the history folder
refuses a result (or the output file does), ``keep_elsewhere`` writes the bytes to the first
place that takes them (the temp folder, the home folder, the working folder) and returns that
path, so the message can name it. It never raises: ``None`` means nowhere took it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "gpt-image-result-"


def rescue_folders() -> list[Path]:
    """Where a rescued result may go, in order of preference."""
    folders = []
    for where in (tempfile.gettempdir, Path.home, Path.cwd):
        with contextlib.suppress(RuntimeError, KeyError, OSError):  # no home, a deleted cwd
            folders.append(Path(where()))
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def keep_elsewhere(
    data: bytes | Callable[[Any], object], suffix: str, folders: Iterable[Path] | None = None
) -> Path | None:
    """Write ``data`` to a new file (``gpt-image-result-*<suffix>``) in the first folder that
    takes all of it; ``None`` when none does (each failure is logged)."""
    for folder in rescue_folders() if folders is None else folders:
        path = None
        try:
            fd, name = tempfile.mkstemp(prefix=PREFIX, suffix=suffix, dir=folder)
            path = Path(name)
            with os.fdopen(fd, "wb") as handle:
                if callable(data):
                    data(handle)  # an encoder writing straight into the file
                else:
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            return path
        except (OSError, ValueError) as exc:
            log.warning("Could not keep a result in %s: %s", folder, exc.strerror or exc)
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
    return None
