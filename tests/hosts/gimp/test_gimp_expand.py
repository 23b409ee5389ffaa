"""Filters → GPT Image → Expand… (``plug-in-gpt-image-expand``) in the real GIMP 3, from outside.

One GIMP start runs the expand cases of ``batch_cases.py`` (they are in its SEPARATE set, so
the main GIMP module does not run them again). The plan each case must have made is derived
from ``core.expand`` with the same inputs: canvas, offsets and API size are checked against it.

GIMP 3 has no way to *perform* an undo from a script (undo is GUI-only; the PDB only opens and
closes undo groups), so "one undo group" is checked by the unit test in ``test_gimp_units.py``
that runs ``expand.write_results`` on a recording fake image.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gimp_harness

from core.expand import Borders, borders_for_aspect, plan_expand
from core.geometry import Extent

pytestmark = [pytest.mark.gimp, pytest.mark.slow]

CASES = ["expand_by", "expand_aspect", "expand_refused"]


@pytest.fixture(scope="module")
def run() -> Iterator[gimp_harness.GimpRun]:
    result = gimp_harness.run_gimp(CASES)
    assert result.returncode == 0, (
        f"gimp-console failed ({result.returncode}):\n{result.log[-5000:]}"
    )
    yield result
    gimp_harness.clean_up(result)


def rgba(run, name: str) -> np.ndarray:
    return np.asarray(Image.open(run.out / name).convert("RGBA")).astype(np.int32)


def check_expand(run, name: str, borders: Borders, overlap: int) -> None:
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    image = Extent(*entry["canvas_before"])
    plan = plan_expand(image, borders, overlap_px=overlap)
    canvas, (ox, oy) = plan.canvas, plan.expansion.offset
    assert entry["canvas_after"] == list(canvas)
    # the fill is a new top layer with a layer mask, exactly over the plan's area
    top = entry["tree_after"][0]
    assert top["has_mask"] and entry["layer_index"] == 0
    assert entry["layer_bounds"] == list(plan.source_bounds)
    # the original layers kept their pixels and moved by the offset
    before = {layer["name"]: layer for layer in entry["tree_before"]}
    for layer in entry["tree_after"][1:]:
        was = before[layer["name"]]
        assert layer["size"] == was["size"]
        assert layer["offsets"] == [was["offsets"][0] + ox, was["offsets"][1] + oy]
    # kept pixels bit-identical beyond the overlap, new area opaque, seam band blended
    old, new = rgba(run, f"{name}-before.png"), rgba(run, f"{name}-after.png")
    assert new.shape[:2] == (canvas.height, canvas.width)
    w, h = image
    x1 = overlap if borders.left else 0
    y1 = overlap if borders.top else 0
    x2 = w - (overlap if borders.right else 0)
    y2 = h - (overlap if borders.bottom else 0)
    kept_new = new[oy + y1 : oy + y2, ox + x1 : ox + x2]
    assert np.array_equal(kept_new, old[y1:y2, x1:x2]), "original pixels changed"
    outside = np.ones((canvas.height, canvas.width), bool)
    outside[oy : oy + h, ox : ox + w] = False
    assert (new[..., 3][outside] == 255).all(), "the new area is not fully opaque"
    mask = np.asarray(Image.open(run.out / f"{name}-mask.png").convert("L")).astype(np.int32)
    lx, ly = entry["layer_bounds"][:2]
    on_canvas = np.zeros((canvas.height, canvas.width), np.int32)
    on_canvas[ly : ly + mask.shape[0], lx : lx + mask.shape[1]] = mask
    assert (on_canvas[outside] == 255).all(), "the mask does not cover the new area"
    inner = on_canvas[oy + y1 : oy + y2, ox + x1 : ox + x2]
    assert (inner == 0).all(), "the mask reaches past the overlap"
    # one edit request at the planned size, with a mask
    (request,) = run.requests_for(name)
    assert request["endpoint"] == "edits" and request["mask"] is not None
    assert request["params"]["size"] == str(plan.api_size)
    assert top["job"]["expansion"]["offset"] == [ox, oy]


def test_expand_by_sides(run):
    check_expand(run, "expand_by", Borders(40, 0, 60, 30), overlap=8)


def test_an_expand_is_named_after_the_words_live_and_from_history(run):
    """core.naming.job_layer_name: the person's words, never the continuation instruction
    History keeps as the prompt sent (the same name Krita gives)."""
    entry = run.ran("expand_by")
    assert entry["tree_after"][0]["name"] == "GPT: expand expand_by: a beach"
    assert entry["reinsert"]["status"] == "success", entry["reinsert"]
    assert entry["reinserted_canvas"] == [400, 230]
    assert entry["reinserted_name"] == "GPT: expand expand_by: a beach"


def test_expand_to_aspect_with_anchor(run):
    image = Extent(*run.ran("expand_aspect")["canvas_before"])
    borders = borders_for_aspect(image, "16:9", "right")
    assert borders.left > 0 and borders.right == 0
    check_expand(run, "expand_aspect", borders, overlap=12)
    (request,) = run.requests_for("expand_aspect")
    sizes = [tuple(img["size"]) for img in request["images"]]
    assert len(sizes) == 2 and sizes[1] == (101, 77), sizes  # the crop, then the reference


def test_bad_arguments_are_calling_errors_and_change_nothing(run):
    entry = run.ran("expand_refused")
    for label, res in entry["cases"].items():
        assert res["status"] == "calling-error", (label, res)
        assert res["canvas_after"] == [300, 200], label
    assert not run.requests_for("expand_refused"), "a refused expand sent a request"
    assert "3:1" in entry["cases"]["unreachable"]["message"]
    assert entry["tree_after"] == entry["tree_before"]
