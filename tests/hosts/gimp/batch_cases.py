"""Runs INSIDE gimp-console-3.0 (python-fu-eval): every GIMP case in one GIMP start.

Each case builds an image, calls plug-in-gpt-image-edit / -generate through the PDB exactly as
a script writer would (non-interactive), and exports what the outer test needs to check from
outside GIMP: composites before and after (PNG, plus raw "R'G'B'A u16" dumps for the 16-bit
case), the new layer and its mask, and a JSON summary (status, message, layer tree).

Env: GPTIMG_OUT (output folder), GPTIMG_CASES (comma list; default all). The cancel case is
cancelled from outside: the harness creates the plug-in's cancel file while the request runs.
"""

import contextlib
import json
import os
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

OUT = os.environ.get("GPTIMG_OUT", "/tmp/gptimg_out")
WANTED = [c for c in os.environ.get("GPTIMG_CASES", "").split(",") if c]
EDIT, GENERATE = "plug-in-gpt-image-edit", "plug-in-gpt-image-generate"
VARIANTS = "plug-in-gpt-image-variants"
W, H = 160, 120
os.makedirs(OUT, exist_ok=True)


# ----------------------------------------------------------------------------- image helpers
def fill_pattern(layer, seed):
    """Deterministic non-flat pixels, so 'bit-identical outside' means something."""
    w, h = layer.get_width(), layer.get_height()
    red = bytes((x * 7 + seed * 31) & 255 for x in range(w))
    rows = []
    for y in range(h):
        green = (y * 5 + seed * 17) & 255
        row = bytearray(w * 4)
        row[0::4] = red
        row[1::4] = bytes([green]) * w
        row[2::4] = bytes(((x ^ y) * 3 + seed) & 255 for x in range(w))
        row[3::4] = b"\xff" * w
        rows.append(bytes(row))
    buf = layer.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), "R'G'B'A u8", b"".join(rows))
    buf.flush()
    layer.update(0, 0, w, h)


def new_image(
    base=Gimp.ImageBaseType.RGB, precision=None, offset_layer=True, size=(W, H), layer_box=None
):
    """A patterned background plus (by default) a smaller patterned layer at odd offsets."""
    w, h = size
    if precision is None:
        image = Gimp.Image.new(w, h, base)
    else:
        image = Gimp.Image.new_with_precision(w, h, base, precision)
    rgb = base == Gimp.ImageBaseType.RGB
    bg = Gimp.Layer.new(
        image,
        "background",
        w,
        h,
        Gimp.ImageType.RGB_IMAGE if rgb else Gimp.ImageType.GRAY_IMAGE,
        100.0,
        Gimp.LayerMode.NORMAL,
    )
    image.insert_layer(bg, None, 0)
    fill_pattern(bg, 1)
    active = bg
    if offset_layer:
        x, y, lw, lh = layer_box or (37, 23, 101, 77)
        top = Gimp.Layer.new(
            image,
            "offset layer",
            lw,
            lh,
            Gimp.ImageType.RGBA_IMAGE if rgb else Gimp.ImageType.GRAYA_IMAGE,
            100.0,
            Gimp.LayerMode.NORMAL,
        )
        image.insert_layer(top, None, 0)
        top.set_offsets(x, y)
        fill_pattern(top, 2)
        active = top
    image.set_selected_layers([active])
    return image, active


def export_png(image, path):
    dup = image.duplicate()
    dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, dup, Gio.File.new_for_path(path), None)
    dup.delete()
    return bool(ok)


def dump_raw(image, path, fmt="R'G'B'A u16"):
    """The visible composite as raw bytes (exact at any bit depth)."""
    dup = image.duplicate()
    layer = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    rect = Gegl.Rectangle.new(0, 0, dup.get_width(), dup.get_height())
    data = bytes(layer.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE))
    dup.delete()
    with open(path, "wb") as handle:
        handle.write(data)


def export_item(image, item, path):
    """One layer alone (at its offsets, image-sized canvas) or a layer mask as gray PNG."""
    tmp = Gimp.Image.new(image.get_width(), image.get_height(), image.get_base_type())
    if isinstance(item, Gimp.Channel):  # layer masks and the selection
        w, h = item.get_width(), item.get_height()
        rect = Gegl.Rectangle.new(0, 0, w, h)
        fmt = "Y u8"
        data = bytes(item.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE))
        tmp.delete()
        tmp = Gimp.Image.new(w, h, Gimp.ImageBaseType.GRAY)
        layer = Gimp.Layer.new(
            tmp, "mask", w, h, Gimp.ImageType.GRAY_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        tmp.insert_layer(layer, None, 0)
        buf = layer.get_buffer()
        buf.set(rect, fmt, data)
        buf.flush()
    else:
        layer = Gimp.Layer.new_from_drawable(item, tmp)
        tmp.insert_layer(layer, None, 0)
        ok, x, y = item.get_offsets()
        layer.set_offsets(x, y)
        if layer.get_mask() is not None:
            layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
        result = export_png(tmp, path)
        tmp.delete()
        return result
    ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, tmp, Gio.File.new_for_path(path), None)
    tmp.delete()
    return bool(ok)


def tree(image):
    def describe(layer):
        _ok, x, y = layer.get_offsets()
        info = {
            "name": layer.get_name(),
            "offsets": [x, y],
            "size": [layer.get_width(), layer.get_height()],
            "visible": layer.get_visible(),
            "has_mask": layer.get_mask() is not None,
            "is_group": layer.is_group(),
            "type": layer.type().value_nick,
        }
        parasite = layer.get_parasite("gpt-image-job")
        if parasite is not None:
            info["job"] = json.loads(bytes(parasite.get_data()).decode("utf-8"))
        if layer.is_group():
            info["children"] = [describe(child) for child in layer.get_children()]
        return info

    return [describe(layer) for layer in image.get_layers()]


# ----------------------------------------------------------------------------- PDB calls
def call(proc_name, image, drawables, run_mode=Gimp.RunMode.NONINTERACTIVE, **args):
    proc = Gimp.get_pdb().lookup_procedure(proc_name)
    if proc is None:
        raise RuntimeError(f"{proc_name} is not registered")
    config = proc.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    for key, value in args.items():
        name = key.replace("_", "-")
        config.set_property(name, value)
    started = time.monotonic()
    result = proc.run(config)
    elapsed = time.monotonic() - started
    status = result.index(0)
    out = {"status": status.value_nick, "elapsed_s": round(elapsed, 2)}
    if status == Gimp.PDBStatusType.SUCCESS:
        layer = result.index(1)
        out["layer"] = layer.get_name() if layer is not None else None
        out["history_id"] = result.index(2)
    else:
        out["message"] = result.index(1) if result.length() > 1 else None
        out["last_error"] = Gimp.get_pdb().get_last_error()
    return out, (result.index(1) if status == Gimp.PDBStatusType.SUCCESS else None)


def standard_exports(name, image, layer, summary):
    summary["after_png"] = export_png(image, os.path.join(OUT, f"{name}-after.png"))
    summary["tree_after"] = tree(image)
    if layer is not None:
        target = layer
        if layer.is_group():
            target = layer.get_children()[0]
            summary["group_children"] = len(layer.get_children())
        summary["layer_png"] = export_item(image, target, os.path.join(OUT, f"{name}-layer.png"))
        mask = target.get_mask()
        if mask is not None:
            export_item(image, mask, os.path.join(OUT, f"{name}-mask.png"))
        _ok, x, y = target.get_offsets()
        summary["layer_bounds"] = [x, y, target.get_width(), target.get_height()]
        summary["layer_index"] = image.get_item_position(layer)


def before(name, image, summary, raw=False):
    export_png(image, os.path.join(OUT, f"{name}-before.png"))
    if raw:
        dump_raw(image, os.path.join(OUT, f"{name}-before.u16"))
    summary["tree_before"] = tree(image)


# ----------------------------------------------------------------------------- cases
def select_ellipse(image):
    Gimp.context_set_antialias(True)
    Gimp.context_set_feather(False)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 51, 41, 63, 47)


def case_masked_edit(name, s):
    # Big enough that the crop is a part of the image (core never crops below ~0.65 MP).
    image, active = new_image(size=(1201, 901), layer_box=(337, 223, 501, 377))
    Gimp.context_set_antialias(True)
    Gimp.context_set_feather(False)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 451, 341, 63, 47)
    s["selection_bounds"] = list(Gimp.Selection.bounds(image))[2:]
    s["canvas"] = [image.get_width(), image.get_height()]
    export_item(image, image.get_selection(), os.path.join(OUT, f"{name}-selection.png"))
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: a red apple", padding=24, feather=4)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_feathered_edit(name, s):
    image, active = new_image()
    Gimp.context_set_antialias(True)
    Gimp.context_set_feather(True)
    Gimp.context_set_feather_radius(9.0, 9.0)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 45, 35, 71, 51)
    Gimp.context_set_feather(False)
    s["selection_bounds"] = list(Gimp.Selection.bounds(image))[2:]
    sel = image.get_selection()
    export_item(image, sel, os.path.join(OUT, f"{name}-selection.png"))
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: soft glow", feather=0)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_whole_image(name, s):
    image, active = new_image()
    Gimp.Selection.none(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: make it night", source="visible")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_generate_selection(name, s):
    image, active = new_image()
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 31, 21, 90, 60)
    s["selection_bounds"] = list(Gimp.Selection.bounds(image))[2:]
    before(name, image, s)
    res, layer = call(GENERATE, image, [active], prompt=f"{name}: a lighthouse", feather=0)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_generate_image(name, s):
    image, active = new_image()
    Gimp.Selection.none(image)
    before(name, image, s)
    res, layer = call(GENERATE, image, [active], prompt=f"{name}: a meadow")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_variants(name, s):
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: three cats", variants=3)
    s.update(res)
    standard_exports(name, image, layer, s)


def call_variants(image, layer, **args):
    """plug-in-gpt-image-variants on ``layer``; its layer / count / shown return values."""
    out, _ = call(VARIANTS, image, [layer], **args)
    if out["status"] == "success":
        out["count"] = out.pop("history_id")  # the second return value is the count here
    return out


def case_variants_flip(name, s):
    """One result layer keeps three variants; flip, show, keep one, refine, keep all."""
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: three owls", variants=3)
    s.update(res)
    standard_exports(name, image, layer, s)
    steps = []
    plan = [("next", 0, ""), ("next", 0, ""), ("previous", 0, ""), ("show", 3, ""),
            ("show", 9, ""), ("refine", 0, "add a hat"), ("keep-one", 0, "")]  # fmt: skip
    for i, (action, variant, prompt) in enumerate(plan):
        step = call_variants(image, layer, action=action, variant=variant, prompt=prompt)
        step["action"] = action
        export_item(image, layer, os.path.join(OUT, f"{name}-step{i}.png"))
        mask = layer.get_mask()
        if mask is not None:
            export_item(image, mask, os.path.join(OUT, f"{name}-step{i}-mask.png"))
        parasite = layer.get_parasite("gpt-image-variants")
        step["stack"] = json.loads(bytes(parasite.get_data()).decode()) if parasite else None
        step["layers"] = len(image.get_layers())
        steps.append(step)
    s["steps"] = steps
    s["plain_layer"] = call_variants(image, active, action="next")
    _res2, second = call(EDIT, image, [active], prompt=f"{name}: two owls", variants=2)
    s["keep_all"] = call_variants(image, second, action="keep-all")
    s["tree_final"] = tree(image)
    image.delete()


def case_variants_window(name, s):
    """Variants… as a menu click: the thumbnails window; a click on the second thumbnail shows
    it on the layer, then Close."""
    from gi.repository import GLib, Gtk

    image, active = new_image()
    select_ellipse(image)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: two foxes", variants=2)
    s.update(res)
    _plugin_modules()
    from gpt_image_gimp import variants_dialog

    from core.settings import load_settings

    def click():
        for window in Gtk.Window.list_toplevels():
            if window.get_visible() and window.get_title() == "GPT Image: Variants":
                state = s.setdefault("window", {})
                if "clicked" not in state:
                    buttons = [b for b in _widgets(window) if isinstance(b, Gtk.Button)]
                    thumbs = [b for b in buttons if isinstance(b.get_child(), Gtk.Box)]
                    state["thumbnails"] = len(thumbs)
                    state["images"] = sum(
                        1 for b in thumbs for w in _widgets(b) if isinstance(w, Gtk.Image)
                    )
                    thumbs[1].clicked()
                    state["clicked"] = True
                    return True
                window.response(Gtk.ResponseType.CLOSE)
                return False
        return True

    GLib.timeout_add(300, click)
    result, stack = variants_dialog.run_window(image, [layer], load_settings())
    s["shown"] = list(stack.shown)
    s["result_is_layer"] = result.get_id() == layer.get_id()
    export_item(image, layer, os.path.join(OUT, f"{name}-layer.png"))
    image.delete()


def _shot(window, path):
    """A screenshot of a GTK window, from the X server it is drawn on (shots_gimp.py)."""
    gi.require_version("Gdk", "3.0")
    from gi.repository import Gdk

    try:
        gdk_window = window.get_window()
        width, height = gdk_window.get_width(), gdk_window.get_height()
        pixbuf = Gdk.pixbuf_get_from_window(gdk_window, 0, 0, width, height)
        if pixbuf is not None:
            pixbuf.savev(path, "png", [], [])
    except Exception:  # a screenshot is a convenience, never a failure
        traceback.print_exc()


def _widgets(widget):
    from gi.repository import Gtk

    found = [widget]
    if isinstance(widget, Gtk.Container):
        for child in widget.get_children():
            found += _widgets(child)
    return found


def case_edit_refine(name, s):
    """Edit… (a menu click) on a result layer offers "Refine this result"; chosen, the prompt
    is the follow-up and the result joins the same layer as round 2."""
    from gi.repository import GimpUi

    image, active = new_image()
    select_ellipse(image)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: a grey cat", variants=2)
    s["first"] = res
    dialog, session = _plugin_modules()
    dialog.init()
    layers_before = len(image.get_layers())
    proc = Gimp.get_pdb().lookup_procedure(EDIT)
    config = proc.create_config()
    config.set_property("prompt", f"{name}: make it orange")
    _answer_later(GimpUi.Dialog, s)  # the question: Refine this result (the default button)
    _answer_later(GimpUi.ProcedureDialog, s, delay_ms=900)
    result = session.run(proc, Gimp.RunMode.INTERACTIVE, image, [layer], config)
    status = result.index(0)
    s["status"] = status.value_nick
    if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1:
        s["message"] = result.index(1)
    s["same_layer"] = (
        status == Gimp.PDBStatusType.SUCCESS and result.index(1).get_id() == layer.get_id()
    )
    s["layers_added"] = len(image.get_layers()) - layers_before
    parasite = layer.get_parasite("gpt-image-variants")
    s["stack"] = json.loads(bytes(parasite.get_data()).decode()) if parasite else None
    image.delete()


def case_edit_seen(name, s):
    """A new Edit on a result layer (no selection) sends the layer as it shows, mask applied."""
    image, active = new_image()
    select_ellipse(image)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: a moon")
    s["first"] = res
    _ok, x, y = layer.get_offsets()
    s["result_bounds"] = [x, y, layer.get_width(), layer.get_height()]
    Gimp.Selection.none(image)
    res, _second = call(EDIT, image, [layer], prompt=f"{name}: a brighter moon")
    s.update(res)
    image.delete()


def named_image(path, layer_name, size):
    """An open image whose ``get_name()`` is ``os.path.basename(path)``, with one layer."""
    image = Gimp.Image.new(size[0], size[1], Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(
        image, layer_name, size[0], size[1], Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, None, 0)
    fill_pattern(layer, 3)
    image.set_file(Gio.File.new_for_path(path))
    return image, layer


def case_references(name, s):
    """``references`` with a file, a layer of another open image by id and one by
    ``<image name>/<layer name>`` (a '/' in the layer name too): three references, three sizes."""
    image, active = new_image()
    other, other_layer = new_image()  # its 101x77 "offset layer" is sent by id
    ref_path = os.path.join(OUT, "reference-file.png")
    export_png(other, ref_path)  # 160x120
    styles, _ink = named_image(os.path.join(OUT, "styles.xcf"), "ink/pen", (64, 48))
    s["styles_name"] = styles.get_name()
    refs = f"{ref_path};layer:{other_layer.get_id()}\n{styles.get_name()}/ink/pen"
    s["references"] = refs
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: in this style", references=refs)
    s.update(res)
    standard_exports(name, image, layer, s)
    other.delete()
    styles.delete()


def case_reference_layer(name, s):
    """The drawable argument ``reference-layer`` plus ``#<id>`` of the same layer (sent once)
    and a second layer by id: two references, with generate."""
    image, active = new_image()
    other, other_layer = new_image()  # "offset layer" 101x77 over a 160x120 background
    background = other.get_layer_by_name("background")
    Gimp.Selection.none(image)
    before(name, image, s)
    res, layer = call(
        GENERATE,
        image,
        [active],
        prompt=f"{name}: a collage",
        references=f"#{other_layer.get_id()}; #{background.get_id()}",
        reference_layer=other_layer,
    )
    s.update(res)
    standard_exports(name, image, layer, s)
    other.delete()


def case_bad_references(name, s):
    """Unresolvable references are refused with CALLING_ERROR before any request; untouched."""
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    missing_id = max(layer.get_id() for layer in image.get_layers()) + 100000
    tries = {
        "unknown_id": f"layer:{missing_id}",
        "huge_id": "#99999999999999",
        "missing_file": os.path.join(OUT, "no-such-reference.png"),
        "unknown_name": "[Untitled]/no such layer",
        "too_many": ";".join([f"#{active.get_id()}"] * 16),
    }
    s["tries"] = {}
    for key, refs in tries.items():
        res, _layer = call(EDIT, image, [active], prompt=f"{name}: {key}", references=refs)
        s["tries"][key] = res
    # and 15 in references + 1 reference-layer is one too many as well
    res, _layer = call(
        EDIT,
        image,
        [active],
        prompt=f"{name}: too_many_with_layer",
        references=";".join([f"#{active.get_id()}"] * 15),
        reference_layer=active,
    )
    s["tries"]["too_many_with_layer"] = res
    s["status"] = "calling-error"
    standard_exports(name, image, None, s)


def case_api_error(name, s):
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: [[fault:moderation]] forbidden")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_cancel(name, s):
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    # The outer harness creates the plug-in's cancel file once the stand-in sees this request.
    res, layer = call(EDIT, image, [active], prompt=f"{name}: [[fault:slow:30]] slow")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_timeout(name, s):
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: [[fault:slow:30]] slow", timeout=1.5)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_gray(name, s):
    image, active = new_image(base=Gimp.ImageBaseType.GRAY)
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: a gray stone")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_u16(name, s):
    image, active = new_image(precision=Gimp.Precision.U16_NON_LINEAR)
    select_ellipse(image)
    s["precision"] = image.get_precision().value_nick
    before(name, image, s, raw=True)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: deep colour")
    s.update(res)
    standard_exports(name, image, layer, s)
    dump_raw(image, os.path.join(OUT, f"{name}-after.u16"))


def case_small_layer(name, s):
    """No selection, source=layer, a layer smaller than the image: only its area is edited."""
    image, active = new_image()
    Gimp.Selection.none(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: repaint the layer", feather=2)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_no_alpha(name, s):
    """The active layer is an RGB background without alpha."""
    image, active = new_image(offset_layer=False)
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: on the background")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_f32(name, s):
    image, active = new_image(precision=Gimp.Precision.FLOAT_LINEAR)
    select_ellipse(image)
    s["precision"] = image.get_precision().value_nick
    before(name, image, s, raw=True)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: linear light")
    s.update(res)
    standard_exports(name, image, layer, s)
    dump_raw(image, os.path.join(OUT, f"{name}-after.u16"))


def _new_layer_kinds(image, s):
    """GIMP 3.2's vector and link layers (3.0 has neither): record which this GIMP has."""
    s["available"] = hasattr(Gimp, "VectorLayer") and hasattr(Gimp, "LinkLayer")
    return s["available"]


def _vector_layer(image):
    """A filled ellipse as a GIMP 3.2 vector layer, on top of the patterned layers."""
    path = Gimp.Path.new(image, "ellipse path")
    image.insert_path(path, None, 0)
    path.bezier_stroke_new_ellipse(80, 60, 50, 35, 0)
    layer = Gimp.VectorLayer.new(image, path)
    image.insert_layer(layer, None, 0)
    color = Gegl.Color.new("black")
    color.set_rgba(0.8, 0.2, 0.1, 1.0)
    layer.set_enable_fill(True)
    layer.set_fill_color(color)
    layer.refresh()
    return layer


def _link_layer(image):
    """A GIMP 3.2 link layer showing an external PNG (a patterned image exported first)."""
    other, _ = new_image(offset_layer=False, size=(90, 70))
    png = os.path.join(OUT, "linked-source.png")
    export_png(other, png)
    other.delete()
    layer = Gimp.LinkLayer.new(image, Gio.File.new_for_path(png))
    image.insert_layer(layer, None, 0)
    layer.set_offsets(30, 20)
    return layer


def case_vector_layer(name, s):
    """The active layer is a vector layer: its visible pixels are the source, it is left as is."""
    image, _active = new_image()
    if not _new_layer_kinds(image, s):
        return
    layer = _vector_layer(image)
    s["drawable_type"] = type(layer).__name__
    select_ellipse(image)
    export_item(image, layer, os.path.join(OUT, f"{name}-source.png"))
    before(name, image, s)
    res, new = call(EDIT, image, [layer], prompt=f"{name}: repaint the ellipse")
    s.update(res)
    s["vector_layer_still_vector"] = Gimp.Item.is_vector_layer(layer)
    standard_exports(name, image, new, s)


def case_link_layer(name, s):
    """The active layer is a link layer (no selection): its own area is edited from its pixels."""
    image, _active = new_image()
    if not _new_layer_kinds(image, s):
        return
    layer = _link_layer(image)
    s["drawable_type"] = type(layer).__name__
    Gimp.Selection.none(image)
    export_item(image, layer, os.path.join(OUT, f"{name}-source.png"))
    before(name, image, s)
    res, new = call(EDIT, image, [layer], prompt=f"{name}: repaint the linked image")
    s.update(res)
    s["link_layer_still_link"] = Gimp.Item.is_link_layer(layer)
    standard_exports(name, image, new, s)


def case_last_values(name, s):
    """A script run with RUN-WITH-LAST-VALS repeats the previous run's arguments."""
    image, active = new_image()
    select_ellipse(image)
    first, _ = call(EDIT, image, [active], prompt=f"{name}: first run", variants=2)
    s["first"] = first
    before(name, image, s)
    res, layer = call(EDIT, image, [active], run_mode=Gimp.RunMode.WITH_LAST_VALS)
    s.update(res)
    standard_exports(name, image, layer, s)


def case_no_key(name, s):
    """Run by a second GIMP start without OPENAI_API_KEY and without a key file."""
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: anything")
    s.update(res)
    standard_exports(name, image, layer, s)


def _plugin_modules():
    """Import the installed plug-in's own modules into this (python-eval) process."""
    import sys

    plug = os.path.join(os.environ["GIMP3_DIRECTORY"], "plug-ins", "gpt-image")
    for path in (os.path.join(plug, "vendor"), plug):
        if path not in sys.path:
            sys.path.insert(0, path)
    gi.require_version("Gtk", "3.0")
    gi.require_version("GimpUi", "3.0")
    from gpt_image_gimp import dialog, session

    return dialog, session


def _answer_later(kind, s, fill=None, delay_ms=300):
    """Press OK in the first visible window of ``kind`` once it shows (a person's click)."""
    from gi.repository import GLib, Gtk

    def labels(widget, found):
        if isinstance(widget, Gtk.Label):
            found.append(widget.get_text())
        if isinstance(widget, Gtk.Container):
            for child in widget.get_children():
                labels(child, found)
        return found

    def check():
        for window in Gtk.Window.list_toplevels():
            if isinstance(window, kind) and window.get_visible():
                s.setdefault("dialog_labels", {})[kind.__name__] = labels(window, [])
                if fill:
                    fill(window)
                window.response(Gtk.ResponseType.OK)
                return False
        return True

    GLib.timeout_add(delay_ms, check)


#: GIMP's status-bar progress: its Cancel kills the plug-in, so a run must never start it.
GIMP_PROGRESS = ("progress_init", "progress_update", "progress_pulse", "progress_set_text")


def _interactive_run(name, s, prompt, during=None, run_mode=None):
    """Run the plug-in's own session as GIMP does for a menu click (INTERACTIVE), in this
    process: dialog answered OK by a timer, the job on a worker, results into the image.
    Records the progress window (title, bar), the message shown after the job, and any call
    that would start GIMP's own (plug-in killing) status-bar progress."""
    from gi.repository import GimpUi, Gtk

    dialog, session = _plugin_modules()
    from gpt_image_gimp import progress_window

    dialog.init()
    windows = []
    told = s.setdefault("told", [])
    progress_calls = s.setdefault("gimp_progress_calls", [])
    kind = progress_window.ProgressWindow
    original_init, original_show = kind.__init__, kind.show_image
    original_tell = session._tell
    originals = {name: getattr(Gimp, name) for name in GIMP_PROGRESS}

    def init(self, *args):
        original_init(self, *args)
        windows.append(self)
        s["progress_title"] = self.window.get_title()
        s["progress_bar"] = isinstance(self.bar, Gtk.ProgressBar) and self.bar.get_visible()
        s["progress_cancel"] = self.cancel_button.get_visible()
        if during:
            during(self)

    def show_image(self, image):
        s["previews_shown"] = s.get("previews_shown", 0) + 1
        original_show(self, image)

    def recorder(which):
        def record(*args):
            progress_calls.append(which)
            return originals[which](*args)

        return record

    kind.__init__, kind.show_image = init, show_image
    session._tell = lambda text: (told.append(text), original_tell(text))
    for which in GIMP_PROGRESS:
        setattr(Gimp, which, recorder(which))
    try:
        image, active = new_image()
        select_ellipse(image)
        before(name, image, s)
        proc = Gimp.get_pdb().lookup_procedure(EDIT)
        config = proc.create_config()
        config.set_property("prompt", prompt)
        mode = run_mode or Gimp.RunMode.INTERACTIVE
        if mode == Gimp.RunMode.INTERACTIVE:
            _answer_later(GimpUi.ProcedureDialog, s)
        result = session.run(proc, mode, image, [active], config)
    finally:
        kind.__init__, kind.show_image = original_init, original_show
        session._tell = original_tell
        for which, function in originals.items():
            setattr(Gimp, which, function)
    status = result.index(0)
    s["status"] = status.value_nick
    s["progress_windows"] = len(windows)
    if status == Gimp.PDBStatusType.SUCCESS:
        s["active"] = _drawable_state(image, result.index(1))
    layer = result.index(1) if status == Gimp.PDBStatusType.SUCCESS else None
    if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1:
        s["message"] = result.index(1)
    standard_exports(name, image, layer, s)


def case_interactive(name, s):
    _interactive_run(name, s, f"{name}: a blue bird")


def case_repeat_last(name, s):
    """Filters → Repeat "GPT Image: Edit" (RUN-WITH-LAST-VALS from the menu): no dialog, but
    the progress window and the message with the actual cost, as for a menu click."""
    _interactive_run(name, s, f"{name}: a green owl", run_mode=Gimp.RunMode.WITH_LAST_VALS)


def case_interactive_cancel(name, s):
    from gi.repository import GLib

    def click_cancel_later(window):
        GLib.timeout_add(1500, lambda: window.cancel_button.clicked() and False)

    started = time.monotonic()
    _interactive_run(name, s, f"{name}: [[fault:slow:30]] slow", during=click_cancel_later)
    s["elapsed_s"] = round(time.monotonic() - started, 2)


def case_no_vendor(name, s):
    """Run by a GIMP start whose plug-in was installed with --no-deps (no vendor/)."""
    image, active = new_image()
    before(name, image, s)
    res, layer = call(EDIT, image, [active], prompt=f"{name}: anything")
    s.update(res)
    standard_exports(name, image, layer, s)


def case_ui_smoke(name, s):
    """The interactive pieces under Xvfb: cost estimate, procedure dialog (answered OK by a
    timer), progress window with a preview, and the API key prompt (typed by a timer)."""
    import stat

    dialog, _session = _plugin_modules()
    from gi.repository import GimpUi, Gtk
    from PIL import Image

    from core import settings as core_settings

    dialog.init()
    image, active = new_image()
    select_ellipse(image)
    proc = Gimp.get_pdb().lookup_procedure(EDIT)
    config = proc.create_config()
    config.set_property("prompt", "ui smoke")
    config.set_property("variants", 2)
    settings = core_settings.load_settings()
    s["estimate"] = dialog.estimate_text(config, EDIT, image, settings)

    from gpt_image_gimp import progress_window

    win = progress_window.ProgressWindow("ui smoke", "GPT Image: Edit")
    win.show_image(Image.new("RGBA", (64, 48), (200, 10, 10, 255)))
    win.tick(3.2, "Preview 1 received")
    s["progress_text"] = win.status.get_text()
    s["progress_has_preview"] = win.picture.get_pixbuf() is not None
    win._cancel()
    s["progress_cancelled"] = win.cancelled
    win.close()

    def pick_model(window):
        """The model picker as a person uses it: read its list, choose the fast 2.5 model."""

        def find(widget):
            if isinstance(widget, Gtk.ComboBox) and widget.get_name() == "gptImageModel":
                return widget
            if isinstance(widget, Gtk.Container):
                for child in widget.get_children():
                    found = find(child)
                    if found is not None:
                        return found
            return None

        combo = find(window)
        if combo is None:
            s["picker_rows"] = None
            return
        rows = [list(row) for row in combo.get_model()]
        s["picker_rows"] = rows
        combo.set_active([r[0] for r in rows].index("gpt-image-2.5-flare"))
        s["picked_model"] = config.get_property("model")

    _answer_later(GimpUi.ProcedureDialog, s, fill=pick_model)
    s["dialog_ok"] = dialog.run_dialog(proc, config, image, [active], settings)
    from core.models import KNOWN_MODELS

    s["known_models"] = [[name, caps.description] for name, caps in KNOWN_MODELS.items()]

    def type_key(window):
        def entries(widget):
            if isinstance(widget, Gtk.Entry):
                yield widget
            if isinstance(widget, Gtk.Container):
                for child in widget.get_children():
                    yield from entries(child)

        next(entries(window)).set_text("sk-ui-smoke-key-0123456789")

    _answer_later(GimpUi.Dialog, s, type_key)
    keyless = type("Keyless", (), {"api_key": None, "provider": "openai"})()
    s["key_prompt_result"] = dialog.ensure_api_key(keyless) is not None
    key_file = core_settings.key_path()
    s["key_file"] = str(key_file)
    s["key_file_mode"] = oct(stat.S_IMODE(os.stat(key_file).st_mode))
    image.delete()
    s["status"] = "success"


#: A key typed into the key dialog by case_key_dialog: any 7 characters of it in a message,
#: the log or the summary is a leak (the summary holds only facts about it, never it).
DIALOG_KEY = "sk-gimp-HOSTILE-7f3a9c2e1b5d40aa"
#: What a person may paste by mistake: the key with a space, line break, tab, zero-width space
#: or bell inside (refused), and the key with whitespace around it (stripped, saved).
DIALOG_BAD_KEYS = {
    "space": DIALOG_KEY[:12] + " " + DIALOG_KEY[12:],
    "newline": DIALOG_KEY[:12] + "\n" + DIALOG_KEY[12:],
    "tab": DIALOG_KEY[:20] + "\t" + DIALOG_KEY[20:],
    "zero_width": DIALOG_KEY[:16] + "\u200b" + DIALOG_KEY[16:],
    "control": DIALOG_KEY[:8] + "\x07" + DIALOG_KEY[8:],
}
DIALOG_PADDED_KEY = "  \t" + DIALOG_KEY + " \n"


def _key_dialog_answers(s, texts, then_cancel):
    """Type each of ``texts`` into the visible key dialog and click Save, one per round (the
    dialog stays open after a refusal); record what the dialog says after each; finally click
    Cancel when ``then_cancel``. Returns the list the rounds are recorded in."""
    from gi.repository import GimpUi, GLib, Gtk

    rounds = []
    pending = list(texts)

    def widgets(widget, kind):
        if isinstance(widget, kind):
            yield widget
        if isinstance(widget, Gtk.Container):
            for child in widget.get_children():
                yield from widgets(child, kind)

    def key_window():
        for window in Gtk.Window.list_toplevels():
            if (
                isinstance(window, GimpUi.Dialog)
                and window.get_visible()
                and window.get_role() == "gpt-image-key"
            ):
                return window
        return None

    def tick():
        window = key_window()
        if window is None:
            return True
        shown = " ".join(label.get_text() for label in widgets(window, Gtk.Label))
        if rounds:
            rounds[-1]["after"] = shown
        if not pending:
            if then_cancel:
                window.get_widget_for_response(Gtk.ResponseType.CANCEL).clicked()
            return False
        text = pending.pop(0)
        entry = next(widgets(window, Gtk.Entry))
        entry.set_text(text)
        rounds.append({"entry_kept_text": entry.get_text() == text})
        window.get_widget_for_response(Gtk.ResponseType.OK).clicked()
        return True

    GLib.timeout_add(300, tick)
    return rounds


def case_key_dialog(name, s):
    """The API key dialog as a person pastes into it: keys with a space, line break, tab,
    zero-width space or control character inside are refused in the dialog with a message
    that shows none of the key, and nothing is written; Cancel then leaves the stored key as
    it was. A key pasted with whitespace around it is saved stripped, owner-only."""
    import stat

    dialog, _session = _plugin_modules()
    from core import settings as core_settings

    dialog.init()
    key_file = core_settings.key_path()
    stored = key_file.read_bytes() if key_file.exists() else None
    keyless = type("Keyless", (), {"api_key": None, "provider": "openai"})()
    rounds = _key_dialog_answers(s, list(DIALOG_BAD_KEYS.values()), then_cancel=True)
    s["refused_result"] = dialog.ensure_api_key(keyless) is None
    s["refused"] = dict(zip(DIALOG_BAD_KEYS, rounds, strict=False))
    now = key_file.read_bytes() if key_file.exists() else None
    s["key_file_unchanged"] = now == stored
    s["dialog_key_in_file"] = now is not None and DIALOG_KEY.encode() in now
    padded = _key_dialog_answers(s, [DIALOG_PADDED_KEY], then_cancel=False)
    accepted = dialog.ensure_api_key(keyless)
    s["padded_accepted"] = accepted is not None
    s["padded_rounds"] = len(padded)
    s["padded_saved_stripped"] = key_file.read_bytes() == (DIALOG_KEY + "\n").encode()
    read_back = core_settings.read_api_key(key_file)
    s["padded_read_back_stripped"] = (
        read_back is not None and read_back.get_secret_value() == DIALOG_KEY
    )
    s["key_file_mode"] = oct(stat.S_IMODE(os.stat(key_file).st_mode))
    if stored is None:  # leave the profile's key as the cases before found it
        key_file.unlink()
    else:
        core_settings.atomic_write(key_file, stored, mode=0o600)
    s["status"] = "success"


HISTORY, SETTINGS = "plug-in-gpt-image-history", "plug-in-gpt-image-settings"


def _steps(steps, s, interval_ms=250, key="steps_done"):
    """Run ``steps`` one after another on GTK timers (each a person's action); a step returning
    False is retried on the next tick (its window is not there yet). Records how far it got."""
    from gi.repository import GLib

    state = {"i": 0, "tries": 0}
    s[key] = 0

    def tick():
        if state["i"] >= len(steps):
            return False
        try:
            done = steps[state["i"]]()
        except Exception:
            s.setdefault("step_errors", []).append(traceback.format_exc())
            done = True
        state["tries"] += 1
        if done is not False or state["tries"] > 80:
            state["i"] += 1
            state["tries"] = 0
            s[key] = state["i"]
        return state["i"] < len(steps)

    GLib.timeout_add(interval_ms, tick)


def _visible(kind=None, title=None):
    from gi.repository import Gtk

    for window in Gtk.Window.list_toplevels():
        if not window.get_visible():
            continue
        if kind is not None and not isinstance(window, kind):
            continue
        if title is not None and window.get_title() != title:
            continue
        return window
    return None


def _named(window, name):
    return next((w for w in _widgets(window) if w.get_name() == name), None)


def _history_records(text):
    from core.history import History
    from core.settings import load_settings

    return History.from_settings(load_settings()).search(text)


def _drawable_state(image, layer):
    """What is active after an insert: the new layer itself, not its mask, not a hidden one."""
    selected = image.get_selected_drawables()
    return {
        "selected_ids": [d.get_id() for d in selected],
        "layer_id": layer.get_id() if layer is not None else None,
        "selected_is_mask": any(isinstance(d, Gimp.LayerMask) for d in selected),
        "edit_mask": bool(layer.get_edit_mask()) if layer is not None else None,
        "selected_visible": [d.get_visible() for d in selected if isinstance(d, Gimp.Layer)],
    }


def case_history_window(name, s):
    """History… as a menu click: rows with thumbnail, prompt, model, cost and date; search;
    Insert (through the original selection, into another image of the same size); Delete
    (asked first); Close."""
    from gi.repository import Gtk

    _plugin_modules()
    from gpt_image_gimp import history_dialog, history_session

    size, box = (1201, 901), (337, 223, 501, 377)  # big enough for a crop smaller than it
    image, active = new_image(size=size, layer_box=box)
    Gimp.context_set_antialias(True)
    Gimp.context_set_feather(False)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 451, 341, 63, 47)
    s["first"], first = call(EDIT, image, [active], prompt=f"{name}: a red kite", variants=2)
    export_item(image, first, os.path.join(OUT, f"{name}-original-layer.png"))
    export_item(image, first.get_mask(), os.path.join(OUT, f"{name}-original-mask.png"))
    _ok, x, y = first.get_offsets()
    s["original_bounds"] = [x, y, first.get_width(), first.get_height()]
    s["second"], _ = call(GENERATE, image, [active], prompt=f"{name}: a lighthouse")
    other, other_active = new_image(size=size, layer_box=box)  # no selection: the entry's own
    Gimp.Selection.none(other)
    before(name, other, s)
    state = s["window"] = {}

    def window():
        return _visible(title=history_dialog.TITLE)

    def look():
        win = window()
        if win is None:
            return False
        rows = [w for w in _widgets(win) if isinstance(w, Gtk.ListBoxRow)]
        state["rows_all"] = len(rows)
        state["search_widget"] = _named(win, "gptImageHistorySearch") is not None
        _shot(win, os.path.join(OUT, "shot-gimp-history.png"))
        _named(win, "gptImageHistorySearch").set_text(f"{name}: a red")
        return True

    def searched():
        win = window()
        rows = [w for w in _widgets(win) if isinstance(w, Gtk.ListBoxRow)]
        if len(rows) != 1:
            return False
        labels = [w.get_text() for w in _widgets(rows[0]) if isinstance(w, Gtk.Label)]
        images = [w for w in _widgets(rows[0]) if isinstance(w, Gtk.Image)]
        state["row_labels"] = labels
        state["row_thumbnail"] = bool(images and images[0].get_pixbuf() is not None)
        rows[0].get_parent().select_row(rows[0])
        win.response(history_dialog.RESPONSE_INSERT)
        return True

    def inserted():
        win = window()
        status = _named(win, "gptImageHistoryStatus").get_text()
        if not status:
            return False
        state["insert_status"] = status
        _named(win, "gptImageHistorySearch").set_text(f"{name}: a lighthouse")
        return True

    def delete():
        win = window()
        rows = [w for w in _widgets(win) if isinstance(w, Gtk.ListBoxRow)]
        labels = [w.get_text() for r in rows for w in _widgets(r) if isinstance(w, Gtk.Label)]
        if len(rows) != 1 or not any("lighthouse" in t for t in labels):
            return False
        rows[0].get_parent().select_row(rows[0])
        win.response(history_dialog.RESPONSE_DELETE)
        return True

    def confirm():
        ask = _visible(kind=Gtk.MessageDialog)
        if ask is None:
            return False
        state["confirm_text"] = ask.get_property("text")
        ask.response(Gtk.ResponseType.OK)
        return True

    def close():
        win = window()
        rows = [w for w in _widgets(win) if isinstance(w, Gtk.ListBoxRow)]
        if rows:
            return False
        state["after_delete_count"] = [
            w.get_text() for w in _widgets(win) if isinstance(w, Gtk.Label)
        ][:3]
        win.response(Gtk.ResponseType.CLOSE)
        return True

    _steps([look, searched, inserted, delete, confirm, close], s)
    proc = Gimp.get_pdb().lookup_procedure(HISTORY)
    config = proc.create_config()
    result = history_session.run_history(
        proc, Gimp.RunMode.INTERACTIVE, other, [other_active], config
    )
    s["status"] = result.index(0).value_nick
    layer = result.index(1) if result.index(0) == Gimp.PDBStatusType.SUCCESS else None
    s["returned_layer"] = layer.get_name() if layer is not None else None
    s["active"] = _drawable_state(other, layer)
    s["kite_entries"] = len(_history_records(f"{name}: a red kite"))
    s["lighthouse_entries"] = len(_history_records(f"{name}: a lighthouse"))
    parasite = layer.get_parasite("gpt-image-variants") if layer is not None else None
    s["stack"] = json.loads(bytes(parasite.get_data()).decode()) if parasite else None
    standard_exports(name, other, layer, s)
    image.delete()
    other.delete()


def case_history_script(name, s):
    """History… from a script: insert by id (undoable), delete by id, refusals for a bad id
    and an entry without images."""
    image, active = new_image()
    select_ellipse(image)
    s["first"], first = call(EDIT, image, [active], prompt=f"{name}: a green frog")
    history_id = s["first"]["history_id"]
    s["failed"], _ = call(EDIT, image, [active], prompt=f"{name}: [[fault:moderation]] no")
    failed = _history_records(f"{name}: [[fault:moderation]]")
    Gimp.Selection.none(image)
    layers_before = len(image.get_layers())
    s["insert"], layer = call(HISTORY, image, [active], action="insert", history_id=history_id)
    s["layers_added"] = len(image.get_layers()) - layers_before
    s["active"] = _drawable_state(image, layer)
    if layer is not None:
        _ok, x, y = layer.get_offsets()
        s["inserted_bounds"] = [x, y, layer.get_width(), layer.get_height()]
        _ok, x, y = first.get_offsets()
        s["original_bounds"] = [x, y, first.get_width(), first.get_height()]
    s["bad_id"], _ = call(HISTORY, image, [active], action="insert", history_id="nope")
    s["no_images"], _ = call(
        HISTORY, image, [active], action="insert", history_id=failed[0].id if failed else "x"
    )
    s["delete"], _ = call(HISTORY, image, [active], action="delete", history_id=history_id)
    s["entries_after_delete"] = len(_history_records(f"{name}: a green frog"))
    s["delete_again"], _ = call(HISTORY, image, [active], action="delete", history_id=history_id)
    s["status"] = "success"
    image.delete()


def case_history_reuse(name, s):
    """Reuse prompt: the entry's dialog opens filled with its prompt and options; OK runs it."""
    from gi.repository import GimpUi, Gtk

    _plugin_modules()
    from gpt_image_gimp import history_dialog, history_session

    image, active = new_image()
    select_ellipse(image)
    s["first"], _ = call(EDIT, image, [active], prompt=f"{name}: a yellow boat", variants=2)
    state = s["window"] = {}

    def pick():
        win = _visible(title=history_dialog.TITLE)
        if win is None:
            return False
        _named(win, "gptImageHistorySearch").set_text(f"{name}: a yellow")
        return True

    def reuse():
        win = _visible(title=history_dialog.TITLE)
        rows = [w for w in _widgets(win) if isinstance(w, Gtk.ListBoxRow)]
        if len(rows) != 1:
            return False
        rows[0].get_parent().select_row(rows[0])
        win.response(history_dialog.RESPONSE_REUSE)
        return True

    def edit_dialog():
        win = _visible(kind=GimpUi.ProcedureDialog)
        if win is None:
            return False
        state["dialog_title"] = win.get_title()
        state["dialog_texts"] = [
            w.get_buffer().get_text(
                w.get_buffer().get_start_iter(), w.get_buffer().get_end_iter(), False
            )
            if isinstance(w, Gtk.TextView)
            else w.get_text()
            for w in _widgets(win)
            if isinstance(w, (Gtk.Entry, Gtk.TextView))
        ]
        win.response(Gtk.ResponseType.OK)
        return True

    _steps([pick, reuse, edit_dialog], s)
    proc = Gimp.get_pdb().lookup_procedure(HISTORY)
    result = history_session.run_history(
        proc, Gimp.RunMode.INTERACTIVE, image, [active], proc.create_config()
    )
    s["status"] = result.index(0).value_nick
    if result.index(0) != Gimp.PDBStatusType.SUCCESS and result.length() > 1:
        s["message"] = result.index(1)
    s["entries"] = len(_history_records(f"{name}: a yellow boat"))
    image.delete()


def case_labels(name, s):
    """What GIMP calls each procedure in Repeat "…", Undo …, "Execution error for '…'" and
    the dialog title: its menu label; and where the menu item is."""
    pdb = Gimp.get_pdb()
    s["labels"], s["menus"] = {}, {}
    for proc_name in (EDIT, GENERATE, EXPAND, VARIANTS, HISTORY, SETTINGS):
        proc = pdb.lookup_procedure(proc_name)
        s["labels"][proc_name] = proc.get_menu_label() if proc is not None else None
        s["menus"][proc_name] = list(proc.get_menu_paths()) if proc is not None else None
    s["status"] = "success"


def case_dialog_checks(name, s):
    """The Edit… dialog as a new user meets it: titled "GPT Image: Edit", a multi-line prompt
    box, references picked as layers (drawable chooser) and files (file chooser) without typing
    ids; OK with an empty prompt keeps it open and says why; then a two-line prompt and a
    picked reference file run."""
    from gi.repository import GimpUi, Gio, Gtk

    dialog, session = _plugin_modules()
    dialog.init()
    image, active = new_image()
    other, _other_layer = new_image(size=(90, 70), offset_layer=False)
    ref_path = os.path.join(OUT, f"{name}-reference.png")
    export_png(other, ref_path)  # 90x70
    select_ellipse(image)
    before(name, image, s)
    proc = Gimp.get_pdb().lookup_procedure(EDIT)
    config = proc.create_config()
    config.set_property("prompt", "")
    state = s["dialog"] = {}

    def first_ok():
        win = _visible(kind=GimpUi.ProcedureDialog)
        if win is None:
            return False
        state["title"] = win.get_title()
        widgets = _widgets(win)
        state["prompt_is_text_view"] = any(
            isinstance(w, Gtk.TextView) and w.get_name() == "gptImagePrompt" for w in widgets
        )
        state["file_choosers"] = sum(1 for w in widgets if isinstance(w, Gtk.FileChooserButton))
        state["labels"] = [w.get_text() for w in widgets if isinstance(w, Gtk.Label)]
        _shot(win, os.path.join(OUT, "shot-gimp-edit-dialog.png"))
        win.response(Gtk.ResponseType.OK)  # the prompt is still empty
        return True

    def second_ok():
        win = _visible(kind=GimpUi.ProcedureDialog)
        problem = _named(win, "gptImageDialogProblem") if win is not None else None
        if problem is None or not problem.get_visible():
            state["closed_on_empty_prompt"] = win is None
            return win is None or False
        state["problem"] = problem.get_text()
        view = _named(win, "gptImagePrompt")
        view.get_buffer().set_text(f"{name}: a paper boat\non a blue pond")
        config.set_property("reference-file", Gio.File.new_for_path(ref_path))  # as picked
        win.response(Gtk.ResponseType.OK)
        return True

    _steps([first_ok, second_ok], s, interval_ms=400)
    result = session.run(proc, Gimp.RunMode.INTERACTIVE, image, [active], config)
    status = result.index(0)
    s["status"] = status.value_nick
    if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1:
        s["message"] = result.index(1)
    layer = result.index(1) if status == Gimp.PDBStatusType.SUCCESS else None
    standard_exports(name, image, layer, s)
    other.delete()


def case_settings_window(name, s):
    """Settings… as a menu click: the key is masked; Test connection works with what is typed
    and writes nothing; a refused value keeps the window open; Save writes the shared files;
    Cancel writes nothing. Runs last and removes what it saved."""
    import stat

    from gi.repository import Gtk

    _plugin_modules()
    from gpt_image_gimp import history_session, settings_dialog

    from core import settings as core_settings

    settings_file, key_file = core_settings.settings_path(), core_settings.key_path()
    found = {
        path: path.read_bytes() if path.exists() else None for path in (settings_file, key_file)
    }

    def files():  # what the two shared files hold now (a digest: the key never in the summary)
        import hashlib

        return [
            hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else None
            for path in (settings_file, key_file)
        ]

    s["files_before"] = files()
    state = s["window"] = {}

    def window():
        return _visible(title=settings_dialog.TITLE)

    def fill():
        win = window()
        if win is None:
            return False
        key = _named(win, "gptImageApiKey")
        state["key_masked"] = not key.get_visibility()
        state["names"] = sorted(
            w.get_name() for w in _widgets(win) if w.get_name().startswith("gptImage")
        )
        state["provider"] = _named(win, "gptImageProvider").get_active_id()
        key.set_text("  sk-settings-window-0123456789  ")
        _named(win, "gptImageQuality").set_active_id("high")
        _named(win, "gptImagePartials").set_value(2)
        _named(win, "gptImageTimeout").set_value(120)
        _named(win, "gptImageTestConnection").clicked()
        return True

    def tested():
        win = window()
        text = _named(win, "gptImageConnectionResult").get_text()
        if text in ("", "Testing…"):
            return False
        state["test_result"] = text
        state["files_after_test"] = files()
        _shot(win, os.path.join(OUT, "shot-gimp-settings.png"))
        _named(win, "gptImageModel").get_child().set_text("")
        win.response(Gtk.ResponseType.OK)
        return True

    def refused():
        win = window()
        if win is None:
            state["closed_on_refusal"] = True
            return True
        state["refusal"] = _named(win, "gptImageConnectionResult").get_text()
        state["files_after_refusal"] = files()
        _named(win, "gptImageModel").get_child().set_text("gpt-image-1.5")
        win.response(Gtk.ResponseType.OK)
        return True

    _steps([fill, tested, refused], s)
    proc = Gimp.get_pdb().lookup_procedure(SETTINGS)
    result = history_session.run_settings(proc, Gimp.RunMode.INTERACTIVE, None, [], None)
    s["status"] = result.index(0).value_nick
    if settings_file.exists():
        s["saved"] = json.loads(settings_file.read_text())
    if key_file.exists():
        s["key_file_mode"] = oct(stat.S_IMODE(os.stat(key_file).st_mode))
        s["key_file_text"] = key_file.read_text().strip() == "sk-settings-window-0123456789"
    saved_text = settings_file.read_text() if settings_file.exists() else ""

    def cancel():
        win = window()
        if win is None:
            return False
        state["reopened_quality"] = _named(win, "gptImageQuality").get_active_id()
        _named(win, "gptImageQuality").set_active_id("low")
        win.response(Gtk.ResponseType.CANCEL)
        return True

    _steps([cancel], s, key="cancel_steps")
    result = history_session.run_settings(proc, Gimp.RunMode.INTERACTIVE, None, [], None)
    s["cancel_status"] = result.index(0).value_nick
    s["unchanged_after_cancel"] = (
        settings_file.read_text() if settings_file.exists() else ""
    ) == saved_text
    s["scripted"], _ = call(SETTINGS, None, [])
    for path, data in found.items():  # the cases after this one find the files as they were
        if data is None:
            path.unlink(missing_ok=True)
        else:
            core_settings.atomic_write(path, data, mode=0o600)


EXPAND = "plug-in-gpt-image-expand"


def expand_case(name, s, size, **args):
    """An expand of a patterned two-layer image; exports before/after, the fill and its mask."""
    image, active = new_image(size=size, layer_box=(21, 17, 97, 61))
    Gimp.Selection.none(image)
    before(name, image, s)
    s["canvas_before"] = [image.get_width(), image.get_height()]
    res, layer = call(EXPAND, image, [active], **args)
    s.update(res)
    s["canvas_after"] = [image.get_width(), image.get_height()]
    standard_exports(name, image, layer, s)


def case_expand_by(name, s):
    expand_case(name, s, (300, 200), prompt=f"{name}: a beach", left=40, top=0, right=60, bottom=30)
    # the same expand from History into an image of the original size: grown, named alike
    image, active = new_image(size=(300, 200))
    s["reinsert"], layer = call(
        HISTORY, image, [active], action="insert", history_id=s["history_id"]
    )
    s["reinserted_name"] = layer.get_name() if layer is not None else None
    s["reinserted_canvas"] = [image.get_width(), image.get_height()]
    image.delete()


def case_expand_aspect(name, s):
    other, other_layer = new_image()  # a 101x77 layer of another image guides the fill
    expand_case(
        name,
        s,
        (300, 200),
        prompt=f"{name}: dunes",
        aspect="16:9",
        anchor="right",
        overlap=12,
        reference_layer=other_layer,
    )
    other.delete()


def case_expand_refused(name, s):
    image, active = new_image(size=(300, 200))
    before(name, image, s)
    s["cases"] = {}
    for label, args in (
        ("both", {"left": 10, "aspect": "16:9"}),
        ("nothing", {}),
        ("unreachable", {"aspect": "5:1", "anchor": "center"}),
        ("bad_aspect", {"aspect": "wide"}),
    ):
        res, _layer = call(EXPAND, image, [active], prompt=f"{name}: {label}", **args)
        res["canvas_after"] = [image.get_width(), image.get_height()]
        s["cases"][label] = res
    s["status"] = "success"
    standard_exports(name, image, None, s)


def case_dialog_estimate(name, s):
    """The dialog's estimate is the estimate of the job that runs: for a masked edit with
    padding and a reference, a layer smaller than the image without a selection (core's mode
    rule), and a generate with variants, the dialog's figure equals what the run recorded."""
    dialog, _session = _plugin_modules()
    from core import settings as core_settings
    from core.history import History

    image, active = new_image()
    other, _other_layer = new_image()
    ref_path = os.path.join(OUT, "estimate-reference.png")
    export_png(other, ref_path)
    other.delete()
    rows = []
    for label, proc_name, select, args in (
        ("selection", EDIT, True, {"padding": 200, "variants": 2, "references": ref_path}),
        ("small_layer", EDIT, False, {"padding": 5, "feather": 3}),
        ("generate", GENERATE, True, {"variants": 3, "quality": "low"}),
    ):
        if select:
            select_ellipse(image)
        else:
            Gimp.Selection.none(image)
        prompt = f"{name} {label}: a red door"
        proc = Gimp.get_pdb().lookup_procedure(proc_name)
        config = proc.create_config()
        config.set_property("prompt", prompt)
        for key, value in args.items():
            config.set_property(key, value)
        settings = core_settings.load_settings()
        plan, est = dialog.dialog_estimate(config, proc_name, image, [active], settings)
        text = dialog.estimate_text(config, proc_name, image, settings, [active])
        res, _layer = call(proc_name, image, [active], prompt=prompt, **args)
        row = {"label": label, "status": res["status"], "message": res.get("message")}
        if res["status"] == "success":
            record = History.from_settings(settings).get(res["history_id"])
            row.update(
                dialog_usd=est.usd,
                job_usd=record.data["estimate_usd"],
                dialog_size=str(plan.api_size),
                job_size=record.data["api_size"],
                dialog_crop=list(plan.crop),
                job_crop=record.data["crop"],
                dialog_mode=plan.mode.value,
                job_mode=record.data["mode"],
                job_selection_origin=record.data.get("selection_origin"),
                text=text,
            )
        rows.append(row)
    s["rows"] = rows
    image.delete()
    s["status"] = "success"


#: name, selection (x, y, w, h) or None, model, quality, variants, padding, grow, partial
#: previews (test_gimp_host.py)
REQUEST_CASES = (
    ("masked", (51, 41, 63, 47), "gpt-image-2", "low", 1, 48, 6, 0),
    ("flare_whole", None, "gpt-image-2.5-flare", "xhigh", 2, 48, 6, 1),
    ("sunburst_padding", (100, 80, 50, 30), "gpt-image-2.5-sunburst", "max", 1, 150, 2, 2),
)


def case_request_equality(name, s):
    """Edit… and ``python -m core edit`` (core's CLI, run in this GIMP process) on the same
    picture, selection and options: the outer test compares what the stand-in received."""
    _plugin_modules()
    from core.cli import main

    rows = []
    for label, rect, model, quality, variants, padding, grow, partials in REQUEST_CASES:
        image, active = new_image(offset_layer=False)
        active.add_alpha()
        picture = os.path.join(OUT, f"{name}-{label}.png")
        export_png(image, picture)
        if rect is None:
            Gimp.Selection.none(image)
        else:
            image.select_rectangle(Gimp.ChannelOps.REPLACE, *rect)
        prompt = f"request equality {label}: a blue heron by a pond"
        options = {"model": model, "quality": quality, "variants": variants, "padding": padding}
        options.update(grow=grow, partials=partials)
        res, _layer = call(EDIT, image, [active], prompt=prompt, feather=8, **options)
        argv = ["edit", "--image", picture, "--prompt", prompt, "--model", model]
        argv += ["--quality", quality, "-n", str(variants), "--padding", str(padding)]
        argv += ["--feather", "8", "--grow", str(grow)]
        argv += ["--partials", str(partials), "-o", picture + "-cli.png"]
        if rect is not None:
            argv += ["--rect", ",".join(map(str, rect))]
        rows.append({"label": label, "prompt": prompt, "gimp": res["status"], "cli": main(argv)})
        image.delete()
    s["rows"] = rows
    s["status"] = "success"


# ----------------------------------------------------------------------------- dialog sizes
#: The buttons that end each window (the ones a person must reach without resizing it).
END_BUTTONS = ("_OK", "_Cancel", "_Close", "_Save", "_Reset", "_Insert", "_Delete")


def _size_of(window):
    """What ``window`` asks for (minimum and natural size, as GTK lays it out unconstrained),
    the size it got, the screen's, and where its buttons end (in window coordinates)."""
    from gi.repository import Gdk, Gtk

    minimum, natural = window.get_preferred_size()
    width, height = window.get_size()
    screen = Gdk.Screen.get_default()
    buttons = []
    for widget in _widgets(window):
        if isinstance(widget, Gtk.Button) and widget.get_mapped():
            label = widget.get_label() or ""
            point = widget.translate_coordinates(window, 0, 0)
            if point is None:
                continue
            alloc = widget.get_allocation()
            buttons.append(
                {"label": label, "x": point[0], "y": point[1], "w": alloc.width, "h": alloc.height}
            )
    ends = [b for b in buttons if b["label"] in END_BUTTONS or "_" in b["label"]]
    return {
        "minimum": [minimum.width, minimum.height],
        "natural": [natural.width, natural.height],
        "size": [width, height],
        "screen": [screen.get_width(), screen.get_height()],
        "buttons": buttons,
        "buttons_bottom": max((b["y"] + b["h"] for b in ends), default=None),
        "buttons_right": max((b["x"] + b["w"] for b in ends), default=None),
    }


def _measure_when(find, key, s, finish, shot=None, delay_ms=600):
    """Once ``find()`` gives a visible window: record its sizes under ``s["sizes"][key]``
    (after the layout settled), grab it when ``shot`` names a file, then ``finish(window)``."""
    from gi.repository import GLib

    state = {"tries": 0, "seen": False}

    def poll():
        window = find()
        state["tries"] += 1
        if window is None:
            if state["tries"] > 100:
                s.setdefault("sizes", {})[key] = {"error": "never showed"}
                return False
            return True
        if not state["seen"]:  # one more tick: the first size-allocate may be pending
            state["seen"] = True
            return True
        try:
            s.setdefault("sizes", {})[key] = _size_of(window)
            if shot:
                _shot(window, os.path.join(OUT, shot))
        except Exception:
            s.setdefault("step_errors", []).append(traceback.format_exc())
        finish(window)
        return False

    GLib.timeout_add(delay_ms, poll)


def _procedure_dialog_size(proc_name, key, s, image, drawables, settings, **values):
    """The procedure's own dialog (``dialog.run_dialog``, as a menu click opens it) with every
    argument it shows, measured, then cancelled."""
    from gi.repository import GimpUi, Gtk

    dialog, _session = _plugin_modules()
    proc = Gimp.get_pdb().lookup_procedure(proc_name)
    config = proc.create_config()
    for name, value in values.items():
        config.set_property(name.replace("_", "-"), value)
    _measure_when(
        lambda: _visible(kind=GimpUi.ProcedureDialog),
        key,
        s,
        lambda w: w.response(Gtk.ResponseType.CANCEL),
        shot=f"dialog-size-{key}.png",
    )
    s.setdefault("dialog_ok", {})[key] = dialog.run_dialog(proc, config, image, drawables, settings)


def case_dialog_sizes(name, s):
    """Every window the plug-in opens, with everything it can show, on the screen GIMP runs on
    (the harness gives this case 1920x1080): its requested (natural) size and where its buttons
    end. Edit…, Generate…, Expand… (the procedure dialogs), Settings…, History… (after 12
    jobs), Variants… (30 variants in 3 rounds), the refine question, the key prompt, the
    progress window with a preview."""
    from gi.repository import GimpUi, Gtk

    dialog, _session = _plugin_modules()
    from PIL import Image

    from core import settings as core_settings

    dialog.init()
    settings = core_settings.load_settings()
    image, active = new_image()
    select_ellipse(image)
    long_prompt = f"{name}: " + "a very long prompt that a person pasted in " * 12
    refs = ";".join(f"/tmp/reference-{i}-with-a-rather-long-file-name.png" for i in range(3))
    for proc_name, key in ((EDIT, "edit"), (GENERATE, "generate")):
        _procedure_dialog_size(
            proc_name, key, s, image, [active], settings, prompt=long_prompt, references=refs
        )
    _procedure_dialog_size(
        "plug-in-gpt-image-expand", "expand", s, image, [active], settings, prompt=long_prompt
    )

    # a result layer with 10 variants, refined twice: 30 thumbnails in 3 rounds
    res, layer = call(EDIT, image, [active], prompt=f"{name}: ten kites", variants=10)
    s["first"] = res
    for round_ in (2, 3):
        out = call_variants(image, layer, action="refine", prompt=f"{name}: round {round_}")
        s[f"refine_{round_}"] = out
    from gpt_image_gimp import variants_dialog

    def flip_at_the_bottom(window):
        """Scrolled to the end, a click on the last thumbnail shows it; the view stays there
        (the grid is not rebuilt under the pointer, back at the top)."""
        from gi.repository import GLib

        scroller = _named(window, "gptImageVariantsScroll")
        adjustment = scroller.get_vadjustment()
        bottom = adjustment.get_upper() - adjustment.get_page_size()
        adjustment.set_value(bottom)
        flip = s["flip"] = {"scrolled_to": bottom}
        thumbs = [
            b for b in _widgets(window) if isinstance(b, Gtk.Button) and b.get_parent() is not None
        ]
        thumbs = [b for b in thumbs if isinstance(b.get_child(), Gtk.Box)]
        flip["thumbnails"] = len(thumbs)
        pictures = [w for w in _widgets(scroller) if isinstance(w, Gtk.Image)]
        started = time.monotonic()
        thumbs[-1].clicked()
        flip["click_ms"] = round((time.monotonic() - started) * 1000, 1)
        kept = [w for w in _widgets(scroller) if isinstance(w, Gtk.Image)]
        flip["pictures_kept"] = sum(1 for a, b in zip(pictures, kept, strict=False) if a is b)

        def after():
            flip["scroll_after"] = adjustment.get_value()
            labels = [w.get_text() for w in _widgets(window) if isinstance(w, Gtk.Label)]
            flip["marked"] = [text for text in labels if text.startswith("▶")]
            window.response(Gtk.ResponseType.CLOSE)
            return False

        GLib.timeout_add(500, after)

    _measure_when(
        lambda: _visible(title="GPT Image: Variants"),
        "variants",
        s,
        flip_at_the_bottom,
        shot="dialog-size-variants.png",
    )
    _result, stack = variants_dialog.run_window(image, [layer], core_settings.load_settings())
    s["variant_count"] = stack.count
    s["shown_after_flip"] = list(stack.shown)

    from gpt_image_gimp import variants

    _measure_when(
        lambda: _visible(kind=GimpUi.Dialog, title="GPT Image: Edit"),
        "refine_question",
        s,
        lambda w: w.response(Gtk.ResponseType.NO),
    )
    variants.offer_refine([layer])

    for i in range(9):  # History… with more jobs than fit (each a row)
        call(GENERATE, image, [active], prompt=f"{name}: history row {i} " + "words " * 20)
    from gpt_image_gimp import history_dialog

    _measure_when(
        lambda: _visible(title=history_dialog.TITLE),
        "history",
        s,
        lambda w: w.response(Gtk.ResponseType.CLOSE),
        shot="dialog-size-history.png",
    )
    history_dialog.run_window(image, [active], core_settings.load_settings())

    from gpt_image_gimp import settings_dialog

    _measure_when(
        lambda: _visible(title=settings_dialog.TITLE),
        "settings",
        s,
        lambda w: w.response(Gtk.ResponseType.CANCEL),
        shot="dialog-size-settings.png",
    )
    settings_dialog.run_window()

    _measure_when(
        lambda: _visible(title="GPT Image: API key"),
        "api_key",
        s,
        lambda w: w.response(Gtk.ResponseType.CANCEL),
    )
    keyless = type("Keyless", (), {"api_key": None, "provider": "openai"})()
    dialog.ensure_api_key(keyless)

    from gpt_image_gimp import progress_window

    win = progress_window.ProgressWindow(long_prompt, "GPT Image: Edit")
    win.show_image(Image.new("RGBA", (1536, 1024), (200, 10, 10, 255)))
    win.tick(3.2, "Preview 1 received")
    win.pump()
    s.setdefault("sizes", {})["progress"] = _size_of(win.window)
    win.close()
    image.delete()
    s["status"] = "success"


# ----------------------------------------------------------------------------- hostile inputs
def _composite_bytes(image):
    """The visible image as raw bytes (u16: exact for 8- and 16-bit images alike)."""
    dup = image.duplicate()
    layer = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    rect = Gegl.Rectangle.new(0, 0, dup.get_width(), dup.get_height())
    data = bytes(layer.get_buffer().get(rect, 1.0, "R'G'B'A u16", Gegl.AbyssPolicy.NONE))
    dup.delete()
    return data


def _hostile_call(s, label, proc_name, image, drawables, **args):
    """One hostile run: its status and message, whether the image stayed exactly as it was
    (layer tree, size, composite), and how many requests reached the stand-in for it."""
    before_tree, before_pixels = tree(image), _composite_bytes(image)
    before_size = [image.get_width(), image.get_height()]
    undo_before = image.undo_is_enabled()
    args.setdefault("prompt", f"hostile {label}: a small red boat")
    res, layer = call(proc_name, image, drawables, **args)
    res["untouched"] = (
        tree(image) == before_tree
        and [image.get_width(), image.get_height()] == before_size
        and _composite_bytes(image) == before_pixels
    )
    res["undo_enabled"] = undo_before == image.undo_is_enabled()
    res["prompt"] = args["prompt"][:200]
    res["names_before"] = [layer["name"] for layer in before_tree]
    res["names_after"] = [layer["name"] for layer in tree(image)]
    if layer is not None:
        _ok, x, y = layer.get_offsets()
        res["layer_bounds"] = [x, y, layer.get_width(), layer.get_height()]
        res["layer_type"] = layer.type().value_nick
        res["layer_parent"] = layer.get_parent().get_name() if layer.get_parent() else None
    s.setdefault("runs", {})[label] = res
    return res


def _cli(argv):
    """``python -m core ARGV`` in this process: exit code and what it printed."""
    import contextlib
    import io

    _plugin_modules()
    from core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return {"exit": code, "stdout": out.getvalue()[-2000:], "stderr": err.getvalue()[-2000:]}


def case_hostile(name, s):
    """What a user might hand the procedures: an empty prompt, a 1x1 image, an indexed image,
    a layer group active, a selection outside the active layer, a tiny selection, a channel
    active; and the CLI on the same inputs (as files), for the outer test to compare."""
    image, active = new_image()
    select_ellipse(image)
    _hostile_call(s, "empty_prompt", EDIT, image, [active], prompt="")
    _hostile_call(s, "blank_prompt", GENERATE, image, [active], prompt="   \n\t ")
    image.delete()

    tiny, tiny_layer = new_image(size=(1, 1), offset_layer=False)
    _hostile_call(s, "one_pixel_edit", EDIT, tiny, [tiny_layer])
    _hostile_call(s, "one_pixel_generate", GENERATE, tiny, [tiny_layer])
    tiny.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 1, 1)
    _hostile_call(s, "one_pixel_selected", EDIT, tiny, [tiny_layer])
    tiny.delete()

    indexed, indexed_layer = new_image(offset_layer=False)
    indexed.convert_indexed(
        Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, ""
    )
    s["indexed_base"] = indexed.get_base_type().value_nick
    select_ellipse(indexed)
    _hostile_call(s, "indexed_edit", EDIT, indexed, [indexed_layer])
    _hostile_call(s, "indexed_generate", GENERATE, indexed, [indexed_layer])
    indexed.delete()

    grouped, inner = new_image()
    group = Gimp.GroupLayer.new(grouped, "a group")
    grouped.insert_layer(group, None, 0)
    grouped.reorder_item(inner, group, 0)
    grouped.set_selected_layers([group])
    select_ellipse(grouped)
    _hostile_call(s, "group_active", EDIT, grouped, [group])
    _hostile_call(s, "group_active_visible", EDIT, grouped, [group], source="visible")
    _hostile_call(s, "group_active_generate", GENERATE, grouped, [group])
    grouped.delete()

    outside, layer = new_image()  # the active layer covers (37, 23) to (138, 100)
    outside.select_rectangle(Gimp.ChannelOps.REPLACE, 2, 2, 20, 15)
    _hostile_call(s, "selection_outside_layer", EDIT, outside, [layer])
    _hostile_call(s, "selection_outside_layer_generate", GENERATE, outside, [layer])
    outside.select_rectangle(Gimp.ChannelOps.REPLACE, 80, 50, 1, 1)
    _hostile_call(s, "one_pixel_selection", EDIT, outside, [layer])
    channel = Gimp.Channel.new(outside, "saved", W, H, 50.0, Gegl.Color.new("red"))
    outside.insert_channel(channel, None, 0)
    select_ellipse(outside)
    _hostile_call(s, "channel_active", EDIT, outside, [channel])
    _hostile_call(s, "two_layers_active", EDIT, outside, outside.get_layers()[::-1])
    outside.delete()

    off, off_layer = new_image(layer_box=(-500, -400, 101, 77))  # entirely off the canvas
    Gimp.Selection.none(off)
    _hostile_call(s, "layer_off_canvas", EDIT, off, [off_layer])
    off_layer.set_offsets(-50, -40)  # partly: its part on the canvas is edited
    _hostile_call(s, "layer_partly_off_canvas", EDIT, off, [off_layer])
    _hostile_call(s, "long_prompt", EDIT, off, [off_layer], prompt="a boat " * 6000)
    off.delete()

    expand = "plug-in-gpt-image-expand"
    tiny, tiny_layer = new_image(size=(1, 1), offset_layer=False)
    _hostile_call(s, "one_pixel_expand", expand, tiny, [tiny_layer], left=1, right=1)
    _hostile_call(s, "one_pixel_expand_aspect", expand, tiny, [tiny_layer], aspect="16:9")
    tiny.delete()
    indexed, indexed_layer = new_image(offset_layer=False)
    indexed.convert_indexed(
        Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, ""
    )
    _hostile_call(s, "indexed_expand", expand, indexed, [indexed_layer], left=40, right=40)
    indexed.delete()
    grouped, inner = new_image()
    group = Gimp.GroupLayer.new(grouped, "a group")
    grouped.insert_layer(group, None, 0)
    grouped.reorder_item(inner, group, 0)
    _hostile_call(s, "group_active_expand", expand, grouped, [group], top=30, bottom=30)
    grouped.delete()

    # the CLI on the same kinds of input, as files
    _plugin_modules()
    from PIL import Image as PILImage

    files = os.path.join(OUT, "hostile-cli")
    os.makedirs(files, exist_ok=True)

    def picture(file_name, mode, size=(W, H)):
        path = os.path.join(files, file_name)
        PILImage.new("RGB", size, (30, 120, 200)).convert(mode).save(path)
        return path

    rgb, one = picture("rgb.png", "RGB"), picture("one.png", "RGB", (1, 1))
    palette, deep = picture("palette.png", "P"), picture("deep.png", "I;16")
    out_png = os.path.join(files, "out.png")
    cli = s["cli"] = {}
    edit = ["edit", "-o", out_png, "--json"]
    cli["empty_prompt"] = _cli([*edit, "--image", rgb, "--prompt", "", "--rect", "51,41,63,47"])
    cli["blank_prompt"] = _cli(["generate", "-o", out_png, "--json", "--prompt", "   \n\t "])
    cli["one_pixel_edit"] = _cli([*edit, "--image", one, "--prompt", "hostile cli: one"])
    cli["one_pixel_selected"] = _cli(
        [*edit, "--image", one, "--prompt", "hostile cli: one px", "--rect", "0,0,1,1"]
    )
    cli["indexed_edit"] = _cli(
        [*edit, "--image", palette, "--prompt", "hostile cli: pal", "--rect", "51,41,63,47"]
    )
    cli["deep_edit"] = _cli(
        [*edit, "--image", deep, "--prompt", "hostile cli: deep", "--rect", "51,41,63,47"]
    )
    cli["selection_outside_image"] = _cli(
        [*edit, "--image", rgb, "--prompt", "hostile cli: out", "--rect", "500,500,20,20"]
    )
    cli["one_pixel_selection"] = _cli(
        [*edit, "--image", rgb, "--prompt", "hostile cli: 1px", "--rect", "80,50,1,1"]
    )
    cli["long_prompt"] = _cli([*edit, "--image", rgb, "--prompt", "a boat " * 6000])
    expand_cli = ["expand", "-o", out_png, "--json", "--prompt", "hostile cli: expand"]
    cli["one_pixel_expand"] = _cli([*expand_cli, "--image", one, "--by", "1,0,1,0"])
    cli["one_pixel_expand_aspect"] = _cli([*expand_cli, "--image", one, "--to", "16:9"])
    cli["indexed_expand"] = _cli([*expand_cli, "--image", palette, "--by", "40,0,40,0"])
    s["status"] = "success"


def case_dialog_refusals(name, s):
    """Edit… and Expand… as a person meets a refusal: OK with values the job would refuse (a
    quality gpt-image-2 does not take, a pasted prompt longer than the API takes, an aspect one
    request cannot reach) keeps the dialog open with the reason, the typed values still there;
    corrected, OK runs. Nothing is sent for the refused values."""
    from gi.repository import GimpUi, Gtk

    dialog, session = _plugin_modules()
    dialog.init()
    image, active = new_image()
    select_ellipse(image)
    before(name, image, s)
    runs = s["runs"] = {}

    def refused_then(fixes, key):
        """OK as given; once the reason shows, apply ``fixes`` one by one (each an OK)."""
        state = runs.setdefault(key, {"problems": [], "closed_early": False})
        pending = list(fixes)

        def step():
            win = _visible(kind=GimpUi.ProcedureDialog)
            if win is None:
                return False
            problem = _named(win, "gptImageDialogProblem")
            if "pressed" not in state:
                state["pressed"] = True
                win.response(Gtk.ResponseType.OK)
                return False
            if problem is None or not problem.get_visible():
                return False
            state["problems"].append(problem.get_text())
            prompt = _named(win, "gptImagePrompt")
            if prompt is not None:
                buffer = prompt.get_buffer()
                start, end = buffer.get_bounds()
                state.setdefault("prompt_kept", len(buffer.get_text(start, end, False)))
            problem.hide()
            pending.pop(0)(win)
            win.response(Gtk.ResponseType.OK)
            return not pending or False

        return step

    def run(key, proc_name, fixes, **values):
        proc = Gimp.get_pdb().lookup_procedure(proc_name)
        config = proc.create_config()
        for prop, value in values.items():
            config.set_property(prop.replace("_", "-"), value)
        _steps([refused_then([lambda w, f=f: f(config, w) for f in fixes], key)], s, 400, key)
        result = session.run(proc, Gimp.RunMode.INTERACTIVE, image, [active], config)
        status = result.index(0)
        runs[key]["status"] = status.value_nick
        if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1:
            runs[key]["message"] = result.index(1)

    def set_quality(config, _win):
        config.set_property("quality", "high")

    def shorten(config, win):
        _named(win, "gptImagePrompt").get_buffer().set_text(f"{name}: a short prompt")

    run(
        "quality",
        EDIT,
        [set_quality],
        prompt=f"{name}: a kite",
        model="gpt-image-2",
        quality="xhigh",
    )
    run("long_prompt", EDIT, [shorten], prompt=f"{name}: " + "a kite " * 5000)

    def reachable(config, _win):
        config.set_property("aspect", "16:9")

    run(
        "expand_aspect",
        "plug-in-gpt-image-expand",
        [reachable],
        prompt=f"{name}: more sky",
        aspect="9:1",
    )
    s["canvas_after"] = [image.get_width(), image.get_height()]
    s["status"] = "success"


def case_dialog_draft(name, s):
    """What a person typed in Edit… survives a run that fails: OK with a new prompt and options,
    the API refuses, and the next Edit… (opened on GIMP's older last values) shows them; a
    garbled draft file is ignored and the dialog opens; after a run that succeeds the draft is
    gone."""
    from gi.repository import GimpUi, Gtk

    dialog, session = _plugin_modules()
    from gpt_image_gimp import draft

    dialog.init()
    image, active = new_image()
    select_ellipse(image)
    runs = s["runs"] = {}
    typed = f"{name}: [[fault:moderation]] " + "a long typed prompt about a kite " * 20

    def shown(win):
        buffer = _named(win, "gptImagePrompt").get_buffer()
        start, end = buffer.get_bounds()
        return buffer.get_text(start, end, False)

    def act(key, config, do):
        def step():
            win = _visible(kind=GimpUi.ProcedureDialog)
            if win is None:
                return False
            runs[key]["shown"] = shown(win)
            runs[key]["shown_variants"] = config.get_property("variants")
            do(win, config)
            return True

        return step

    def run(key, do, prompt=f"{name}: the last values GIMP kept"):
        runs[key] = {}
        proc = Gimp.get_pdb().lookup_procedure(EDIT)
        config = proc.create_config()  # GIMP's last values: an older prompt
        config.set_property("prompt", prompt)
        _steps([act(key, config, do)], s, 300, key)
        result = session.run(proc, Gimp.RunMode.INTERACTIVE, image, [active], config)
        runs[key]["status"] = result.index(0).value_nick
        runs[key]["draft_exists"] = draft.path().exists()
        if draft.path().exists():
            runs[key]["draft_mode"] = oct(draft.path().stat().st_mode & 0o777)
            try:
                runs[key]["draft"] = json.loads(draft.path().read_bytes())
            except ValueError:
                runs[key]["draft"] = "garbled"

    def type_new(win, config):
        _named(win, "gptImagePrompt").get_buffer().set_text(typed)
        config.set_property("variants", 3)
        win.response(Gtk.ResponseType.OK)

    def cancel(win, _config):
        win.response(Gtk.ResponseType.CANCEL)

    def succeed(win, config):
        _named(win, "gptImagePrompt").get_buffer().set_text(f"{name}: a kite that works")
        config.set_property("variants", 1)
        win.response(Gtk.ResponseType.OK)

    s["typed"] = typed
    run("failed", type_new)  # OK, then the API refuses
    run("reopened", cancel)  # the draft shows; Cancel keeps it
    draft.path().write_bytes(b"\x00{not json")
    run("garbled", cancel)  # ignored: the dialog opens on the last values
    run("failed_again", type_new)
    run("succeeded", succeed)  # the draft is gone
    run("after_success", cancel, prompt=f"{name}: a kite that works")
    s["status"] = "success"


CASES = {
    "masked_edit": case_masked_edit,
    "feathered_edit": case_feathered_edit,
    "whole_image": case_whole_image,
    "generate_selection": case_generate_selection,
    "generate_image": case_generate_image,
    "variants": case_variants,
    "variants_flip": case_variants_flip,
    "variants_window": case_variants_window,
    "edit_refine": case_edit_refine,
    "edit_seen": case_edit_seen,
    "references": case_references,
    "reference_layer": case_reference_layer,
    "bad_references": case_bad_references,
    "api_error": case_api_error,
    "cancel": case_cancel,
    "timeout": case_timeout,
    "gray": case_gray,
    "u16": case_u16,
    "small_layer": case_small_layer,
    "no_alpha": case_no_alpha,
    "f32": case_f32,
    "last_values": case_last_values,
    "vector_layer": case_vector_layer,
    "link_layer": case_link_layer,
    "ui_smoke": case_ui_smoke,
    "dialog_estimate": case_dialog_estimate,
    "request_equality": case_request_equality,
    "key_dialog": case_key_dialog,
    "interactive": case_interactive,
    "interactive_cancel": case_interactive_cancel,
    "repeat_last": case_repeat_last,
    "no_key": case_no_key,
    "no_vendor": case_no_vendor,
    "expand_by": case_expand_by,
    "expand_aspect": case_expand_aspect,
    "expand_refused": case_expand_refused,
    "labels": case_labels,
    "dialog_checks": case_dialog_checks,
    "history_window": case_history_window,
    "history_script": case_history_script,
    "history_reuse": case_history_reuse,
    "settings_window": case_settings_window,
    "dialog_sizes": case_dialog_sizes,
    "hostile": case_hostile,
    "dialog_refusals": case_dialog_refusals,
    "dialog_draft": case_dialog_draft,
}
#: Cases that need their own GIMP start (a different environment): only run when named.
SEPARATE = {
    "no_key",
    "no_vendor",
    "expand_by",
    "expand_aspect",
    "expand_refused",
    "dialog_sizes",
    "hostile",
    "dialog_refusals",
    "dialog_draft",
}

summary = {"gimp_version": Gimp.version(), "image_size": [W, H], "cases": {}}
for case_name, case in CASES.items():
    if (WANTED and case_name not in WANTED) or (not WANTED and case_name in SEPARATE):
        continue
    entry = summary["cases"][case_name] = {}
    # each case is another person's session: no dialog draft left by an earlier case's failed run
    with contextlib.suppress(KeyError, FileNotFoundError):
        os.unlink(os.path.join(os.environ["GPT_IMAGE_DATA_DIR"], "gimp-dialog-draft.json"))
    try:
        case(case_name, entry)
    except Exception:
        entry["batch_error"] = traceback.format_exc()
    print(
        "CASE",
        case_name,
        json.dumps({k: v for k, v in entry.items() if "tree" not in k}, default=str),
        flush=True,
    )
    with open(os.path.join(OUT, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=1, default=str)
print("BATCH DONE", flush=True)
