"""One run of History… or Settings…: arguments → ``history`` / the windows → PDB status.

As for Edit…: bad input → CALLING_ERROR, other errors → EXECUTION_ERROR with a message for a
person (details in the log), and the image changes only when an insert succeeded.
"""

from __future__ import annotations

import contextlib
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from core import settings as core_settings  # noqa: E402
from core.errors import GptImageError, InputError, InternalError  # noqa: E402
from core.history import History  # noqa: E402

from . import history, logs  # noqa: E402
from .history_args import procedure_for_mode, reuse_values  # noqa: E402

log = logs.get("history")


def _status(procedure: Any, status: Gimp.PDBStatusType, message: str) -> Any:
    return procedure.new_return_values(status, GLib.Error(message))


def _success(layer: Gimp.Layer | None, history_id: str) -> Any:
    return Gimp.ValueArray.new_from_values(
        [
            GObject.Value(Gimp.PDBStatusType, Gimp.PDBStatusType.SUCCESS),
            GObject.Value(Gimp.Layer, layer),
            GObject.Value(GObject.TYPE_STRING, history_id),
        ]
    )


def _guarded(procedure: Any, work: Any) -> Any:
    log_path = None
    with contextlib.suppress(OSError):
        log_path = logs.setup(core_settings.data_dir())
    try:
        return work()
    except InputError as exc:
        log.info("%s refused: %s", procedure.get_name(), exc)
        return _status(procedure, Gimp.PDBStatusType.CALLING_ERROR, exc.for_people())
    except GptImageError as exc:
        log.warning("%s failed: %s", procedure.get_name(), exc.to_dict())
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, exc.for_people())
    except Exception as exc:
        log.exception("%s failed unexpectedly", procedure.get_name())
        bug = InternalError.from_exception(exc, request_sent=False, log_path=log_path)
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, bug.for_people())


def run_history(procedure: Any, run_mode: Any, image: Any, drawables: Any, config: Any) -> Any:
    def work() -> Any:
        settings = core_settings.load_settings()
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from .history_dialog import run_window

            window = run_window(image, drawables, settings)
            if window.reuse is not None:
                return reuse(window.reuse, image, drawables)
            inserted = window.inserted
            return _success(inserted, "")
        action = str(config.get_property("action"))
        history_id = str(config.get_property("history-id") or "").strip()
        record = History.from_settings(settings).get(history_id)  # InputError when none
        if action == "delete":
            history.delete_record(settings, record.id)
            return _success(None, record.id)
        if image is None:
            raise InputError("Open an image to insert the result into.")
        return _success(history.insert_record(image, drawables, record), record.id)

    return _guarded(procedure, work)


def reuse(record: Any, image: Any, drawables: Any) -> Any:
    """The Edit…/Generate…/Expand… dialog of the entry's kind, filled with its prompt and
    options, run here as a menu click runs it."""
    from . import session

    name = procedure_for_mode(str(record.data.get("mode") or ""))
    procedure = Gimp.get_pdb().lookup_procedure(name)
    config = procedure.create_config()
    for key, value in reuse_values(dict(record.data), name).items():
        try:
            config.set_property(key, value)
        except (TypeError, ValueError) as exc:  # an old record's value this version refuses
            log.info("reuse %s: %s=%r not set (%s)", record.id, key, value, exc)
    log.info("reuse %s in %s", record.id, name)
    return session.run(
        procedure, Gimp.RunMode.INTERACTIVE, image, drawables, config, use_draft=False
    )


def run_settings(procedure: Any, run_mode: Any, image: Any, drawables: Any, config: Any) -> Any:
    def work() -> Any:
        if run_mode != Gimp.RunMode.INTERACTIVE:
            raise InputError(
                "Settings… is a window.",
                hint=f"Scripts edit {core_settings.settings_path()} (python -m core check "
                "tests the key).",
            )
        from .settings_dialog import run_window

        saved = run_window()
        if not saved:
            return _status(procedure, Gimp.PDBStatusType.CANCEL, "")
        return Gimp.ValueArray.new_from_values(
            [GObject.Value(Gimp.PDBStatusType, Gimp.PDBStatusType.SUCCESS)]
        )

    return _guarded(procedure, work)
