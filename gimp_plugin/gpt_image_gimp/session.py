"""One procedure run after the dependencies are known to import: settings, dialog, job, status.

Errors are return values, never exceptions: GIMP shows the message in interactive runs and
hands status + message to scripts. Mapping:
``InputError``/``ConfigError``/bad arguments → CALLING_ERROR; ``Cancelled`` → CANCEL;
other ``GptImageError`` → EXECUTION_ERROR; anything unexpected → EXECUTION_ERROR naming the log.
"""

from __future__ import annotations

import contextlib
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from core import settings as core_settings  # noqa: E402
from core.errors import (  # noqa: E402
    Cancelled,
    ConfigError,
    GptImageError,
    InputError,
    InternalError,
)

from . import draft, logs, runner  # noqa: E402
from .arguments import (  # noqa: E402
    options_from_values,
    reference_drawables,
    values_from_config,
)
from .expand_args import EXPAND_PROC, expand_options  # noqa: E402
from .labels import run_title  # noqa: E402

log = logs.get("session")


def _status(procedure, status: Gimp.PDBStatusType, message: str):
    return procedure.new_return_values(status, GLib.Error(message))


def _success(layer: Gimp.Layer, history_id: str):
    return Gimp.ValueArray.new_from_values(
        [
            GObject.Value(Gimp.PDBStatusType, Gimp.PDBStatusType.SUCCESS),
            GObject.Value(Gimp.Layer, layer),
            GObject.Value(GObject.TYPE_STRING, history_id),
        ]
    )


def _progress(ui: Any) -> runner.Progress:
    """Progress for ``runner``: the window (``ui``) shows it. GIMP's status-bar progress is never
    started while a request runs: its Cancel kills the plug-in mid-request (progress_window)."""
    return runner.Progress(set_text=lambda _text: None, pulse=lambda: None, ui=ui)


def title_of(procedure: Any) -> str:
    """'GPT Image: Edit': what GIMP calls the run (``labels.run_title``)."""
    return run_title(procedure.get_menu_label())


def done_message(title: str, outcome: Any) -> str:
    """The line shown after a job: what arrived, the actual cost next to the estimate."""
    from core.pricing import cost_line

    count = getattr(outcome, "images", 1)
    what = f"{count} variants" if count > 1 else "the result"
    seconds = getattr(outcome, "elapsed_s", 0.0)
    line = (
        f"{title}: {what} in {seconds:.0f} s — {cost_line(outcome.cost_usd, outcome.estimate_usd)}."
    )
    if outcome.cost_usd is None:
        line += " (The server reported no usage, so the actual cost is unknown.)"
    if count > 1:
        line += " Filters → GPT Image → Variants… flips them."
    return line


def _tell(text: str) -> None:
    """A message GIMP shows (status bar, message box or error console, as the person chose)."""
    with contextlib.suppress(Exception):
        Gimp.message(text)


def _offer_refine(name: str, drawables: Any) -> bool:
    from .arguments import EDIT_PROC

    if name != EDIT_PROC:
        return False
    from . import variants

    return variants.offer_refine(drawables)


def run(procedure, run_mode, image, drawables, config, *, use_draft=True):
    """One run. Interactive: the dialog opens with the draft of a run of it that did not
    succeed (``draft``; not when ``use_draft`` is False: History's reuse fills it itself), its
    values are kept as the draft after OK, and the draft is deleted when the run succeeds."""
    name = procedure.get_name()
    try:
        log_path = logs.setup(core_settings.data_dir())
    except OSError:
        log_path = None
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    # Filters → Repeat runs WITH_LAST_VALS: no dialog, but a person is watching (window, message)
    watched = interactive or run_mode == Gimp.RunMode.WITH_LAST_VALS
    title = title_of(procedure)
    ui = None
    refining = False
    try:
        settings = core_settings.load_settings()
        logs.protect(settings.api_key.get_secret_value() if settings.api_key else None)
        if interactive:
            from . import dialog

            dialog.init()
            settings = dialog.ensure_api_key(settings)
            refining = settings is not None and _offer_refine(name, drawables)
            if use_draft:
                draft.apply(name, config)
            if settings is None or not dialog.run_dialog(
                procedure, config, image, drawables, settings
            ):
                return _status(procedure, Gimp.PDBStatusType.CANCEL, "")
            # GIMP keeps these values only if the run succeeds: kept here until one does
            key = settings.api_key.get_secret_value() if settings.api_key else None
            draft.save(name, config, secret=key)
        if settings.api_key is None and settings.provider != "compatible":
            raise ConfigError(
                "No OpenAI API key is set.",
                hint="Enter it in Filters → GPT Image → Settings… (or run Edit… once; it is saved to "
                f"{core_settings.key_path()} and shared with Krita and the CLI), "
                "or set OPENAI_API_KEY.",
                code="missing_api_key",
            )
        expanding = name == EXPAND_PROC
        try:
            values = values_from_config(config, name)
            options = expand_options(values) if expanding else options_from_values(values)
        except ValueError as exc:
            text = exc.for_people() if isinstance(exc, GptImageError) else str(exc)
            raise InputError(text) from None
        if watched:
            from . import dialog
            from .progress_window import ProgressWindow

            dialog.init()
            ui = ProgressWindow(options.prompt, title)
        from . import job

        if expanding:
            from . import expand

            refs = reference_drawables(config, name)
            outcome = expand.execute(image, options, refs, _progress(ui), settings)
        elif interactive and refining:  # Edit… on a result layer: "Refine this result"
            from . import variants

            layer, _stack, refined = variants.refine(
                image, drawables, options.prompt, settings, _progress(ui), job.image_label(image)
            )
            outcome = job.outcome_of(layer, refined)
        else:
            outcome = job.execute(
                name,
                image,
                drawables,
                options,
                reference_drawables(config, name),
                _progress(ui),
                settings,
            )
        log.info("%s", done_message(title, outcome))
        if watched:
            _tell(done_message(title, outcome))
        if interactive:
            draft.remove(name)
        return _success(outcome.layer, outcome.history_id)
    except Cancelled as exc:
        log.info("%s cancelled: %s", name, exc.to_dict())
        if watched:  # GIMP shows nothing for a CANCEL status: say what the cancel left behind
            _tell(f"{title}: {exc.for_people()}")
        return _status(procedure, Gimp.PDBStatusType.CANCEL, exc.for_people())
    except InputError as exc:
        log.info("%s refused input: %s", name, exc.to_dict())
        return _status(procedure, Gimp.PDBStatusType.CALLING_ERROR, exc.for_people())
    except GptImageError as exc:
        if isinstance(exc, InternalError):
            exc.with_log(log_path)
        log.warning("%s failed: %s", name, exc.to_dict())
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, exc.for_people())
    except Exception as exc:
        log.exception("%s failed unexpectedly", name)
        bug = InternalError.from_exception(exc, request_sent=None, log_path=log_path)
        message = f"{bug.for_people()} The image was not changed."
        return _status(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, message)
    finally:
        if ui is not None:
            ui.close()
