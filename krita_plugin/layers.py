"""core → Krita: results become new layers (never writes into existing ones).

Undo: in Krita 5 every ``Node.addChildNode`` is its own undo command, while
``Node.setChildNodes`` adds without one. So the whole result (a layer with its transparency
mask, or a group of variants) is built detached with ``setChildNodes`` and attached with a
single ``addChildNode``: one job, one undo step.

Transparency masks: Krita 5.2 has ``Document.createTransparencyMask`` + ``setSelection``. Krita
5.1's API can't give a mask pixels, so there the mask is copied from a loaded template document
(see ``mask_template``). Should that ever fail, the mask is folded into the layer's alpha: the
same pixels on the canvas, only not editable as a mask.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .core.geometry import Bounds
from .core.naming import result_layer_name
from .core.pipeline import LayerPatch
from .core.pixels import mask_to_host, to_host
from .document import MASK_TYPES, ColorInfo, find_node
from .mask_template import empty_transparency_mask
from .qt import QByteArray

log = logging.getLogger(__name__)

MASK_NAME = "Selection (feathered)"

#: A result layer's name (core's, as GIMP's and History's): ``layer_name(prompt, index)``.
layer_name = result_layer_name


def placement(doc: Any, active_id: Any | None) -> tuple[Any, Any | None]:
    """(parent, above) for new layers: right above the layer that was active at submit time.

    A mask's owner layer stands in for the mask. If that layer is gone, results go on top.
    """
    root = doc.rootNode()
    node = find_node(doc, active_id) if active_id is not None else None
    while node is not None and node.type() in MASK_TYPES:
        node = node.parentNode()
    if node is None or node.parentNode() is None:
        return root, None
    return node.parentNode(), node


def _needs_mask(patch: LayerPatch) -> bool:
    return patch.mask.getextrema() != (255, 255)


@dataclass(frozen=True)
class HostPatch:
    """A result already in Krita's bytes, made on the job's worker thread (``host_patch``) so
    that applying it on the main thread only hands bytes to Krita."""

    patch: LayerPatch
    pixels: bytes
    mask: bytes | None  # None: the result covers its whole box, it needs no mask

    @property
    def bounds(self) -> Bounds:
        return self.patch.bounds


def host_patch(patch: LayerPatch | HostPatch, color: ColorInfo) -> HostPatch:
    """``patch`` as Krita's layer and mask bytes (any thread: no Krita call)."""
    if isinstance(patch, HostPatch):
        return patch
    mask = mask_to_host(patch.mask) if _needs_mask(patch) else None
    return HostPatch(patch, to_host(patch.image, color.fmt, linear=color.linear), mask)


def has_mask_api(doc: Any) -> bool:
    """Krita 5.2+: transparency masks can be given pixels from Python."""
    return hasattr(doc, "createTransparencyMask")


def warm_mask_template(doc: Any) -> None:
    """Krita 5.1: load the mask template now (a masked job is in flight), not when its result
    is applied; later masks are copies of it."""
    if not has_mask_api(doc):
        from krita import Krita

        empty_transparency_mask(Krita.instance())


def _mask_node(doc: Any, patch: HostPatch) -> Any | None:
    """A detached transparency mask holding ``patch.mask``; None when Krita can't make one."""
    assert patch.mask is not None
    if has_mask_api(doc):
        from krita import Selection

        selection = Selection()
        selection.setPixelData(QByteArray(patch.mask), *patch.bounds)
        mask = doc.createTransparencyMask(MASK_NAME)
        mask.setSelection(selection)
        return mask
    from krita import Krita

    mask = empty_transparency_mask(Krita.instance())
    if mask is None:
        log.warning("Krita 5.1 could not load the mask template: the mask goes into the alpha")
        return None
    mask.setName(MASK_NAME)
    mask.setPixelData(QByteArray(patch.mask), *patch.bounds)
    return mask


def build_layer_node(doc: Any, patch: LayerPatch | HostPatch, name: str, color: ColorInfo) -> Any:
    """A detached paint layer holding ``patch``, with a transparency mask when it has one."""
    host = host_patch(patch, color)
    layer = doc.createNode(name, "paintlayer")
    mask = _mask_node(doc, host) if host.mask is not None else None
    pixels = host.pixels
    if host.mask is not None and mask is None:  # no mask possible: fold it into the alpha
        pixels = to_host(host.patch.masked(), color.fmt, linear=color.linear)
    layer.setPixelData(QByteArray(pixels), *host.bounds)
    if mask is not None:
        layer.setChildNodes([mask])
    return layer


def insert_results(
    doc: Any,
    patches: Sequence[LayerPatch | HostPatch],
    prompt: str,
    color: ColorInfo,
    active_id: Any | None,
) -> Any:
    """Insert one layer, or a group with one layer per variant (first visible); returns it.

    One undo step removes it all. Krita updates the projection in its own threads; waiting
    for it here (``waitForDone``, ``refreshProjection``) would freeze the UI for a redraw of
    the whole document.
    """
    if not patches:
        raise ValueError("no results to insert")
    name = layer_name(prompt)
    if len(patches) == 1:
        top = build_layer_node(doc, patches[0], name, color)
    else:
        top = doc.createGroupLayer(name)
        variants = []
        for index, patch in enumerate(patches):
            node = build_layer_node(doc, patch, layer_name(prompt, index), color)
            node.setVisible(index == 0)
            variants.append(node)
        top.setChildNodes(list(reversed(variants)))  # bottom to top: variant 1 on top
    parent, above = placement(doc, active_id)
    if not parent.addChildNode(top, above):
        raise RuntimeError("Krita refused to add the result layer")
    return top
