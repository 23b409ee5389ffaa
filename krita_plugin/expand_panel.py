"""The docker's "Expand canvas" options: pixels per side, or a target aspect and anchor.

Shown only in the Expand canvas mode. Widgets only (no Krita, no jobs): ``borders(canvas)``
turns them into ``core.expand.Borders`` with core's own rules and messages.
"""

from __future__ import annotations

from .core.expand import (
    ANCHORS,
    DEFAULT_OVERLAP_PX,
    MAX_CANVAS_EDGE,
    MAX_OVERLAP_PX,
    Borders,
    borders_for_aspect,
    check_borders,
)
from .core.geometry import Extent
from .qt import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QSpinBox, QWidget, pyqtSignal

#: "" = per side; the rest are common targets (any W:H can be typed).
ASPECTS = ("", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "1:1", "21:9", "4:5")
SIDES = ("left", "top", "right", "bottom")


def _spin(name: str, top: int, value: int = 0) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(0, top)
    spin.setValue(value)
    spin.setSuffix(" px")
    return spin


class ExpandPanel(QGroupBox):
    """Per-side borders (``gptImageExpandLeft/Top/Right/Bottom``) or an aspect
    (``gptImageExpandAspect``, editable) with an anchor (``gptImageExpandAnchor``), and the
    feathered overlap (``gptImageExpandOverlap``)."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Expand canvas", parent)
        self.setObjectName("gptImageExpand")
        form = QFormLayout(self)
        self.sides = {
            side: _spin(f"gptImageExpand{side.capitalize()}", MAX_CANVAS_EDGE) for side in SIDES
        }
        rows = (("Left", "Right"), ("Top", "Bottom"))
        for first, second in rows:
            row = QHBoxLayout()
            row.addWidget(self.sides[first.lower()])
            row.addWidget(self.sides[second.lower()])
            form.addRow(f"{first} / {second}", row)
        self.aspect = QComboBox()
        self.aspect.setObjectName("gptImageExpandAspect")
        self.aspect.setEditable(True)
        for value in ASPECTS:
            self.aspect.addItem(value or "per side", value)
        self.aspect.setToolTip("A target shape W:H (the original kept whole), or per side")
        self.anchor = QComboBox()
        self.anchor.setObjectName("gptImageExpandAnchor")
        for name in ANCHORS:
            self.anchor.addItem(name.replace("-", " "), name)
        self.overlap = _spin("gptImageExpandOverlap", MAX_OVERLAP_PX, DEFAULT_OVERLAP_PX)
        self.overlap.setToolTip("How far (px) the fill may blend over the original's edge")
        form.addRow("Aspect", self.aspect)
        form.addRow("Anchor", self.anchor)
        form.addRow("Overlap", self.overlap)
        for spin in (*self.sides.values(), self.overlap):
            spin.valueChanged.connect(self._changed)
        self.aspect.currentTextChanged.connect(self._changed)
        self.anchor.currentIndexChanged.connect(self._changed)
        self._changed()

    def _changed(self, *_args: object) -> None:
        per_side = not self.aspect_text()
        for spin in self.sides.values():
            spin.setEnabled(per_side)
        self.anchor.setEnabled(not per_side)
        self.changed.emit()

    def aspect_text(self) -> str:
        text = self.aspect.currentText().strip()
        index = self.aspect.findText(text)
        return str(self.aspect.itemData(index) or "") if index >= 0 else text

    def anchor_name(self) -> str:
        return str(self.anchor.currentData())

    def set_sides(self, left: int, top: int, right: int, bottom: int) -> None:
        self.aspect.setCurrentIndex(0)
        for side, value in zip(SIDES, (left, top, right, bottom), strict=True):
            self.sides[side].setValue(value)

    def borders(self, canvas: Extent) -> Borders:
        """The borders for a canvas of this size; ``InputError`` with core's reason."""
        aspect = self.aspect_text()
        if aspect:
            return borders_for_aspect(canvas, aspect, self.anchor_name())
        return check_borders(Borders(*(self.sides[side].value() for side in SIDES)))
