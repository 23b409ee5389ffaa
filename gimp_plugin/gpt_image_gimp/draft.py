"""What the person typed in a procedure dialog, kept until a run of it succeeds.

GIMP keeps a dialog's values as last values only after a run that succeeds, and libgimp 3.0/3.2
has no public call to save a config as last values (``Gimp.ProcedureConfig`` exposes no
save/end-run method). So after the dialog's OK the plug-in writes the values to
``<data dir>/gimp-dialog-draft.json`` (atomically, owner-only; only the procedure's own
arguments, never the API key), applies them to the config before the next dialog of the same
procedure opens, and deletes the file when a run of that procedure succeeds. A file that does
not read, belongs to another procedure, or holds a value this version refuses is ignored (that
value alone, for the last) with a log line: the dialog still opens.

No ``gi`` here: ``config`` is anything with ``get_property``/``set_property``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from core import settings as core_settings

from . import logs
from .arguments import args_for

log = logs.get("draft")

FILE_NAME = "gimp-dialog-draft.json"
VERSION = 1
#: The argument kinds a draft keeps (layers and picked files belong to one session's images).
KEPT_KINDS = ("string", "int", "double", "choice", "boolean")


def path() -> Path:
    return core_settings.data_dir() / FILE_NAME


def _kept(proc_name: str) -> dict[str, Any]:
    return {arg.name: arg for arg in args_for(proc_name) if arg.kind in KEPT_KINDS}


def save(proc_name: str, config: Any, secret: str | None = None) -> bool:
    """Write the dialog values of ``proc_name`` from ``config``; False (logged) if not written.
    ``secret`` (the API key) must not appear in the file: if it would, nothing is written."""
    values = {}
    for name in _kept(proc_name):
        try:
            values[name] = config.get_property(name)
        except (TypeError, ValueError, AttributeError):
            continue
    # against the values, not the JSON: escaping changes a key with a quote, a backslash or
    # a non-ASCII character, and it would pass unseen
    if secret and any(secret in str(value) for value in values.values()):
        log.warning("draft not kept: a dialog value contains the API key")
        remove(proc_name)
        return False
    text = json.dumps({"version": VERSION, "procedure": proc_name, "values": values})
    target = path()
    try:
        core_settings.ensure_private_dir(target.parent)
        core_settings.atomic_write(target, text.encode("utf-8"), mode=0o600, durable=False)
    except OSError as exc:
        log.warning("draft not kept: %s", exc)
        return False
    log.info("draft of %s kept in %s", proc_name, target)
    return True


def _valid(arg: Any, value: Any) -> bool:
    if arg.kind in ("string", "choice"):
        if not isinstance(value, str):
            return False
        return arg.kind == "string" or not arg.choices or value in arg.choices
    if arg.kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if arg.kind == "int" and not isinstance(value, int):
        return False
    if arg.minimum is not None and value < arg.minimum:
        return False
    return not (arg.maximum is not None and value > arg.maximum)


def load(proc_name: str) -> dict[str, Any]:
    """The draft's values for ``proc_name`` ({} without one, or one that does not read)."""
    target = path()
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("draft %s not read: %s", target, exc)
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            raise ValueError("not a draft")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        log.warning("draft %s ignored: it does not read (%s)", target, exc)
        return {}
    if data.get("procedure") != proc_name:
        log.info("draft of %r not applied to %s", data.get("procedure"), proc_name)
        return {}
    return data["values"]


def apply(proc_name: str, config: Any) -> list[str]:
    """Set the draft's values of ``proc_name`` on ``config``; the names set. A value this
    version no longer takes (unknown name, wrong type, out of range, a choice gone) is skipped."""
    kept = _kept(proc_name)
    done = []
    for name, value in load(proc_name).items():
        arg = kept.get(name)
        if arg is None or not _valid(arg, value):
            log.info(
                "draft of %s: %s=%r skipped (not taken by this version)", proc_name, name, value
            )
            continue
        try:
            config.set_property(name, value)
        except (TypeError, ValueError, OverflowError) as exc:
            log.info("draft of %s: %s=%r skipped (%s)", proc_name, name, value, exc)
            continue
        done.append(name)
    if done:
        log.info("draft of %s applied: %s", proc_name, ", ".join(done))
    return done


def remove(proc_name: str) -> None:
    """Delete the draft if it is ``proc_name``'s (a run of it succeeded)."""
    target = path()
    try:
        data = json.loads(target.read_bytes().decode("utf-8"))
        mine = not isinstance(data, dict) or data.get("procedure") == proc_name
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        mine = True  # unreadable: of no use to anyone
    if mine:
        with contextlib.suppress(OSError):
            target.unlink()
            log.info("draft of %s deleted (the run succeeded)", proc_name)
