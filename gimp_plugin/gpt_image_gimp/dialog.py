"""Interactive parts: the procedure dialog with its cost estimate and the API key prompt (the
progress window is progress_window.py). Main thread only; never used headless.
"""

from __future__ import annotations

from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gimp, GimpUi, Gtk  # noqa: E402

from core import settings as core_settings  # noqa: E402
from core.pricing import estimate_figure  # noqa: E402

from . import canvas, logs  # noqa: E402
from .arguments import (  # noqa: E402
    args_for,
    options_from_values,
    reference_drawables,
    values_from_config,
)
from .expand_args import EXPAND_PROC  # noqa: E402

log = logs.get("dialog")


def init() -> None:
    GimpUi.init("gpt-image")


def ensure_api_key(settings: Any) -> Any:
    """The settings with a key, asking for one if none is set; None when the person cancels."""
    if settings.api_key is not None or settings.provider == "compatible":
        return settings
    dlg = GimpUi.Dialog(title="GPT Image: API key", role="gpt-image-key")
    dlg.add_button("_Cancel", Gtk.ResponseType.CANCEL)
    dlg.add_button("_Save", Gtk.ResponseType.OK)
    box = dlg.get_content_area()
    text = (
        "No OpenAI API key is set.\n\n"
        "Paste a key from https://platform.openai.com/api-keys. It is saved to\n"
        f"{core_settings.key_path()} (readable only by you) and shared with the\n"
        "Krita plug-in and the command line. OPENAI_API_KEY, when set, takes precedence."
    )
    label = Gtk.Label(label=text, xalign=0.0)
    entry = Gtk.Entry(visibility=False, activates_default=True, width_chars=52)
    dlg.set_default_response(Gtk.ResponseType.OK)
    for widget in (label, entry):
        widget.set_margin_start(12)
        widget.set_margin_end(12)
        widget.set_margin_top(6)
        box.pack_start(widget, False, False, 0)
    dlg.show_all()
    try:
        while True:
            if dlg.run() != Gtk.ResponseType.OK:
                return None
            try:
                core_settings.set_api_key(entry.get_text())
                return core_settings.load_settings()
            except core_settings.ConfigError as exc:
                label.set_text(f"{exc}\n\n{text}")
    finally:
        dlg.destroy()


def dialog_estimate(
    config: Any, proc_name: str, image: Any, drawables: Any, settings: Any
) -> tuple[Any, Any]:
    """(plan, estimate) of the job the dialog's current values would run: the same path as the
    run itself (``job.estimate``), so the price shown is the price of the job that runs."""
    from . import job

    values = values_from_config(config, proc_name)
    options = options_from_values({**values, "prompt": values.get("prompt") or "x"})
    return job.estimate(
        proc_name,
        image,
        drawables,
        options,
        reference_drawables(config, proc_name),
        settings,
    )


def estimate_text(
    config: Any, proc_name: str, image: Any, settings: Any, drawables: Any = None
) -> str:
    """The dialog's cost line, recomputed whenever an argument changes."""
    if proc_name == EXPAND_PROC:
        return expand_estimate_text(values_from_config(config, proc_name), image, settings)
    try:
        chosen = drawables if drawables is not None else image.get_selected_drawables()
        plan, est = dialog_estimate(config, proc_name, image, chosen, settings)
        n = est.breakdown["n"]
        return f"Estimated cost: about {estimate_figure(est)} for {n} × {plan.api_size}"
    except Exception as exc:  # the estimate must never block the dialog
        return f"Estimated cost: unavailable ({exc})"


def expand_estimate_text(values: dict, image: Any, settings: Any) -> str:
    """Expand…'s cost line and the new canvas size (planned from sizes only, no pixels)."""
    from core import jobs

    from .expand import spec_for
    from .expand_args import expand_options

    try:
        options = expand_options(values)
        spec = spec_for(image, options, settings)
        plan, est = jobs.estimate_job(spec, canvas.canvas_extent(image), None, settings)
        return (
            f"New canvas {plan.canvas}; estimated cost: about {estimate_figure(est)} for "
            f"{options.variants} × {plan.api_size}"
        )
    except Exception as exc:  # the estimate must never block the dialog
        return f"Estimated cost: unavailable ({exc})"


def model_picker(config: Any) -> Gtk.Widget:
    """The model picker: every model core knows with its short description (fast, precise,
    legacy…), the same list as Krita's; a name core does not know can be typed (declared in
    settings as ``custom_models``). Bound to the config's ``model`` argument."""
    from core.models import KNOWN_MODELS

    store = Gtk.ListStore(str, str)
    for model, caps in KNOWN_MODELS.items():
        store.append([model, caps.description])
    combo = Gtk.ComboBox.new_with_model_and_entry(store)
    combo.set_name("gptImageModel")
    combo.set_entry_text_column(0)
    described = Gtk.CellRendererText(foreground="gray")
    combo.pack_start(described, False)
    combo.add_attribute(described, "text", 1)
    entry = combo.get_child()
    entry.set_text(config.get_property("model") or "")
    entry.connect("changed", lambda e: config.set_property("model", e.get_text().strip()))
    label = Gtk.Label.new_with_mnemonic("_Model")
    label.set_mnemonic_widget(entry)
    row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
    row.set_margin_start(12)
    row.pack_start(label, False, False, 0)
    row.pack_start(combo, True, True, 0)
    return row


PROMPT_ROWS_PX = 96
#: The widest the dialog's message lines get before they wrap (characters).
LINE_CHARS = 90


def _prompt_box(dlg: Any, wanted: list[str]) -> Any:
    """The prompt as a multi-line, word-wrapped text box (in place of a one-line entry)."""
    if "prompt" not in wanted:
        return None
    view = dlg.get_widget("prompt", Gtk.TextView.__gtype__)
    view.set_name("gptImagePrompt")
    view.set_wrap_mode(Gtk.WrapMode.WORD_CHAR)
    view.set_accepts_tab(False)
    view.set_size_request(440, -1)
    view.set_left_margin(4)
    view.set_right_margin(4)
    wanted.remove("prompt")  # packed first, by hand, above the model picker
    return view


def _pack_prompt(dlg: Any, view: Any) -> None:
    label = Gtk.Label.new_with_mnemonic("_Prompt")
    label.set_xalign(0.0)
    label.set_mnemonic_widget(view)
    frame = Gtk.ScrolledWindow(hscrollbar_policy=Gtk.PolicyType.NEVER)
    frame.set_shadow_type(Gtk.ShadowType.IN)
    frame.set_min_content_height(PROMPT_ROWS_PX)
    frame.add(view)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
    box.set_margin_start(12)
    box.set_margin_end(12)
    box.pack_start(label, False, False, 0)
    box.pack_start(frame, True, True, 0)
    area = dlg.get_content_area()
    area.pack_start(box, False, False, 4)
    area.reorder_child(box, 0)


#: Container ids of the dialog's two columns (not argument names: GIMP keys both alike).
OPTIONS_COLUMN, REFERENCES_COLUMN, COLUMNS = (
    "gpt-image-options-column",
    "gpt-image-references-column",
    "gpt-image-columns",
)
COLUMN_SPACING_PX = 18


def _fill_columns(dlg: Any, wanted: list[str]) -> None:
    """The arguments below the prompt and model in two columns: the job's options on the left,
    the references on the right. In one column, Expand… asked for 1006 px and Edit… for 964 px
    of height (GIMP 3.2, everything shown), more than a 1080-line screen leaves a dialog
    under a title bar and panels; side by side they take about 600 px."""
    references = [name for name in wanted if name.startswith("reference")]
    options = [name for name in wanted if name not in references]
    columns = []
    for column_id, names in ((OPTIONS_COLUMN, options), (REFERENCES_COLUMN, references)):
        if names:
            dlg.fill_box(column_id, names)
            columns.append(column_id)
    if len(columns) < 2:
        dlg.fill(columns)
        return
    row = dlg.fill_box(COLUMNS, columns)
    row.set_orientation(Gtk.Orientation.HORIZONTAL)
    row.set_spacing(COLUMN_SPACING_PX)
    row.set_homogeneous(False)
    dlg.fill([COLUMNS])


def input_problem(
    config: Any, name: str, drawables: Any = None, image: Any = None, settings: Any = None
) -> str | None:
    """Why the dialog's values can't run, or None: checked before the dialog closes.

    First the values themselves (an empty prompt, a bad resolution, a reference that is
    neither a file nor a layer); then, with ``image`` and ``settings``, the job they make of
    this image, planned as the run plans it (a prompt longer than the API takes, a quality the
    model does not take, an active layer off the canvas, an expand one request cannot reach).
    Refused after the dialog had closed, the run would end with a calling error and GIMP,
    which keeps a dialog's values only for a run that succeeds, would drop what was typed."""
    from .arguments import reference_drawables

    values = values_from_config(config, name)
    try:
        if name == EXPAND_PROC:
            from .expand_args import expand_options

            options = expand_options(values)
        else:
            options = options_from_values(values)
        from . import job

        refs = reference_drawables(config, name)
        job.resolve(options, refs)
        if image is not None and settings is not None:
            _plan(name, options, image, drawables, refs, settings)
    except ValueError as exc:  # InputError is a ValueError
        return exc.for_people() if hasattr(exc, "for_people") else str(exc)
    return None


def _plan(name: str, options: Any, image: Any, drawables: Any, refs: Any, settings: Any) -> None:
    """The run's own plan of these values (no pixels read, nothing sent); ``InputError`` when
    the run would refuse them. Any other failure is left to the run to report."""
    from core.errors import InputError

    from . import job

    try:
        if name == EXPAND_PROC:
            from core import jobs

            from .expand import spec_for

            spec = spec_for(image, options, settings)
            jobs.estimate_job(spec, canvas.canvas_extent(image), None, settings)
        else:
            chosen = drawables if drawables is not None else image.get_selected_drawables()
            job.estimate(name, image, chosen, options, refs, settings)
    except InputError:
        raise
    except Exception:  # the run reports it, with its own message
        log.warning("dialog: the plan failed unexpectedly", exc_info=True)


def run_dialog(procedure: Any, config: Any, image: Any, drawables: Any, settings: Any) -> bool:
    """The procedure dialog (remembers last values through ``config``); True on OK. OK with
    values that can't run (an empty prompt…) keeps it open and says why."""
    from .labels import run_title

    name = procedure.get_name()
    title = run_title(procedure.get_menu_label())
    dlg = GimpUi.ProcedureDialog(procedure=procedure, config=config, title=title)
    shown = [arg.name for arg in args_for(name) if arg.in_dialog]
    wanted = [arg for arg in shown if arg != "model"]
    prompt_view = _prompt_box(dlg, wanted)
    _fill_columns(dlg, wanted)
    if "model" in shown:  # core's models with their descriptions instead of a bare text field
        picker = model_picker(config)
        dlg.get_content_area().pack_start(picker, False, False, 4)
        dlg.get_content_area().reorder_child(picker, 0)
    if prompt_view is not None:
        _pack_prompt(dlg, prompt_view)  # the prompt first, then the model
    problem = Gtk.Label(xalign=0.0, wrap=True)
    problem.set_name("gptImageDialogProblem")
    problem.get_style_context().add_class("error")
    cost = Gtk.Label(xalign=0.0, wrap=True)
    cost.set_name("gptImageDialogEstimate")
    source = "OPENAI_API_KEY" if settings.key_source == "env" else str(core_settings.key_path())
    where = settings.base_url or settings.provider
    info = Gtk.Label(label=f"Provider: {where} — key from {source}", xalign=0.0, wrap=True)
    for widget in (cost, info, problem):
        # wrapped: a long estimate ("unavailable (Reference '…' is neither…)") or key path
        # made the dialog as wide as the text (1273 px)
        widget.set_max_width_chars(LINE_CHARS)
        widget.set_margin_start(12)
        widget.set_margin_end(12)
        dlg.get_content_area().pack_end(widget, False, False, 4)

    def refresh(*_args: Any) -> None:
        cost.set_text(estimate_text(config, name, image, settings, drawables))

    handler = config.connect("notify", refresh)
    refresh()
    dlg.show_all()
    problem.hide()
    try:
        while dlg.run():
            why = input_problem(config, name, drawables, image, settings)
            if why is None:
                return True
            log.info("dialog kept open: %s", why)
            problem.set_text(why)
            problem.show()
            if prompt_view is not None:
                prompt_view.grab_focus()
        return False
    finally:
        config.disconnect(handler)
        dlg.destroy()


__all__ = [
    "Gimp",
    "dialog_estimate",
    "ensure_api_key",
    "estimate_text",
    "init",
    "model_picker",
    "run_dialog",
]
