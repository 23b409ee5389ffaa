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
from .core.expand import Expansion, expand_note, expansion_of_record, regrow_needed
from .core.geometry import Extent
from .core.naming import job_layer_name
from .core.pipeline import Mode
from .undo_pairs import UNDO_PAIRS

log = logging.getLogger(__name__)


def with_borders(spec: jobs.JobSpec, panel: Any, canvas: Extent) -> jobs.JobSpec:
    """``spec`` as an expand of ``canvas`` by what the panel says."""
    return replace(spec, borders=panel.borders(canvas), overlap_px=panel.overlap.value())


@dataclass
class ExpandPair:
    """One expand's two undo commands (resize, fill layer) and where the pair stands."""

    doc: Any
    layer_id: Any
    original: Extent
    expanded: Extent
    state: str = "done"  # "done" (both applied) | "undone" (both undone)
    immediate: bool = True

    def half_done(self, direction: str) -> bool:
        """Undo took the fill layer away but left the canvas grown; or Redo grew the canvas
        of an undone expand again without its layer."""
        grown = document.canvas_extent(self.doc) == self.expanded
        if direction == "undo":
            return (
                self.state == "done"
                and grown
                and document.find_node(self.doc, self.layer_id) is None
            )
        return self.state == "undone" and grown

    def completed(self, direction: str) -> None:
        if direction == "redo":
            self.state = "done"
        elif document.canvas_extent(self.doc) == self.original:
            self.state = "undone"
        else:
            log.warning("expand undo: the canvas is %s", document.canvas_extent(self.doc))


def placed_on_top(job: Any) -> Any:
    """The docker's job as the result layer code should place an expand's fill: on top of the
    stack (the fill blends over everything seen), never into a layer a refine came from."""
    return replace(job, active_id=None, target_key=None)


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

    expansion = expansion_of_record(record)
    color = document.color_info(doc)
    name = job_layer_name(Mode.EXPAND, record.prompt)

    def add() -> Any:
        stack = stack_for_records([record])
        return insert_result_layer(doc, stack, variant_patch(record, 0), name, color, None)

    return grow_and_add(doc, expansion, add)


def grow_and_add(doc: Any, expansion: Expansion, add_layer: Callable[[], Any]) -> Any:
    """Resize (unless already that size) and add the layer on top; the two undone together."""
    if not regrow_needed(expansion, document.canvas_extent(doc)):
        return add_layer()
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
    UNDO_PAIRS.add(ExpandPair(doc, layer.uniqueId(), original, expanded))
