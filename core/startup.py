"""What ``python -m core`` starts before it imports anything else.

A command that calls the API needs the ``openai`` SDK, the slowest import of all (a quarter of
a second, seconds on a busy machine); the CLI itself takes about as long again to import and
then reads its input. Imported on a background thread from the first instant (with what its
first client needs: ``client_transport.warm_sdk``), the SDK is ready by the time the request is
built, and the import runs while the main thread waits on the disk or decodes (both let go of
the GIL). Only the standard library is imported here; the thread imports the rest.

``edit`` also starts reading its ``--image`` at once (``read_early``): decoding a large PNG lets
go of the GIL, so it runs on the second core while the CLI and the SDK are imported. The CLI
takes that picture (``early_image``) when it reads the same path; whatever the early read
raised is left for the CLI's own read to raise as it always does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The commands that send requests (the others never import the SDK).
API_COMMANDS = frozenset({"edit", "generate", "expand", "refine", "batch", "check", "improve"})


def preload(argv: Sequence[str]) -> threading.Thread | None:
    """Start importing the SDK on a daemon thread when ``argv`` names an API command (a failed
    import is left for the code that needs it to report); returns the thread."""
    if not argv or argv[0] not in API_COMMANDS or any(a in ("-h", "--help") for a in argv):
        return None

    def load() -> None:
        with contextlib.suppress(Exception):  # a failed import is reported where it is used
            from .sdk_import import load_openai

            load_openai()  # first: every other import here can wait, this can't
        from .client_transport import warm_sdk

        warm_sdk()

    thread = threading.Thread(target=load, name="gpt-image-preload", daemon=True)
    thread.start()
    return thread


#: The early reads under way: path (as ``str(Path(...))``) → (thread, box holding "source").
_EARLY: dict[str, tuple[threading.Thread, dict[str, Any]]] = {}


def _option_value(argv: Sequence[str], flag: str) -> str | None:
    """The last value given to ``flag`` (``--flag V`` or ``--flag=V``) before a ``--``."""
    value = None
    for index, token in enumerate(argv):
        if token == "--":
            break
        if token == flag and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            value = argv[index + 1]
        elif token.startswith(flag + "="):
            value = token[len(flag) + 1 :]
    return value


def read_early(argv: Sequence[str]) -> threading.Thread | None:
    """For ``edit --image IMG``: start reading IMG (``imagefile.open_image``: size checked
    before decoding, special files refused) on a daemon thread; returns the thread."""
    if not argv or argv[0] != "edit" or any(a in ("-h", "--help") for a in argv):
        return None
    value = _option_value(argv[1:], "--image")
    if not value:
        return None
    key = str(Path(value))
    box: dict[str, Any] = {}

    def load() -> None:
        try:
            from .imagefile import open_image

            box["source"] = open_image(Path(key), key)
        except BaseException:  # the CLI's own read reports it
            box.clear()

    thread = threading.Thread(target=load, name="gpt-image-read", daemon=True)
    _EARLY[key] = (thread, box)
    thread.start()
    return thread


def early_image(path: Path | str) -> Any | None:
    """The picture ``read_early`` read from ``path`` (waiting for it), once; else None."""
    entry = _EARLY.pop(str(Path(path)), None)
    if entry is None:
        return None
    thread, box = entry
    thread.join()
    return box.get("source")
