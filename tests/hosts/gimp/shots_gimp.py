"""Runs INSIDE gimp-console (python-fu-eval): the README's GIMP screenshots.

Started by ``tools/screenshots.py`` through ``gimp_harness.run_gimp(["shots"],
script="shots_gimp.py")``. It first runs batch_cases.py for its helpers (with GPTIMG_CASES
naming no case of it, none runs), then, as a person at a menu click: opens ``scene.png`` (the
picture the tool passes in), selects an ellipse of sky, runs Filters → GPT Image → Edit…
(INTERACTIVE, the plug-in's own session in this process, as the other interactive cases do),
grabs the Edit dialog and presses OK, grabs the progress window once a streamed preview shows,
then opens Variants… on the new layer and grabs it, and History… / Settings… where the plug-in
has them. Each picture is the window's own pixels, from the X server it is drawn on.
The summary (``summary.json``) says per shot: saved, skipped (why) or error (traceback).
"""

import contextlib
import json
import os
import traceback
import urllib.request

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

WORK = os.path.dirname(os.environ["GPTIMG_OUT"])
_cases: dict = {"__name__": "batch_cases"}  # batch_cases.py's helpers; GPTIMG_CASES runs none
with open(os.path.join(WORK, "batch_cases.py")) as _source:
    exec(_source.read(), _cases)
OUT, EDIT = _cases["OUT"], _cases["EDIT"]
_shot, _widgets, _plugin_modules = _cases["_shot"], _cases["_widgets"], _cases["_plugin_modules"]
visible = _cases["_visible"]  # the first visible top-level window of a kind or with a title

PROMPT = "a red kite in the sky, its tail streaming in the wind"
SKY = (700, 90, 330, 230)  # x, y, w, h of the ellipse selected in scene.png
shots = {}


def shot_path(name):
    return os.path.join(OUT, f"gimp-{name}.png")


def grab_when(name, find, then=None, every_ms=200, tries=150):
    """Poll for a window ``find()`` returns; grab it (once), then call ``then(window)``."""
    from gi.repository import GLib

    state = {"left": tries}

    def poll():
        state["left"] -= 1
        window = find()
        if window is None:
            if state["left"] <= 0:
                shots[name] = {"error": "the window never showed"}
                return False
            return True
        _shot(window, shot_path(name))
        shots[name] = {"saved": os.path.exists(shot_path(name))}
        if then is not None:
            then(window)
        return False

    GLib.timeout_add(every_ms, poll)


def standin_faults(faults):
    root = os.environ["OPENAI_BASE_URL"].rsplit("/v1", 1)[0]
    request = urllib.request.Request(
        root + "/_standin/faults",
        data=json.dumps(faults).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def open_scene():
    from gi.repository import Gio

    image = Gimp.file_load(
        Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(WORK, "scene.png"))
    )
    layer = image.get_layers()[0]
    Gimp.context_set_antialias(True)
    Gimp.context_set_feather(True)
    Gimp.context_set_feather_radius(4.0, 4.0)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, *SKY)
    return image, layer


def with_partial_previews(count):
    from core import settings as core_settings

    settings = core_settings.load_settings()
    core_settings.save_settings(settings.model_copy(update={"partial_images": count}))


def run_edit(session, image, layer, variants, dialog_shot):
    """Filters → GPT Image → Edit… as a menu click: the dialog (grabbed or not), OK, the job."""
    from gi.repository import GimpUi, Gtk

    proc = Gimp.get_pdb().lookup_procedure(EDIT)
    config = proc.create_config()
    config.set_property("prompt", PROMPT)
    config.set_property("variants", variants)
    # the dialog's "Partial previews" where Edit… has it (else the settings file decides)
    with contextlib.suppress(TypeError):
        config.set_property("partials", 2)

    def press_ok(window):
        window.response(Gtk.ResponseType.OK)

    if dialog_shot:
        grab_when("edit", lambda: visible(GimpUi.ProcedureDialog), press_ok, every_ms=600)
    else:
        _cases["_answer_later"](GimpUi.ProcedureDialog, {})
    result = session.run(proc, Gimp.RunMode.INTERACTIVE, image, [layer], config)
    status = result.index(0)
    if status != Gimp.PDBStatusType.SUCCESS:
        message = result.index(1) if result.length() > 1 else ""
        raise RuntimeError(f"Edit… ended {status.value_nick}: {message}")
    return result.index(1)


def progress_with_preview():
    """The progress window once its preview image shows."""
    from gi.repository import GimpUi, Gtk

    for window in Gtk.Window.list_toplevels():
        if not window.get_visible() or isinstance(window, GimpUi.Dialog):
            continue
        if not (window.get_title() or "").startswith("GPT Image"):
            continue
        images = [w for w in _widgets(window) if isinstance(w, Gtk.Image)]
        if any(i.get_pixbuf() is not None for i in images):
            return window
    return None


def edit_progress_variants():
    """Edit… with 3 variants (the dialog), Variants… on its layer, then a one-variant Edit…
    for the progress window (the API streams previews only for one image a request)."""
    from gi.repository import GLib, Gtk

    dialog, session = _plugin_modules()
    dialog.init()
    image, background = open_scene()
    layer = run_edit(session, image, background, 3, dialog_shot=True)

    from gpt_image_gimp import variants_dialog

    from core.settings import load_settings

    def show_second_then_close(window):
        thumbs = [
            b
            for b in _widgets(window)
            if isinstance(b, Gtk.Button) and isinstance(b.get_child(), Gtk.Box)
        ]
        thumbs[1].clicked()
        for entry in (w for w in _widgets(window) if isinstance(w, Gtk.Entry)):
            entry.set_text("make the kite blue, keep the clouds")  # the follow-up, typed

        def regrab():
            _shot(window, shot_path("variants"))
            window.response(Gtk.ResponseType.CLOSE)
            return False

        GLib.timeout_add(400, regrab)

    grab_when("variants", lambda: visible(title="GPT Image: Variants"), show_second_then_close)
    variants_dialog.run_window(image, [layer], load_settings())

    with_partial_previews(2)
    standin_faults([{"kind": "delay", "seconds": 1.5}])  # time to see a preview stream in

    def regrab_progress(window):  # once drawn with its preview
        def later():
            if window.get_visible():
                _shot(window, shot_path("progress"))
            return False

        GLib.timeout_add(300, later)

    grab_when("progress", progress_with_preview, regrab_progress, every_ms=100, tries=400)
    run_edit(session, image, background, 1, dialog_shot=False)
    return image


def optional_window(name, module_name, image, title):
    """History… / Settings…: grabbed when the installed plug-in has the module, else skipped.
    Opened as their menu entries open them (``run_window``), closed with Close."""
    import importlib

    from gi.repository import Gtk

    try:
        module = importlib.import_module(f"gpt_image_gimp.{module_name}")
    except ImportError as exc:
        shots[name] = {"skipped": f"no gpt_image_gimp.{module_name} ({exc})"}
        return
    from core.settings import load_settings

    def close(window):
        window.response(Gtk.ResponseType.CLOSE)

    grab_when(name, lambda: visible(title=title), close, every_ms=500)
    if module_name == "settings_dialog":
        module.run_window()
    else:
        module.run_window(image, image.get_layers()[:1], load_settings())


summary = {"gimp_version": Gimp.version(), "shots": shots}
try:
    scene = edit_progress_variants()
    optional_window("history", "history_dialog", scene, "GPT Image: History")
    optional_window("settings", "settings_dialog", scene, "GPT Image: Settings")
except Exception:
    shots["run"] = {"error": traceback.format_exc()}
with open(os.path.join(OUT, "summary.json"), "w") as handle:
    json.dump(summary, handle, indent=1, default=str)
print("SHOTS DONE", json.dumps(shots), flush=True)
