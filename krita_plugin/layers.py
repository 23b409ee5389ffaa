"""core → Krita: results become new layers (never writes into existing ones).

Undo: in Krita 5 every ``Node.addChildNode`` is its own undo command, while
``Node.setChildNodes`` adds without one. So the whole result (a layer, or a group of variants)
is built detached with ``setChildNodes`` and attached with a single ``addChildNode``.

Transparency masks: Krita 5.2 has ``Document.createTransparencyMask`` + ``setSelection``, so the
mask is part of the detached build and the job is exactly one undo step. Krita 5.1's Python API
can create a transparency mask node but never gives it pixels (its selection stays null), so
there each layer is inserted with the mask folded into its alpha (pixel-exact already) and then
Krita's own "Split Alpha → Alpha into Mask" turns that alpha into a real transparency mask. That
costs one more undo step per layer; the first Ctrl+Z then only folds the mask back (no visible
change) and the next one removes the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .core.pipeline import LayerPatch
from .core.pixels import mask_to_host, to_host
from .document import MASK_TYPES, ColorInfo, find_node
from .qt import QApplication, QByteArray

SPLIT_ALPHA_ACTION = "split_alpha_into_mask"

NAME_PREFIX = "GPT: "
NAME_CHARS = 48


def layer_name(prompt: str) -> str:
    """A layer name from the prompt's first words (one line, bounded)."""
    text = " ".join(prompt.split())
    if len(text) > NAME_CHARS:
        text = text[: NAME_CHARS - 1].rstrip() + "…"
    return NAME_PREFIX + (text or "result")


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
    low, high = patch.mask.getextrema()
    return not (low == 255 and high == 255)


def has_mask_api(doc: Any) -> bool:
    """Krita 5.2+: transparency masks can be given pixels from Python."""
    return hasattr(doc, "createTransparencyMask")


def _mask_node(doc: Any, patch: LayerPatch) -> Any:
    """Krita 5.2+: a detached transparency mask holding ``patch.mask``."""
    from krita import Selection

    selection = Selection()
    selection.setPixelData(QByteArray(mask_to_host(patch.mask)), *patch.bounds)
    mask = doc.createTransparencyMask("Selection (feathered)")
    mask.setSelection(selection)
    return mask


def build_layer_node(doc: Any, patch: LayerPatch, name: str, color: ColorInfo) -> Any:
    """A detached paint layer holding ``patch``, masked by its blend mask when it has one.

    With the 5.2 mask API the layer gets a transparency mask; on 5.1 the mask goes into the
    layer's alpha (and ``split_alpha_masks`` turns it into a mask once the layer is in place).
    """
    layer = doc.createNode(name, "paintlayer")
    masked = _needs_mask(patch)
    native = masked and has_mask_api(doc)
    image = patch.masked() if masked and not native else patch.image
    layer.setPixelData(QByteArray(to_host(image, color.fmt, linear=color.linear)), *patch.bounds)
    if native:
        layer.setChildNodes([_mask_node(doc, patch)])
    return layer


def _wait_active(doc: Any, node: Any, timeout_s: float = 2.0) -> bool:
    """Make ``node`` active; Krita applies queued activations first, so wait until it sticks."""
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        doc.setActiveNode(node)
        QApplication.processEvents()
        active = doc.activeNode()
        if active is not None and active.uniqueId() == node.uniqueId():
            return True
        time.sleep(0.01)
    return False


def split_alpha_masks(app: Any, doc: Any, layers_: Sequence[Any]) -> int:
    """Krita 5.1: turn each layer's alpha into a transparency mask; returns how many worked.

    Krita's action works on the active view's active layer, so this only runs when ``doc`` is
    the active document (otherwise the layers keep the mask in their alpha: same pixels).
    """
    action = app.action(SPLIT_ALPHA_ACTION)
    if action is None or app.activeDocument() != doc:
        return 0
    done = 0
    for layer in layers_:
        if not _wait_active(doc, layer):
            break
        action.trigger()
        doc.waitForDone()
        if any(c.type() == "transparencymask" for c in layer.childNodes()):
            done += 1
    return done


class Inserted:
    """What a job added: the top node, and how many undo steps remove it all."""

    def __init__(self, node: Any, undo_steps: int) -> None:
        self.node = node
        self.undo_steps = undo_steps


def insert_results(
    doc: Any,
    patches: Sequence[LayerPatch],
    prompt: str,
    color: ColorInfo,
    active_id: Any | None,
) -> Inserted:
    """Insert one layer, or a group with one layer per variant (first visible)."""
    if not patches:
        raise ValueError("no results to insert")
    name = layer_name(prompt)
    if len(patches) == 1:
        top = build_layer_node(doc, patches[0], name, color)
        variants = [top]
    else:
        top = doc.createGroupLayer(name)
        variants = []
        for index, patch in enumerate(patches):
            node = build_layer_node(doc, patch, f"{name} #{index + 1}", color)
            node.setVisible(index == 0)
            variants.append(node)
        top.setChildNodes(list(reversed(variants)))  # bottom to top: variant 1 on top
    parent, above = placement(doc, active_id)
    if not parent.addChildNode(top, above):
        raise RuntimeError("Krita refused to add the result layer")
    doc.waitForDone()
    steps = 1
    if not has_mask_api(doc) and _needs_mask(patches[0]):
        from krita import Krita

        steps += split_alpha_masks(Krita.instance(), doc, variants)
    doc.refreshProjection()
    return Inserted(top, steps)
