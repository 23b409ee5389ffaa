"""Result layers that keep their variants: insert one layer, flip it in place, keep all or one.

Which variants a layer holds is a ``core.variants.ResultStack`` per layer, stored as JSON in a
document annotation (``gpt-image-variants``: {layer uuid: stack}), so a saved .kra still knows
them; the pixels come from history (``core.variants.variant_patch``).

A flip replaces the layer by a freshly built one showing the other variant (same name, place,
visibility, opacity, blending and mask): Krita's Python API writes pixels without undo, but adding
and removing a node are undoable. The two commands (add the new layer above, remove the old one)
are undone and redone as one step: after the user's Undo (or Redo) stops between them, the
plug-in's one undo-pairing mechanism (``undo_pairs``) takes the second step at once, so every
flip is one step for the person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .core.errors import InputError
from .core.history import History
from .core.pipeline import LayerPatch
from .core.pixels import mask_to_host, to_host
from .core.settings import load_settings
from .core.variants import STACK_KEY, ResultStack, Round, stack_for_records, variant_patch
from .document import ColorInfo, find_node, node_bounds
from .layers import HostPatch, build_layer_node, placement
from .qt import QByteArray
from .undo_pairs import UNDO_PAIRS

log = logging.getLogger(__name__)
DESCRIPTION = "GPT Image: the variants each result layer keeps"


def node_key(node: Any) -> str:
    return node.uniqueId().toString()


# --- the stacks of a document --------------------------------------------------------------------


class _Parsed:
    """One annotation's content, parsed once: the JSON, and each layer's stack when asked."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._stacks: dict[str, ResultStack | None] = {}

    def stack(self, node: Any) -> ResultStack | None:
        key = node_key(node)
        if key not in self._stacks:
            item = self.data.get(key)
            stack = None
            if item is not None:
                try:
                    stack = ResultStack.from_dict(item)
                except InputError as error:
                    log.warning("Result layer %s: %s", node.name(), error)
            self._stacks[key] = stack
        return self._stacks[key]


#: Annotations parsed lately, by their bytes (one or two per open document). The result strip
#: asks for the active layer's stack several times a second (``result_actions.FOLLOW_MS``): a
#: look that finds the same bytes parses nothing; any change is other bytes, parsed afresh.
_PARSED: dict[bytes, _Parsed] = {}
PARSED_KEPT = 8


def _parse(raw: bytes) -> dict[str, Any]:
    """The annotation's JSON ({layer uuid: stack}); empty when absent or unreadable."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError):
        log.warning("The document's variant annotation is unreadable; starting afresh")
        data = {}
    return data if isinstance(data, dict) else {}


def _keep(raw: bytes, parsed: _Parsed) -> _Parsed:
    _PARSED.pop(raw, None)
    _PARSED[raw] = parsed  # the newest last; the oldest goes first
    while len(_PARSED) > PARSED_KEPT:
        del _PARSED[next(iter(_PARSED))]
    return parsed


def _parsed(doc: Any) -> _Parsed:
    """``doc``'s annotation, parsed only when its bytes are new."""
    try:
        raw = bytes(doc.annotation(STACK_KEY))
    except (AttributeError, RuntimeError):
        raw = b""
    known = _PARSED.get(raw)
    return _keep(raw, known if known is not None else _Parsed(_parse(raw)))


def stack_of(doc: Any, node: Any) -> ResultStack | None:
    """The variants ``node`` keeps, or None when it is no result layer (or its data is broken)."""
    if doc is None or node is None:
        return None
    return _parsed(doc).stack(node)


def set_stack(doc: Any, node: Any, stack: ResultStack | None) -> None:
    data = dict(_parsed(doc).data)  # a copy: the parsed one stays what those bytes say
    if stack is None:
        data.pop(node_key(node), None)
    else:
        data[node_key(node)] = stack.to_dict()
    payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
    doc.setAnnotation(STACK_KEY, DESCRIPTION, QByteArray(payload))
    _keep(payload, _Parsed(data))  # what was written needs no parsing when read back


def _history() -> History:
    return History.from_settings(load_settings())


def patch_for(stack: ResultStack, history: History | None = None) -> LayerPatch:
    """The layer patch of the variant ``stack`` shows, from its history entry."""
    current = stack.current
    record = (history or _history()).get(current.history_id)
    return variant_patch(record, current.index)


# --- inserting -----------------------------------------------------------------------------------


def insert_result_layer(
    doc: Any,
    stack: ResultStack,
    patch: LayerPatch | HostPatch,
    name: str,
    color: ColorInfo,
    active_id: Any | None,
) -> Any:
    """One result layer ``name`` (``core.naming.job_layer_name``) above the active one showing
    ``patch`` (the stack's current variant) and keeping the whole stack; one undo step. Krita redraws in its own threads: waiting for it
    here (``waitForDone``, ``refreshProjection``) would freeze the UI for a redraw of the whole
    document. The results strip is handed the new layer by the caller (``ResultActions``),
    so nothing needs Krita to have taken it in yet."""
    node = build_layer_node(doc, patch, name, color)
    parent, above = placement(doc, active_id)
    if not parent.addChildNode(node, above):
        raise RuntimeError("Krita refused to add the result layer")
    set_stack(doc, node, stack)
    return node


def stack_from_history_ids(
    history_ids: Sequence[str], history: History | None = None
) -> ResultStack:
    history = history or _history()
    return stack_for_records([history.get(h) for h in history_ids])


# --- flipping ------------------------------------------------------------------------------------


@dataclass
class FlipPair:
    """A flip's two commands (add the new layer above, remove the old one): half done while
    both layers are there."""

    doc: Any
    old_key: str
    new_key: str
    immediate: bool = False

    def half_done(self, direction: str) -> bool:
        return _present(self.doc, self.old_key) and _present(self.doc, self.new_key)

    def completed(self, direction: str) -> None:
        self.doc.refreshProjection()


def _present(doc: Any, key: str) -> bool:
    def walk(node: Any) -> bool:
        return any(node_key(child) == key or walk(child) for child in node.childNodes())

    return walk(doc.rootNode())


def replace_node(doc: Any, old: Any, new: Any) -> Any:
    """Put detached ``new`` where ``old`` is; one undo step for the person.

    ``new`` must already look like ``old`` (a duplicate does): on a detached node even
    ``setBlendingMode`` is an undo command of its own.
    """
    parent = old.parentNode()
    if parent is None or not parent.addChildNode(new, old):
        raise RuntimeError("Krita refused to replace the result layer")
    old.remove()
    UNDO_PAIRS.add(FlipPair(doc, node_key(old), node_key(new)))
    doc.waitForDone()
    doc.refreshProjection()
    doc.setActiveNode(new)
    return new


def variant_node(doc: Any, node: Any, patch: LayerPatch, color: ColorInfo) -> Any:
    """A detached copy of result layer ``node`` holding ``patch`` instead.

    A duplicate carries the layer's transparency mask along without any undo command (building
    a layer and giving it a mask with ``setChildNodes`` leaves invisible steps on Krita's undo
    stack, which would make the next Ctrl+Z seem to do nothing). Old pixels are cleared first:
    a variant of another round may cover another area.
    """
    new = node.duplicate()
    old = node_bounds(node)
    box = old.union(patch.bounds) if not old.is_empty else patch.bounds
    masks = [c for c in new.childNodes() if c.type() == "transparencymask"]
    clear = Image.new("RGBA", box.extent, (0, 0, 0, 0))
    new.setPixelData(QByteArray(to_host(clear, color.fmt, linear=color.linear)), *box)
    image = patch.image
    if masks:
        mask = masks[0]
        mask.setPixelData(QByteArray(bytes(box.width * box.height)), *box)
        mask.setPixelData(QByteArray(mask_to_host(patch.mask)), *patch.bounds)
    elif patch.mask.getextrema() != (255, 255):
        image = patch.masked()  # no mask to hold it: fold it into the alpha
    new.setPixelData(QByteArray(to_host(image, color.fmt, linear=color.linear)), *patch.bounds)
    return new


def show_variant(doc: Any, node: Any, stack: ResultStack, color: ColorInfo) -> Any:
    """Make result layer ``node`` show ``stack``'s current variant; returns the layer now in its
    place (a new node: Krita can undo that)."""
    new = variant_node(doc, node, patch_for(stack), color)
    if node_key(new) == node_key(node):
        raise RuntimeError("Krita gave the copied layer the same id")
    set_stack(doc, new, stack)
    return replace_node(doc, node, new)


def keep_all(doc: Any, node: Any, stack: ResultStack, color: ColorInfo) -> Any:
    """Every variant as its own layer in a group (the shown one visible, #1.1 on top); one step.

    Each layer is a duplicate of ``node`` (mask and look included, no undo commands) holding one
    variant, and stays a result layer of its own (it can be refined).
    """
    history = _history()
    group = doc.createGroupLayer(node.name())
    layers = []
    for item in stack.variants():
        single = ResultStack(stack.rounds, (item.round, item.position))
        layer = variant_node(doc, node, patch_for(single, history), color)
        layer.setName(f"{node.name()} #{item.round + 1}.{item.position + 1}")
        if (item.round, item.position) != stack.shown:
            layer.setVisible(False)
        layers.append((layer, ResultStack((_only(item.info, item.index),))))
    group.setChildNodes([layer for layer, _ in reversed(layers)])  # bottom to top: #1.1 on top
    for layer, single in layers:
        set_stack(doc, layer, single)
    return replace_node(doc, node, group)


def _only(info: Round, index: int) -> Round:
    from dataclasses import replace

    return replace(info, images=(index,))


def keep_one(doc: Any, node: Any) -> ResultStack | None:
    """Drop the variants not shown from the layer (they stay in history); pixels unchanged."""
    stack = stack_of(doc, node)
    if stack is None:
        return None
    kept = stack.keep_one()
    set_stack(doc, node, kept)
    return kept


def result_layer(doc: Any, node: Any) -> Any | None:
    """``node`` or, for a mask, the layer owning it, when that layer is a result layer."""
    from .document import MASK_TYPES

    while node is not None and node.type() in MASK_TYPES:
        node = node.parentNode()
    if node is None or stack_of(doc, node) is None:
        return None
    return node


def find_result(doc: Any, key: str) -> Any | None:
    def walk(node: Any) -> Any | None:
        for child in node.childNodes():
            if node_key(child) == key:
                return child
            found = walk(child)
            if found is not None:
                return found
        return None

    return walk(doc.rootNode()) if doc is not None else None


__all__ = [
    "UNDO_PAIRS",
    "find_node",
    "find_result",
    "insert_result_layer",
    "keep_all",
    "keep_one",
    "result_layer",
    "set_stack",
    "show_variant",
    "stack_from_history_ids",
    "stack_of",
]
