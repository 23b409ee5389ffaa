"""Krita side of "Expand canvas": the job spec, then grow the canvas and add the fill layer.

Nothing is resized before the result is in history. Then ``Document.resizeImage`` grows the
canvas (the original moves to the offset core chose) and the fill becomes one paint layer on
top with a transparency mask (new area + feathered overlap), built by ``layers``.

Undo: Krita's Python API has no undo macro, so resize and layer are two undo commands. The
plug-in pairs them: when "Undo" removes the fill layer of an expand and the canvas still has
the expanded size, it undoes the resize too (and "Redo" of the resize redoes the layer), so one
Ctrl+Z restores the original size and content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import document
from .core import jobs
from .core.errors import InputError
from .core.expand import EXPAND_PROMPT, Expansion, expand_note
from .core.geometry import Extent

log = logging.getLogger(__name__)


def with_borders(spec: jobs.JobSpec, panel: Any, canvas: Extent) -> jobs.JobSpec:
    """``spec`` as an expand of ``canvas`` by what the panel says."""
    return replace(spec, borders=panel.borders(canvas), overlap_px=panel.overlap.value())


@dataclass
class _Pair:
    """One expand's two undo commands, and where the pair stands."""

    doc: Any
    layer_id: Any
    original: Extent
    expanded: Extent
    state: str = "done"  # "done" (both applied) | "undone" (both undone)


_PAIRS: list[_Pair] = []
_HOOKED: set[int] = set()
_BUSY = False


def placed_on_top(job: Any) -> Any:
    """The docker's job as the result layer code should place an expand's fill: on top of the
    stack (the fill blends over everything seen) and named after the person's words."""
    words = user_words(job.prepared.spec.prompt)
    spec = replace(job.prepared.spec, prompt=f"expand {words}".strip())
    return replace(job, active_id=None, target_key=None, prepared=replace(job.prepared, spec=spec))


def user_words(prompt: str) -> str:
    """The person's part of an expand prompt (the sent prompt starts with ``EXPAND_PROMPT``)."""
    text = str(prompt)
    return text[len(EXPAND_PROMPT) :].strip() if text.startswith(EXPAND_PROMPT) else text


def insert(doc: Any, prepared: jobs.PreparedJob, add_layer: Callable[[], Any]) -> Any:
    """Grow ``doc`` as ``prepared`` planned, then ``add_layer()`` (the docker's result layer);
    returns what it returns."""
    expansion = prepared.plan.expansion
    if expansion is None:
        raise InputError("Not an expand job.")
    return grow_and_add(doc, expansion, add_layer)


def insert_from_history(doc: Any, record: Any) -> Any:
    """A past expand again, as one result layer keeping its variants: into a document of the
    original size (grown again) or of the expanded size (just the layer)."""
    from .core.variants import stack_for_records, variant_patch
    from .variants import insert_result_layer

    try:
        expansion = Expansion.from_dict(record.data["plan"]["expansion"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"History entry {record.id} does not say how it expanded.") from None
    color = document.color_info(doc)
    name = f"expand {user_words(record.prompt)}".strip()

    def add() -> Any:
        stack = stack_for_records([record])
        return insert_result_layer(doc, stack, variant_patch(record, 0), name, color, None)

    return grow_and_add(doc, expansion, add)


def grow_and_add(doc: Any, expansion: Expansion, add_layer: Callable[[], Any]) -> Any:
    """Resize (unless already that size) and add the layer on top; the two undone together."""
    now = document.canvas_extent(doc)
    if now == expansion.canvas:
        return add_layer()
    if now != expansion.image:
        raise InputError(
            f"This expand was made for a {expansion.image} canvas (growing to "
            f"{expansion.canvas}); this one is {now}. The result is in History."
        )
    left, top = expansion.offset
    doc.resizeImage(-left, -top, *expansion.canvas)
    doc.waitForDone()
    if document.canvas_extent(doc) != expansion.canvas:
        raise InputError(f"Krita did not resize the canvas to {expansion.canvas}.")
    try:
        layer = add_layer()
    except Exception:
        doc.resizeImage(left, top, *expansion.image)  # leave the document as it was
        doc.waitForDone()
        raise
    _remember(doc, layer, expansion.image, expansion.canvas)
    return layer


def note(prepared: jobs.PreparedJob) -> str:
    return expand_note(prepared.plan) or ""


def _remember(doc: Any, layer: Any, original: Extent, expanded: Extent) -> None:
    from krita import Krita

    _PAIRS[:] = [p for p in _PAIRS if document.is_open(Krita.instance(), p.doc)]
    _PAIRS.append(_Pair(doc, layer.uniqueId(), original, expanded))
    app = Krita.instance()
    for name, handler in (("edit_undo", _after_undo), ("edit_redo", _after_redo)):
        action = app.action(name)
        if action is not None and id(action) not in _HOOKED:
            _HOOKED.add(id(action))
            action.triggered.connect(handler)


def _trigger(name: str) -> None:
    from krita import Krita

    global _BUSY
    _BUSY = True
    try:
        Krita.instance().action(name).trigger()
    finally:
        _BUSY = False


def _pairs_of_active() -> tuple[Any, list[_Pair]]:
    from krita import Krita

    doc = Krita.instance().activeDocument()
    if doc is None:
        return None, []
    return doc, [p for p in _PAIRS if p.doc == doc]


def _after_undo(*_args: Any) -> None:
    """Krita has just undone something: if it was an expand's fill layer, undo its resize."""
    if _BUSY:
        return
    doc, pairs = _pairs_of_active()
    if not pairs:
        return
    doc.waitForDone()
    for pair in reversed(pairs):
        if pair.state != "done" or document.find_node(doc, pair.layer_id) is not None:
            continue
        if document.canvas_extent(doc) == pair.expanded:
            _trigger("edit_undo")
            doc.waitForDone()
            if document.canvas_extent(doc) == pair.original:
                pair.state = "undone"
            else:
                log.warning("expand undo: the canvas is %s", document.canvas_extent(doc))
        break


def _after_redo(*_args: Any) -> None:
    """Krita has just redone something: if it was an expand's resize, redo its fill layer."""
    if _BUSY:
        return
    doc, pairs = _pairs_of_active()
    if not pairs:
        return
    doc.waitForDone()
    for pair in reversed(pairs):
        if pair.state != "undone":
            continue
        if document.canvas_extent(doc) == pair.expanded:
            _trigger("edit_redo")
            doc.waitForDone()
            pair.state = "done"
        break
