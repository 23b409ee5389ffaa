"""Filters → GPT Image → Variants… (``plug-in-gpt-image-variants``): flip, keep, refine.

A job with N variants inserts ONE result layer (masked as before) showing variant 1; the layer
carries a persistent parasite ``gpt-image-variants`` with its ``core.variants.ResultStack``
(rounds and variants; pixels stay in history). This procedure works on the active result layer,
found by that parasite:

- ``show`` (``variant`` = 1-based place among all variants), ``next``, ``previous``: the layer's
  pixels and mask are swapped in place, one undo step each (shadow buffer + merge with undo,
  the selection set aside meanwhile so it cannot clip the swap);
- ``keep-one``: the others are dropped from the layer (they stay in history);
- ``keep-all``: every variant becomes its own layer in a group (the shown one visible);
- ``refine``: the shown variant is edited again with ``prompt`` as the follow-up, through the
  same crop and mask, from what the image shows now; its images join the layer as a new round.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

from core.errors import InputError  # noqa: E402
from core.geometry import Bounds  # noqa: E402
from core.history import History  # noqa: E402
from core.pipeline import LayerPatch  # noqa: E402
from core.pixels import PixelFormat, to_host  # noqa: E402
from core.variants import STACK_KEY, ResultStack, round_from_record, variant_patch  # noqa: E402

from . import canvas, logs  # noqa: E402

log = logs.get("variants")
from .variants_args import ACTIONS, VARIANTS_PROC  # noqa: E402,F401

# --- the stack on a layer ----------------------------------------------------------------------


def read_stack(layer: Gimp.Layer) -> ResultStack | None:
    parasite = layer.get_parasite(STACK_KEY)
    if parasite is None:
        return None
    try:
        return ResultStack.from_json(bytes(parasite.get_data()).decode("utf-8"))
    except (InputError, UnicodeDecodeError) as error:
        log.warning("Layer %s: %s", layer.get_name(), error)
        return None


def write_stack(layer: Gimp.Layer, stack: ResultStack) -> None:
    data = json.dumps(stack.to_dict(), ensure_ascii=False).encode("utf-8")
    flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
    layer.attach_parasite(Gimp.Parasite.new(STACK_KEY, flags, list(data)))


def stack_for_result(settings: Any, history_id: str) -> ResultStack:
    record = History.from_settings(settings).get(history_id)
    return ResultStack((round_from_record(record),))


def result_layer(drawables: Sequence[Gimp.Drawable]) -> tuple[Gimp.Layer, ResultStack]:
    """The active layer (or the owner of an active mask) and its stack; ``InputError`` else."""
    layer = canvas.anchor_layer(drawables)
    stack = read_stack(layer) if layer is not None else None
    if layer is None or stack is None:
        raise InputError(
            "The active layer is not a GPT Image result.",
            hint="Select a layer made by Filters → GPT Image → Edit… or Generate….",
        )
    return layer, stack


# --- swapping pixels ---------------------------------------------------------------------------


def _write_drawable(drawable: Gimp.Drawable, fmt: str, data: bytes) -> None:
    """All of ``drawable`` from ``data`` through its shadow buffer, merged with undo."""
    w, h = drawable.get_width(), drawable.get_height()
    shadow = drawable.get_shadow_buffer()
    shadow.set(Gegl.Rectangle.new(0, 0, w, h), fmt, data)
    shadow.flush()
    drawable.merge_shadow(True)
    drawable.update(0, 0, w, h)


def show_patch(image: Gimp.Image, layer: Gimp.Layer, patch: LayerPatch) -> None:
    """The layer (and its mask) hold ``patch`` now; one undo step."""
    _ok, x, y = layer.get_offsets()
    here = Bounds(x, y, layer.get_width(), layer.get_height())
    image.undo_group_start()
    saved = None
    try:
        if here != patch.bounds:
            layer.resize(patch.bounds.width, patch.bounds.height, x - patch.bounds.x,
                         y - patch.bounds.y)  # fmt: skip
        if not Gimp.Selection.is_empty(image):  # a merge goes through the selection
            saved = Gimp.Selection.save(image)
            Gimp.Selection.none(image)
        _write_drawable(
            layer, canvas.RGBA_U8, to_host(patch.image.convert("RGBA"), PixelFormat.RGBA8)
        )
        mask = layer.get_mask()
        if mask is not None:
            _write_drawable(mask, canvas.mask_format(mask), patch.mask.convert("L").tobytes())
    finally:
        if saved is not None:
            image.select_item(Gimp.ChannelOps.REPLACE, saved)
            image.remove_channel(saved)
        image.undo_group_end()
    Gimp.displays_flush()


def flip(image: Gimp.Image, layer: Gimp.Layer, stack: ResultStack, settings: Any) -> ResultStack:
    """Show ``stack``'s current variant on ``layer`` and record it; returns the stack."""
    current = stack.current
    record = History.from_settings(settings).get(current.history_id)
    patch = variant_patch(record, current.index)
    image.undo_group_start()
    try:
        show_patch(image, layer, patch)
        write_stack(layer, stack)
    finally:
        image.undo_group_end()
    return stack


def keep_all(image: Gimp.Image, layer: Gimp.Layer, stack: ResultStack, settings: Any) -> Gimp.Layer:
    """A group with one layer per variant (the shown one visible) in place of ``layer``."""
    history = History.from_settings(settings)
    items = stack.variants()
    patches = [variant_patch(history.get(v.history_id), v.index) for v in items]
    names = [f"{layer.get_name()} #{v.round + 1}.{v.position + 1}" for v in items]
    image.undo_group_start()
    try:
        group = canvas.insert_results(image, layer, patches, names, layer.get_name())
        children = group.get_children()
        for child, item in zip(children, items, strict=True):
            shown = (item.round, item.position) == stack.shown
            child.set_visible(shown)
            if shown:
                canvas.make_active(image, child)  # the visible variant, not a hidden one
            write_stack(child, ResultStack((_only(item),)))
        image.remove_layer(layer)
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    return group


def _only(item: Any) -> Any:
    from dataclasses import replace

    return replace(item.info, images=(item.index,))


def run_action(
    image: Gimp.Image,
    drawables: Sequence[Gimp.Drawable],
    action: str,
    variant: int,
    settings: Any,
) -> tuple[Gimp.Layer, ResultStack]:
    """One non-refine action on the active result layer; returns the layer and its stack."""
    layer, stack = result_layer(drawables)
    if action == "next":
        return layer, flip(image, layer, stack.next(), settings)
    if action == "previous":
        return layer, flip(image, layer, stack.previous(), settings)
    if action == "show":
        if variant == 0:
            return layer, stack
        if not 1 <= variant <= stack.count:
            raise InputError(f"This layer has {stack.count} variant(s); {variant} is not one.")
        return layer, flip(image, layer, stack.show_at(variant - 1), settings)
    if action == "keep-one":
        kept = stack.keep_one()
        write_stack(layer, kept)
        return layer, kept
    if action == "keep-all":
        return keep_all(image, layer, stack, settings), stack
    raise InputError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")


def refine(
    image: Gimp.Image,
    drawables: Sequence[Gimp.Drawable],
    prompt: str,
    settings: Any,
    progress: Any,
    source_document: str = "",
) -> tuple[Gimp.Layer, ResultStack, Any]:
    """Edit the shown variant again with ``prompt`` as the follow-up (same crop and mask, from
    what the image shows now); its images join the layer as a new round, shown at once.
    ``source_document`` names the image for history (``job.image_label``)."""
    from core import settings as core_settings
    from core.refine import prepare_refine

    from . import runner

    layer, stack = result_layer(drawables)
    history = History.from_settings(settings)
    record = history.get(stack.current.history_id)
    with canvas.visible_projection(image) as seen:
        prepared = prepare_refine(
            record,
            lambda box: canvas.read_region(seen, box),
            prompt,
            settings,
            variant=stack.current.index,
            source_document=source_document or image.get_name() or "",
        )
    result = runner.run_in_background(
        prepared, settings, progress, cancel_path=runner.cancel_file(core_settings.data_dir())
    )
    new_stack = stack.add_round(round_from_record(history.get(result.history_id)))
    return layer, flip(image, layer, new_stack, settings), result


def offer_refine(drawables: Sequence[Gimp.Drawable]) -> bool:
    """Edit… on a result layer: ask whether to refine it (the prompt becomes the follow-up) or
    to make a new edit of it. True for refine. Interactive runs only."""
    layer = canvas.anchor_layer(drawables)
    if layer is None or read_stack(layer) is None:
        return False
    gi.require_version("GimpUi", "3.0")
    gi.require_version("Gtk", "3.0")
    from gi.repository import GimpUi, Gtk

    dialog = GimpUi.Dialog(title="GPT Image: Edit", role="gpt-image-refine")
    dialog.add_button("_New edit", Gtk.ResponseType.NO)
    dialog.add_button("_Refine this result", Gtk.ResponseType.OK)
    dialog.set_default_response(Gtk.ResponseType.OK)
    label = Gtk.Label(
        label=f"“{layer.get_name()}” is a GPT Image result.\n\n"
        "Refine this result: the prompt you type next is a follow-up to it (the original\n"
        "instruction is kept), through the same selection, from what the image shows now;\n"
        "its variants join the layer (Filters → GPT Image → Variants… flips them).\n\n"
        "New edit: edit the layer as it shows (its mask applied) into a new layer.",
        xalign=0.0,
    )
    label.set_margin_start(12)
    label.set_margin_end(12)
    label.set_margin_top(8)
    dialog.get_content_area().pack_start(label, False, False, 0)
    dialog.show_all()
    try:
        return dialog.run() == Gtk.ResponseType.OK
    finally:
        dialog.destroy()


def read_as_seen(drawable: Gimp.Drawable, box: Bounds) -> Any:
    """``box`` of ``drawable`` as it shows: a layer's own pixels through its (applied) layer mask.

    Reading a result layer raw would send the model pixels its mask hides (a grey halo after a
    second edit); this is what a person sees of the layer.
    """
    from PIL import Image

    from core.variants import seen_through

    image = canvas.read_region(drawable, box)
    mask = drawable.get_mask() if isinstance(drawable, Gimp.Layer) else None
    if mask is None or not drawable.get_apply_mask():
        return image
    local = canvas._local(drawable, box)
    data = mask.get_buffer().get(
        Gegl.Rectangle.new(local.x, local.y, local.width, local.height),
        1.0,
        canvas.mask_format(mask),
        Gegl.AbyssPolicy.NONE,
    )
    return seen_through(image, [Image.frombytes("L", box.extent, bytes(data))])
