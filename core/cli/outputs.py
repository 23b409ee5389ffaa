"""Output files: named before anything is sent, checked before anything is paid, never lost.

- ``output_paths``: ``-o OUT`` → the files a job writes (``OUT-1 … OUT-N`` for several);
  ``-o DIR/`` (or an existing folder) → new files inside DIR, never a sibling such as ``DIR.png``.
- ``preflight``: refuses, before the request, an output that can't be written (a folder, a
  device such as ``/dev/full``, a read-only file or folder) or a disk without room for it.
- ``save_outputs``: writes them; when one can't be written after the API answered, the message
  says truthfully where that paid result is: in history (with the ``history export`` command),
  else in a rescue file it names, else that it could not be kept anywhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ApiUnavailable, InputError
from ..history import History
from ..rescue import keep_elsewhere
from ..settings import atomic_write

PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def _suffix(fmt: str) -> str:
    return ".jpg" if fmt == "jpeg" else f".{fmt}"


def output_paths(
    out: Path | str, count: int, fmt: str = "png", stem: str = "gpt-image"
) -> list[Path]:
    """OUT for one image, OUT-1 ... OUT-N for several; see ``_output_paths``. A name the file
    system can't take at all (too long, …) is bad input, not an internal error."""
    try:
        return _output_paths(out, count, fmt, stem)
    except OSError as exc:
        raise InputError(f"Cannot use -o {out}: {exc.strerror or exc}.") from None


def _output_paths(
    out: Path | str, count: int, fmt: str = "png", stem: str = "gpt-image"
) -> list[Path]:
    """OUT for one image, OUT-1 ... OUT-N for several; OUT without a suffix gets ``fmt``'s.

    ``OUT`` ending in a path separator, or naming an existing folder, means new files inside
    that folder named ``<stem>.<ext>`` (``-2``, ``-3`` … added rather than overwriting).
    """
    text = str(out)
    path = Path(out)
    if text.endswith(("/", os.sep)):
        return _in_folder(path, count, _suffix(fmt), stem)
    if path.is_dir():
        raise InputError(
            f"-o {path} is a folder; give a file name, or {text}/ for new files in it."
        )
    if path.exists() and not path.is_file():  # /dev/full, a pipe: never "OUT.png" beside it
        raise InputError(f"{path} is not a regular file (a device or pipe); give a file name.")
    if not path.suffix:
        path = path.with_name(f"{path.name}{_suffix(fmt)}")
    if PIL_FORMATS.get(path.suffix.lower()) is None:
        raise InputError(f"Unknown output type {path.suffix!r}; use .png, .jpg or .webp.")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def _in_folder(folder: Path, count: int, suffix: str, stem: str) -> list[Path]:
    if folder.exists() and not folder.is_dir():
        raise InputError(f"-o {folder}/ names a folder, but {folder} is a file.")
    for attempt in range(1, 1000):
        base = stem if attempt == 1 else f"{stem}-{attempt}"
        names = (
            [f"{base}{suffix}"]
            if count == 1
            else [f"{base}-{i}{suffix}" for i in range(1, count + 1)]
        )
        paths = [folder / name for name in names]
        if not any(p.exists() for p in paths):
            return paths
    raise InputError(f"Too many outputs named {stem} in {folder}; give a file name.")


def _existing_ancestor(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def preflight(
    paths: Sequence[Path],
    bytes_each: int,
    *,
    history_root: Path | None = None,
    history_bytes: int = 0,
) -> None:
    """``InputError`` (nothing sent yet) when an output can't be written or has no room."""
    try:
        _preflight(paths, bytes_each, history_root=history_root, history_bytes=history_bytes)
    except OSError as exc:  # a name the file system refuses outright (too long, loops, …)
        raise InputError(
            f"Cannot write {exc.filename or 'the output'}: {exc.strerror or exc}."
        ) from None


def _preflight(
    paths: Sequence[Path],
    bytes_each: int,
    *,
    history_root: Path | None = None,
    history_bytes: int = 0,
) -> None:
    """The checks ``preflight`` makes."""
    for path in paths:
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file name (or -o {path}/).")
        if path.exists() and not path.is_file():
            raise InputError(f"{path} is not a regular file (a device or pipe); give a file name.")
        if path.exists() and not os.access(path, os.W_OK):
            raise InputError(f"{path} is read-only; nothing was sent.")
    folders = {path.parent for path in paths}
    for folder in folders:
        _check_folder(
            folder, bytes_each * sum(1 for p in paths if p.parent == folder), "the output"
        )
    if history_root is not None and history_bytes:
        _check_folder(history_root, history_bytes, "history", probe=False)


def _check_folder(folder: Path, need: int, what: str, *, probe: bool = True) -> None:
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise InputError(f"Cannot write {what} into {folder}: {base} is not a folder.")
    if probe and base == folder.absolute():
        try:  # the real test: permissions, read-only mounts, ACLs all answer here
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".gpt-image-probe-"):
                pass
        except OSError as exc:
            raise InputError(
                f"Cannot write {what} into {folder}: {exc.strerror or exc}; nothing was sent."
            ) from None
    elif probe and not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"Cannot create {folder}: {base} is not writable; nothing was sent.")
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(base).free
        if free < need:
            raise InputError(
                f"Only {free / 1e6:.1f} MB free in {base}; {what} needs about "
                f"{need / 1e6:.1f} MB. Nothing was sent.",
                hint="Free some space or choose another place.",
            )


def expected_bytes(width: int, height: int, channels: int = 4, depth: int = 1) -> int:
    """A generous estimate of one output file: its uncompressed size."""
    return width * height * channels * depth + 64 * 1024


def history_copy(history: History | None, history_id: str, index: int) -> Path | None:
    """Result ``index`` (0-based) of a history entry when it is on disk."""
    if history is None:
        return None
    with contextlib.suppress(Exception):
        for path in history.get(history_id).images:
            if (
                path.name.startswith(f"result-{index + 1}.")
                and path.is_file()
                and path.stat().st_size
            ):
                return path
    return None


Data = bytes | Callable[[Any], object]


def save_outputs(
    files: Sequence[tuple[Path, Data]],
    result: Any,
    history: History | None = None,
    *,
    first_index: int = 0,
) -> None:
    """Write the outputs (bytes, or a function writing into the open file); a failure says
    truthfully where each paid result is kept. ``result`` is the job's result (or its history
    id); ``first_index`` the result index of ``files[0]``."""
    if isinstance(result, str):
        result = _Kept(result)
    failed: list[str] = []
    for index, (path, data) in enumerate(files, start=first_index):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
            continue
        except OSError as exc:
            reason = exc.strerror or str(exc)
        failed.append(_where(path, reason, index, data, result, history))
    if not failed:
        return
    lost = any("could not be kept" in text for text in failed)
    error_type = ApiUnavailable if lost else InputError
    raise error_type("; ".join(failed))


class _Kept:
    """A history id standing in for a job result (no rescued files)."""

    def __init__(self, history_id: str) -> None:
        self.history_id = history_id
        self.rescued: dict[int, Path] = {}


def _where(
    path: Path, reason: str, index: int, data: Data, result: Any, history: History | None
) -> str:
    history_id = result.history_id
    kept = history_copy(history, history_id, index)
    if kept is not None:
        return (
            f"Cannot write {path}: {reason}. The result is kept in history {history_id} "
            f"({kept}); `history export {history_id} -o OUT` writes it out"
        )
    rescued = (getattr(result, "rescued", None) or {}).get(index)
    if rescued is not None and Path(rescued).exists():
        return f"Cannot write {path}: {reason}. History could not take it either; it is kept as {rescued}"
    elsewhere = keep_elsewhere(data, path.suffix or ".png")
    if elsewhere is not None:
        return f"Cannot write {path}: {reason}. History holds no copy; it is kept as {elsewhere}"
    return (
        f"Cannot write {path}: {reason}. The result could not be kept anywhere else either "
        f"(history, temp folder, home folder, working folder)"
    )
