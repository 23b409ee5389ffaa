"""The GIMP 3 plug-in class: registers Edit…, Generate… and Expand…, maps runs to ``job``.

Registration needs only libgimp, so both procedures show up even when the vendored packages are
missing; running one then says what is wrong and how to fix it.
"""

from __future__ import annotations

import sys
import traceback

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from . import arguments  # noqa: E402
from .arguments import EDIT_PROC, GENERATE_PROC, Arg  # noqa: E402
from .expand_args import EXPAND_PROC  # noqa: E402
from .labels import LABEL_PREFIX  # noqa: E402

RW = GObject.ParamFlags.READWRITE
MENU = "<Image>/Filters/GPT Image"
#: The last line of defence's message: the traceback goes to stderr (GIMP's console), not here.
BUG_MESSAGE = (
    "GPT Image hit an unexpected problem (a bug) and did not change the image; the details "
    "are on GIMP's console (stderr)."
)
DOCS = {
    EDIT_PROC: (
        LABEL_PREFIX + "_Edit…",
        "Edit the selection (or the whole layer / visible image) with an OpenAI image model",
        "With a selection, a masked edit: the selection (any shape, feathered or not) is the mask "
        "and the result is a new layer above the active one, masked by the feathered selection. "
        "Without a selection, the whole active layer (or the visible image, source=visible) is "
        "edited. Several variants make a layer group. One undo step per job.",
    ),
    GENERATE_PROC: (
        LABEL_PREFIX + "_Generate…",
        "Make a picture from text into the selection's bounds or a new image-sized layer",
        "Text to image with an OpenAI image model. The result fills the selection's bounding box "
        "(masked by the feathered selection) or, without a selection, a new layer the size of "
        "the image. Reference images (layers or files) guide the result. One undo step per job.",
    ),
    EXPAND_PROC: (
        LABEL_PREFIX + "E_xpand…",
        "Grow the canvas and let an OpenAI image model paint the new area",
        "Adds left/top/right/bottom pixels (or grows the image to an aspect, the original placed "
        "by anchor), then fills the new area: a new layer on top with a layer mask over the new "
        "area and a feathered overlap, so the original stays unchanged beyond the overlap. The "
        "prompt is optional. Resize and fill are one undo step.",
    ),
}


def _add_argument(procedure: Gimp.Procedure, arg: Arg) -> None:
    if arg.kind == "string":
        procedure.add_string_argument(arg.name, arg.label, arg.blurb, arg.default, RW)
    elif arg.kind == "int":
        procedure.add_int_argument(
            arg.name, arg.label, arg.blurb, int(arg.minimum), int(arg.maximum), arg.default, RW
        )
    elif arg.kind == "double":
        procedure.add_double_argument(
            arg.name, arg.label, arg.blurb, arg.minimum, arg.maximum, arg.default, RW
        )
    elif arg.kind == "choice":
        choice = Gimp.Choice.new()
        for index, nick in enumerate(arg.choices):
            choice.add(nick, index, nick.capitalize(), "")
        procedure.add_choice_argument(arg.name, arg.label, arg.blurb, choice, arg.default, RW)
    elif arg.kind == "drawable":
        procedure.add_drawable_argument(arg.name, arg.label, arg.blurb, True, RW)
    elif arg.kind == "file":  # the dialog shows a file chooser button
        procedure.add_file_argument(
            arg.name, arg.label, arg.blurb, Gimp.FileChooserAction.OPEN, True, None, RW
        )
    else:  # pragma: no cover - a typo in the table
        raise ValueError(f"unknown argument kind {arg.kind}")


def _fail(procedure: Gimp.Procedure, status: Gimp.PDBStatusType, message: str):
    return procedure.new_return_values(status, GLib.Error(message))


def run(procedure, run_mode, image, drawables, config, data):
    """Entry of both procedures; every outcome is a PDB status plus a message."""
    from . import bootstrap

    problem = bootstrap.dependency_error()
    if problem is not None:
        print(problem, file=sys.stderr)
        return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, problem)
    try:
        from . import session

        return session.run(procedure, run_mode, image, drawables, config)
    except Exception:  # the last line of defence: never let GIMP show a bare traceback
        text = traceback.format_exc()
        print(text, file=sys.stderr)
        return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, BUG_MESSAGE)


class GptImagePlugIn(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return [EDIT_PROC, GENERATE_PROC, EXPAND_PROC, VARIANTS_PROC, HISTORY_PROC, SETTINGS_PROC]

    def do_create_procedure(self, name):
        if name == VARIANTS_PROC:
            return _variants_procedure(self)
        if name in (HISTORY_PROC, SETTINGS_PROC):
            return _window_procedure(self, name)
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        label, blurb, help_text = DOCS[name]
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE
            | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
            | Gimp.ProcedureSensitivityMask.DRAWABLES
        )
        procedure.set_menu_label(label)
        procedure.add_menu_path(MENU)
        procedure.set_documentation(blurb, help_text, name)
        procedure.set_attribution("GPT Image contributors", "GPT Image contributors", "2026")
        for arg in arguments.args_for(name):
            _add_argument(procedure, arg)
        procedure.add_layer_return_value("layer", "Layer", arguments.RETURN_VALUES[0][1], True, RW)
        procedure.add_string_return_value(
            "history-id", "History id", arguments.RETURN_VALUES[1][1], "", RW
        )
        return procedure


from .variants_args import VARIANTS_PROC  # noqa: E402


def run_variants(procedure, run_mode, image, drawables, config, data):
    """Entry of Variants…; the dependency check and last line of defence as for the others."""
    from . import bootstrap

    problem = bootstrap.dependency_error()
    if problem is not None:
        return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, problem)
    try:
        from . import variants_session

        return variants_session.run(procedure, run_mode, image, drawables, config)
    except Exception:
        text = traceback.format_exc()
        print(text, file=sys.stderr)
        return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, BUG_MESSAGE)


def _variants_procedure(plugin):
    """Filters → GPT Image → Variants… (its arguments live in ``variants.VARIANT_ARGS``; the
    module imports core, so the table is read only when the procedure is created)."""
    from .variants_args import DOCS, VARIANT_ARGS

    procedure = Gimp.ImageProcedure.new(
        plugin, VARIANTS_PROC, Gimp.PDBProcType.PLUGIN, run_variants, None
    )
    procedure.set_image_types("RGB*, GRAY*")
    procedure.set_sensitivity_mask(
        Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
    )
    procedure.set_menu_label(LABEL_PREFIX + DOCS[0])
    procedure.add_menu_path(MENU)
    procedure.set_documentation(DOCS[1], DOCS[2], VARIANTS_PROC)
    procedure.set_attribution("GPT Image contributors", "GPT Image contributors", "2026")
    for arg in VARIANT_ARGS:
        _add_argument(procedure, arg)
    procedure.add_layer_return_value("layer", "Layer", "The result layer (or the group)", True, RW)
    procedure.add_int_return_value("count", "Count", "Variants the layer keeps", 0, 10000, 0, RW)
    procedure.add_int_return_value(
        "shown", "Shown", "Which variant it shows (1-based)", 0, 10000, 0, RW
    )
    return procedure


from .history_args import HISTORY_PROC, SETTINGS_PROC  # noqa: E402


def _guarded_run(module: str, function: str):
    """A run function importing ``module`` only when run (the dependency check first)."""

    def run_it(procedure, run_mode, image, drawables, config, data):
        from . import bootstrap

        problem = bootstrap.dependency_error()
        if problem is not None:
            return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, problem)
        import importlib

        try:
            entry = getattr(importlib.import_module(f".{module}", __package__), function)
            return entry(procedure, run_mode, image, drawables, config)
        except Exception:
            print(traceback.format_exc(), file=sys.stderr)
            return _fail(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, BUG_MESSAGE)

    return run_it


def _window_procedure(plugin, name):
    """History… and Settings…: they work without an image too (Insert needs one)."""
    from .history_args import HISTORY_ARGS, HISTORY_DOCS, SETTINGS_DOCS

    history = name == HISTORY_PROC
    run_it = _guarded_run("history_session", "run_history" if history else "run_settings")
    procedure = Gimp.ImageProcedure.new(plugin, name, Gimp.PDBProcType.PLUGIN, run_it, None)
    label, blurb, help_text = HISTORY_DOCS if history else SETTINGS_DOCS
    procedure.set_image_types("*")
    procedure.set_sensitivity_mask(
        Gimp.ProcedureSensitivityMask.DRAWABLE
        | Gimp.ProcedureSensitivityMask.DRAWABLES
        | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
        | Gimp.ProcedureSensitivityMask.NO_IMAGE
    )
    procedure.set_menu_label(LABEL_PREFIX + label)
    procedure.add_menu_path(MENU)
    procedure.set_documentation(blurb, help_text, name)
    procedure.set_attribution("GPT Image contributors", "GPT Image contributors", "2026")
    if history:
        for arg in HISTORY_ARGS:
            _add_argument(procedure, arg)
        procedure.add_layer_return_value("layer", "Layer", "The inserted layer", True, RW)
        procedure.add_string_return_value("history-id", "History id", "The entry", "", RW)
    return procedure


def main() -> None:
    Gimp.main(GptImagePlugIn.__gtype__, sys.argv)
