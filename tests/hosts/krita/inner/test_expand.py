"""Expand canvas in the real Krita, driven through the docker's widgets against the stand-in.

Checked from outside the plug-in: the canvas size, where the original went, its pixels beyond
the overlap (bit-identical in the projection), the new area (opaque, filled), the fill layer and
its transparency mask, and that one Undo restores the original size and content.
"""

from __future__ import annotations

import numpy as np
from conftest import image_requests, node_names, projection, settle, wait_until
from krita import Krita

try:
    from PyQt5.QtWidgets import QComboBox
except ImportError:  # Krita 6
    from PyQt6.QtWidgets import QComboBox


def as_array(doc, data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.uint8).reshape(doc.height(), doc.width(), -1)


def configure_expand(driver, prompt: str, *, sides=None, aspect="", anchor="center", overlap=8):
    driver.configure(prompt, mode="expand", source="layer")
    assert driver.docker.expand_panel.isVisible(), "the expand options are hidden"
    box = driver.widget(QComboBox, "gptImageExpandAspect")
    if aspect:
        box.setEditText(aspect)
    else:
        box.setCurrentIndex(0)
    driver.choose("gptImageExpandAnchor", anchor)
    for name, value in zip(("Left", "Top", "Right", "Bottom"), sides or (0, 0, 0, 0), strict=True):
        driver.set_spin(f"gptImageExpand{name}", value)
    driver.set_spin("gptImageExpandOverlap", overlap)


def check_expanded(doc, before, size, result, overlap):
    """Size, kept pixels, opaque filled new area, the fill layer with its mask; returns the plan."""
    plan = result.plan
    expansion = plan.expansion
    assert (doc.width(), doc.height()) == tuple(expansion.canvas)
    w, h = size
    ox, oy = expansion.offset
    left, top, right, bottom = expansion.borders
    old, new = as_array_of(size, before), as_array(doc, projection(doc))
    x1, y1 = (overlap if left else 0), (overlap if top else 0)
    x2, y2 = w - (overlap if right else 0), h - (overlap if bottom else 0)
    assert np.array_equal(new[oy + y1 : oy + y2, ox + x1 : ox + x2], old[y1:y2, x1:x2]), (
        "original pixels changed"
    )
    outside = np.ones((doc.height(), doc.width()), bool)
    outside[oy : oy + h, ox : ox + w] = False
    assert (new[..., 3][outside] == 255).all(), "the new area is not opaque"
    # the stand-in inverts what it is asked to paint: the new area is not empty/black
    assert new[..., :3][outside].std() > 1 or new[..., :3][outside].mean() > 10
    top_layer = doc.rootNode().childNodes()[-1]
    assert top_layer.name().startswith("GPT: expand"), top_layer.name()
    masks = [c for c in top_layer.childNodes() if c.type() == "transparencymask"]
    assert len(masks) == 1, [c.type() for c in top_layer.childNodes()]
    (patch,) = result.patches
    x, y, pw, ph = patch.bounds
    mask = np.frombuffer(bytes(masks[0].pixelData(x, y, pw, ph)), np.uint8).reshape(ph, pw)
    assert np.array_equal(mask, np.asarray(patch.mask))
    on_canvas = np.zeros((doc.height(), doc.width()), np.uint8)
    on_canvas[y : y + ph, x : x + pw] = mask
    assert (on_canvas[outside] == 255).all(), "the mask does not cover the new area"
    assert (on_canvas[oy + y1 : oy + y2, ox + x1 : ox + x2] == 0).all()
    return plan


def as_array_of(size, data: bytes) -> np.ndarray:
    w, h = size
    return np.frombuffer(data, np.uint8).reshape(h, w, -1)


def undo_restores(doc, size, before_names, before):
    app = Krita.instance()
    app.action("edit_undo").trigger()
    settle(doc)
    wait_until(lambda: (doc.width(), doc.height()) == size, 10, "the original size")
    assert node_names(doc) == before_names
    assert projection(doc) == before, "one undo did not restore the content"


def test_expand_per_side_grows_the_canvas_and_one_undo_restores_it(driver, docs):
    doc = docs.new(301, 203)
    size = (301, 203)
    before_names, before = node_names(doc), projection(doc)
    layer_before = bytes(doc.rootNode().childNodes()[0].pixelData(0, 0, 301, 203))
    configure_expand(driver, "a sandy beach", sides=(40, 0, 60, 30))
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    plan = check_expanded(doc, before, size, driver.docker.last_result, 8)
    assert tuple(plan.expansion.offset) == (40, 0) and tuple(plan.canvas) == (401, 233)
    # named after the person's words (core.naming.job_layer_name), as GIMP names it
    assert doc.rootNode().childNodes()[-1].name() == "GPT: expand a sandy beach"
    # the original layer moved with the canvas, its pixels untouched (never written into)
    background = doc.rootNode().childNodes()[0]
    assert bytes(background.pixelData(40, 0, 301, 203)) == layer_before
    (request,) = image_requests()
    assert request["endpoint"] == "edits" and request.get("mask")
    assert request["params"]["size"] == str(plan.api_size)
    undo_restores(doc, size, before_names, before)
    # and redo brings both back
    Krita.instance().action("edit_redo").trigger()
    settle(doc)
    wait_until(lambda: (doc.width(), doc.height()) == (401, 233), 10, "the expanded size")
    assert len(node_names(doc)) == len(before_names) + 1


def test_expand_to_aspect_with_anchor(driver, docs):
    doc = docs.new(320, 240, seed=3)
    size = (320, 240)
    before_names, before = node_names(doc), projection(doc)
    configure_expand(driver, "", aspect="16:9", anchor="right", overlap=12)
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    plan = check_expanded(doc, before, size, driver.docker.last_result, 12)
    assert tuple(plan.canvas) == (427, 240) and tuple(plan.expansion.offset) == (107, 0)
    assert doc.rootNode().childNodes()[-1].name() == "GPT: expand"  # no words: no instruction
    undo_restores(doc, size, before_names, before)


def test_expand_bad_input_changes_nothing_and_sends_nothing(driver, docs):
    doc = docs.new(300, 100)
    before_names, before = node_names(doc), projection(doc)
    configure_expand(driver, "x", aspect="5:1", anchor="center")
    driver.click("gptImageGenerate")
    assert not driver.docker.busy
    assert "3:1" in driver.status(), driver.status()
    configure_expand(driver, "x", sides=(0, 0, 0, 0))
    driver.click("gptImageGenerate")
    assert "Nothing to expand" in driver.status(), driver.status()
    assert image_requests() == []
    assert (doc.width(), doc.height()) == (300, 100)
    assert node_names(doc) == before_names and projection(doc) == before


def test_history_insert_of_an_expand_grows_a_same_size_document(driver, docs):
    doc = docs.new(256, 160, seed=5)
    configure_expand(driver, "history expand", sides=(0, 32, 0, 0))
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    history = driver.docker.history
    history.refresh()
    wait_until(lambda: history.list.count() > 0, 10, "the history list")
    assert "expand" in str(history.records[0].data.get("mode"))
    other = docs.new(256, 160, seed=6)
    assert Krita.instance().activeDocument() == other
    names = node_names(other)
    history.list.setCurrentRow(0)
    driver.click("gptImageHistoryInsert")
    settle(other)
    assert (other.width(), other.height()) == (256, 192)
    assert len(node_names(other)) == len(names) + 1
    # History keeps the prompt as sent (the instruction first): the name has only the words
    assert "Extend this picture" in history.records[0].prompt
    assert other.rootNode().childNodes()[-1].name() == "GPT: expand history expand"
    assert "Inserted a result layer" in driver.status(), driver.status()
    small = docs.new(100, 100)
    history.list.setCurrentRow(0)
    driver.click("gptImageHistoryInsert")
    assert "made for a 256x160 canvas" in driver.status(), driver.status()
    assert (small.width(), small.height()) == (100, 100)
    assert doc.width() == 256
