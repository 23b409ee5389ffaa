"""Krita → core: canvas size, the selection as a mask, crop pixels, reference layers.

Everything here runs on the Qt main thread (Krita objects are not thread-safe). Only the crop a
job needs is read, never the whole canvas.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .core.client import InputImage
from .core.errors import InputError
from .core.geometry import Bounds, Extent
from .core.naming import reference_file_name
from .core.pixels import PixelFormat, from_host, is_linear_profile, krita_pixel_format
from .core.selection import SelectionMask
from .core.variants import seen_through

SOURCE_LAYER = "layer"
SOURCE_COMPOSITE = "composite"
#: Node types whose pixels can't be written (group, file, clone, vector) or aren't layers.
PAINTABLE_TYPES = ("paintlayer",)
MASK_TYPES = ("transparencymask", "filtermask", "selectionmask", "colorizemask", "transformmask")


@dataclass(frozen=True)
class ColorInfo:
    """How a document's pixels are laid out, and whether its profile is linear light."""

    fmt: PixelFormat
    linear: bool


def canvas_extent(doc: Any) -> Extent:
    return Extent(int(doc.width()), int(doc.height()))


def color_info(doc: Any) -> ColorInfo:
    """The document's pixel format; ``InputError`` for CMYK, Lab and other models."""
    fmt = krita_pixel_format(doc.colorModel(), doc.colorDepth())
    return ColorInfo(fmt, is_linear_profile(doc.colorProfile() or ""))


def selection_mask(doc: Any) -> SelectionMask | None:
    """The global selection as 8-bit coverage over its bounding box, or None."""
    selection = doc.selection()
    if selection is None:
        return None
    box = Bounds(
        int(selection.x()), int(selection.y()), int(selection.width()), int(selection.height())
    )
    if box.is_empty:
        return None
    data = bytes(selection.pixelData(*box))
    return SelectionMask.from_bytes(data, box)


def selection_box(doc: Any) -> SelectionMask | None:
    """A rectangle standing in for the selection: enough for planning and estimates, cheap."""
    selection = doc.selection()
    if selection is None:
        return None
    box = Bounds(
        int(selection.x()), int(selection.y()), int(selection.width()), int(selection.height())
    )
    return None if box.is_empty else SelectionMask.from_rect(box)


def source_node(doc: Any, node: Any | None) -> Any | None:
    """The layer to read for "active layer": a mask's owner, never a mask itself."""
    while node is not None and node.type() in MASK_TYPES:
        node = node.parentNode()
    return node


def crop_reader(
    doc: Any, node: Any | None, source: str, color: ColorInfo
) -> Callable[[Bounds], Image.Image]:
    """``read_crop`` for ``jobs.prepare_job``: pixels of a canvas box as pipeline RGBA."""

    def read(bounds: Bounds) -> Image.Image:
        if source == SOURCE_LAYER and node is not None:
            data = bytes(node.projectionPixelData(*bounds))
            image = from_host(data, bounds.extent, color.fmt, linear=color.linear)
            return _as_seen(node, bounds, image, color)
        else:
            doc.refreshProjection()
            data = bytes(doc.pixelData(*bounds))
        return from_host(data, bounds.extent, color.fmt, linear=color.linear)

    return read


def _as_seen(node: Any, bounds: Bounds, image: Image.Image, color: ColorInfo) -> Image.Image:
    """A layer's pixels through its visible transparency masks, unless Krita's projection of the
    layer already applied them (then raw and projection differ)."""
    masks = [c for c in node.childNodes() if c.type() == "transparencymask" and c.visible()]
    if not masks:
        return image
    raw = from_host(bytes(node.pixelData(*bounds)), bounds.extent, color.fmt, linear=color.linear)
    if raw.getchannel("A").tobytes() != image.getchannel("A").tobytes():
        return image  # the projection shows the masks already
    coverage = [
        Image.frombytes("L", bounds.extent, bytes(mask.pixelData(*bounds))) for mask in masks
    ]
    return seen_through(image, coverage)


def node_bounds(node: Any) -> Bounds:
    rect = node.bounds()
    return Bounds(rect.x(), rect.y(), rect.width(), rect.height())


def layer_reference(doc: Any, node: Any, color: ColorInfo) -> InputImage:
    """A layer's rendered pixels (its own bounds, clipped to the canvas) as a PNG reference."""
    box = node_bounds(node).intersect(Bounds.of_extent(canvas_extent(doc)))
    if box.is_empty:
        raise InputError(f"Layer {node.name()!r} is empty; it can't be a reference.")
    image = from_host(
        bytes(node.projectionPixelData(*box)), box.extent, color.fmt, linear=color.linear
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=3)
    return InputImage(reference_file_name(node.name()), buffer.getvalue(), "image/png")


def find_node(doc: Any, unique_id: Any) -> Any | None:
    """The node with ``unique_id`` if it is still in ``doc``'s tree."""

    def walk(node: Any) -> Any | None:
        for child in node.childNodes():
            if child.uniqueId() == unique_id:
                return child
            found = walk(child)
            if found is not None:
                return found
        return None

    root = doc.rootNode()
    return walk(root) if root is not None else None


def is_open(app: Any, doc: Any) -> bool:
    """Whether ``doc`` is still one of Krita's open documents (closed ones compare unequal)."""
    try:
        return doc.rootNode() is not None and any(d == doc for d in app.documents())
    except RuntimeError:  # the wrapper's C++ object is gone
        return False


def describe_document(doc: Any) -> str:
    """A name for history and messages: the file path when saved, else the title."""
    return doc.fileName() or doc.name() or "Untitled"
