"""libgimp ⇄ core: the selection, crop pixels, and the result layers. Main thread only.

Everything here speaks canvas pixels (image coordinates) like ``core`` does; drawable-local
coordinates appear only right before a buffer call (``_local``).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Sequence

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp  # noqa: E402

from core.errors import InputError  # noqa: E402
from core.geometry import Bounds, Extent  # noqa: E402
from core.pipeline import LayerPatch  # noqa: E402
from core.pixels import PixelFormat, from_host, to_host  # noqa: E402
from core.selection import SelectionMask  # noqa: E402

RGBA_U8 = "R'G'B'A u8"


def canvas_extent(image: Gimp.Image) -> Extent:
    return Extent(image.get_width(), image.get_height())


def _rect(box: Bounds) -> Gegl.Rectangle:
    return Gegl.Rectangle.new(box.x, box.y, box.width, box.height)


def _offset(drawable: Gimp.Drawable) -> tuple[int, int]:
    _ok, x, y = drawable.get_offsets()
    return x, y


def _local(drawable: Gimp.Drawable, box: Bounds) -> Bounds:
    """``box`` (canvas) in the drawable's own coordinates."""
    x, y = _offset(drawable)
    return Bounds(box.x - x, box.y - y, box.width, box.height)


def mask_format(drawable: Gimp.Drawable) -> str:
    """An 8-bit gray format with the drawable's own tone curve ("Y u8", "Y' u8" or "Y~ u8").

    Reading or writing a channel in its own encoding keeps coverage values as they are:
    asking "Y u8" of a "Y' u8" channel would gamma-convert a 50 % feather to 73 %.
    """
    encoding = Babl.format_get_encoding(drawable.get_format()) or "Y u8"
    prefix = encoding.split(" ", 1)[0]
    return f"{prefix} u8" if prefix.startswith("Y") else "Y u8"


def read_selection(image: Gimp.Image) -> SelectionMask | None:
    """The selection as a coverage mask over its bounding box, or None when nothing is selected.

    ``Gimp.Selection.bounds`` returns six values; x2/y2 are exclusive.
    """
    _ok, non_empty, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
    if not non_empty or x2 <= x1 or y2 <= y1:
        return None
    box = Bounds(x1, y1, x2 - x1, y2 - y1)
    channel = image.get_selection()
    data = channel.get_buffer().get(_rect(box), 1.0, mask_format(channel), Gegl.AbyssPolicy.NONE)
    return SelectionMask.from_bytes(bytes(data), box)


def read_region(drawable: Gimp.Drawable, crop: Bounds):
    """``crop`` (canvas coordinates) of ``drawable`` as a PIL RGBA image.

    Works for layers with offsets and layers smaller than the image: whatever lies outside the
    drawable reads as transparent. babl converts gray and high bit depths to 8-bit sRGB.
    """
    data = drawable.get_buffer().get(
        _rect(_local(drawable, crop)), 1.0, RGBA_U8, Gegl.AbyssPolicy.NONE
    )
    return from_host(bytes(data), crop.extent, PixelFormat.RGBA8)


def read_whole(drawable: Gimp.Drawable):
    """All of ``drawable`` as a PIL RGBA image (for references)."""
    box = Bounds(0, 0, drawable.get_width(), drawable.get_height())
    data = drawable.get_buffer().get(_rect(box), 1.0, RGBA_U8, Gegl.AbyssPolicy.NONE)
    return from_host(bytes(data), box.extent, PixelFormat.RGBA8)


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@contextlib.contextmanager
def visible_projection(image: Gimp.Image) -> Iterator[Gimp.Drawable]:
    """A layer holding the visible image, in a throw-away duplicate (the original is untouched)."""
    dup = image.duplicate()
    try:
        dup.undo_disable()
        layers = [layer for layer in dup.get_layers() if layer.get_visible()]
        if not layers:
            raise InputError(
                "Nothing is visible to edit.", hint="Show at least one layer, or use source=layer."
            )
        merged = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
        yield merged
    finally:
        dup.delete()


def anchor_layer(drawables: Sequence[Gimp.Drawable]) -> Gimp.Layer | None:
    """The layer new results go above: the active layer, or the layer owning an active mask."""
    for drawable in drawables:
        if isinstance(drawable, Gimp.LayerMask):
            layer = Gimp.Layer.from_mask(drawable)
            if layer is not None:
                return layer
        elif isinstance(drawable, Gimp.Layer):
            return drawable
    return None


def _layer_type(image: Gimp.Image) -> Gimp.ImageType:
    if image.get_base_type() == Gimp.ImageBaseType.GRAY:
        return Gimp.ImageType.GRAYA_IMAGE
    return Gimp.ImageType.RGBA_IMAGE


def _new_patch_layer(
    image: Gimp.Image, patch: LayerPatch, name: str, parent, position: int, created: list
) -> Gimp.Layer:
    box = patch.bounds
    layer = Gimp.Layer.new(
        image, name, box.width, box.height, _layer_type(image), 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, parent, position)
    created.append(layer)
    layer.set_offsets(box.x, box.y)
    whole = Bounds(0, 0, box.width, box.height)
    buffer = layer.get_buffer()
    buffer.set(_rect(whole), RGBA_U8, to_host(patch.image.convert("RGBA"), PixelFormat.RGBA8))
    buffer.flush()
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    layer.add_mask(mask)
    mask_buffer = mask.get_buffer()
    mask_buffer.set(_rect(whole), mask_format(mask), patch.mask.convert("L").tobytes())
    mask_buffer.flush()
    layer.update(0, 0, box.width, box.height)
    mask.update(0, 0, box.width, box.height)
    return layer


def insert_results(
    image: Gimp.Image,
    anchor: Gimp.Layer | None,
    patches: Sequence[LayerPatch],
    names: Sequence[str],
    group_name: str,
) -> Gimp.Layer:
    """New layer(s) above ``anchor``, each masked by its patch mask; a group for several.

    For variants only the first is visible, so the image shows one result and the others are a
    click away. Returns the layer or the group. On failure, whatever was inserted is removed
    again, so the image is left as it was.
    """
    parent = anchor.get_parent() if anchor is not None else None
    position = image.get_item_position(anchor) if anchor is not None else 0
    created: list = []
    try:
        if len(patches) == 1:
            layer = _new_patch_layer(image, patches[0], names[0], parent, position, created)
            make_active(image, layer)
            return layer
        group = Gimp.GroupLayer.new(image, group_name)
        image.insert_layer(group, parent, position)
        created.append(group)
        layers = [
            _new_patch_layer(image, patch, name, group, index, created)
            for index, (patch, name) in enumerate(zip(patches, names, strict=True))
        ]
        for layer in layers[1:]:
            layer.set_visible(False)
        make_active(image, layers[0])
        return group
    except Exception:
        if created and created[0].is_valid():
            image.remove_layer(created[0])
        raise


def make_active(image: Gimp.Image, layer: Gimp.Layer) -> None:
    """``layer`` itself (not its mask, which GIMP makes the target when a mask is added) is
    the active drawable, so the next tool or filter works on the result."""
    if layer.get_mask() is not None:
        layer.set_edit_mask(False)
    image.set_selected_layers([layer])


PARASITE_NAME = "gpt-image-job"


def tag_layer(layer: Gimp.Layer, info: dict) -> None:
    """Record the job (history id, prompt, model…) on the layer; saved with the XCF, so a result
    can be traced back to its history entry later."""
    data = json.dumps(info, ensure_ascii=False).encode("utf-8")
    flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
    layer.attach_parasite(Gimp.Parasite.new(PARASITE_NAME, flags, list(data)))
