"""One run of ``plug-in-gpt-image-variants``: arguments → ``variants`` → PDB status.

Like ``session`` for Edit…/Generate…: bad input → CALLING_ERROR, cancel → CANCEL, API errors →
EXECUTION_ERROR, and nothing in the image changes unless the action succeeded.
"""

from __future__ import annotations

import contextlib
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from core import settings as core_settings  # noqa: E402
from core.errors import Cancelled, GptImageError, InputError, InternalError  # noqa: E402

from . import logs, variants  # noqa: E402

log = logs.get("variants")


def _status(procedure: Any, status: Gimp.PDBStatusType, message: str) -> Any:
    return procedure.new_return_values(status, GLib.Error(message))


def _success(layer: Gimp.Layer, count: int, shown: int) -> Any:
    return Gimp.ValueArray.new_from_values(
        [
            GObject.Value(Gimp.PDBStatusType, Gimp.PDBStatusType.SUCCESS),
            GObject.Value(Gimp.Layer, layer),
            GObject.Value(GObject.TYPE_INT, count),
            GObject.Value(GObject.TYPE_INT, shown),
        ]
    )


def run(procedure: Any, run_mode: Any, image: Any, drawables: Any, config: Any) -> Any:
    log_path = None
    with contextlib.suppress(OSError):
        log_path = logs.setup(core_settings.data_dir())
    try:
        settings = core_settings.load_settings()
        if run_mode == Gimp.RunMode.INTERACTIVE:  # the thumbnails window (variants_dialog)
            from .variants_dialog import run_window

            layer, stack = run_window(image, drawables, settings)
            return _success(layer, stack.count, stack.position + 1)
        action = str(config.get_property("action"))
        variant = int(config.get_property("variant"))
        prompt = str(config.get_property("prompt") or "")
        if action == "refine":
            from .job import image_label
            from .session import _progress

            layer, stack, _result = variants.refine(
                image, drawables, prompt, settings, _progress(None), image_label(image)
            )
        else:
            layer, stack = variants.run_action(image, drawables, action, variant, settings)
        return _success(layer, stack.count, stack.position + 1)
    except Cancelled as exc:
        return _status(procedure, Gimp.PDBStatusType.CANCEL, exc.for_people())
    except InputError as exc:
        log.info("variants refused: %s", exc.to_dict())
        return _status(procedure, Gimp.PDBStatusType.CALLING_ERROR, exc.for_people())
    except GptImageError as exc:
        log.warning("variants failed: %s", exc.to_dict())
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, exc.for_people())
    except Exception as exc:
        log.exception("variants failed unexpectedly")
        bug = InternalError.from_exception(exc, request_sent=None, log_path=log_path)
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, bug.for_people())
