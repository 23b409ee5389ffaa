"""The result strip: thumbnails of the active result layer's variants, round by round.

Each thumbnail says which round and variant it is (``2.1`` = the first image of the first
refine), the model and quality, the seconds the job took and what one image of it cost. A click
shows that variant on the layer (in place, one undo step); Previous / Next do the same by step.
"Keep all as layers" and "Keep this one" end the comparison; "Refine" edits the shown variant
with the prompt box as the follow-up. Widgets only: the docker decides what happens.
"""

from __future__ import annotations

import logging
from typing import Any

from .core.pricing import money
from .core.variants import ResultStack
from .qt import (
    QHBoxLayout,
    QIcon,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)
from .thumbnails import ThumbnailList, thumbnail

log = logging.getLogger(__name__)
THUMB_PX = 64


def item_text(stack: ResultStack, flat: int) -> str:
    """'2.1 MODEL QUALITY\\n4.2 s · $0.011' for variant ``flat`` (0-based) of ``stack``."""
    item = stack.variants()[flat]
    info = item.info
    head = f"{item.round + 1}.{item.position + 1} {info.model} {info.quality}".strip()
    facts = []
    if info.seconds is not None:
        facts.append(f"{info.seconds:.1f} s")
    per_image = info.cost_per_image
    if per_image is not None:
        facts.append(money(per_image))
    return head + ("\n" + " · ".join(facts) if facts else "")


#: ◀ ▶ need no more (Qt gives a text button 80 px at least).
ARROW_PX = 40


class ResultsStrip(QWidget):
    """``gptImageResults`` and its buttons; ``show_requested(flat index)`` on a click."""

    show_requested = pyqtSignal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("gptImageResultsPanel")
        self.stack: ResultStack | None = None
        self.layer_key: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Results: select a GPT result layer to compare its variants")
        self.title.setObjectName("gptImageResultsTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.list = ThumbnailList("gptImageResults", THUMB_PX)
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setGridSize(QSize(THUMB_PX + 64, THUMB_PX + 40))
        self.list.setWordWrap(True)
        self.list.setMinimumHeight(THUMB_PX + 48)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.previous_button = QPushButton("◀")
        self.previous_button.setObjectName("gptImagePreviousVariant")
        self.previous_button.setToolTip("Show the previous variant (Ctrl+Alt+Shift+P)")
        self.next_button = QPushButton("▶")
        self.next_button.setObjectName("gptImageNextVariant")
        self.next_button.setToolTip("Show the next variant (Ctrl+Alt+Shift+N)")
        self.keep_one_button = QPushButton("Keep this one")
        self.keep_one_button.setObjectName("gptImageKeepOne")
        self.keep_one_button.setToolTip(
            "Drop the other variants from this layer (they stay in History)"
        )
        self.keep_all_button = QPushButton("Keep all as layers")
        self.keep_all_button.setObjectName("gptImageKeepAll")
        self.keep_all_button.setToolTip("Turn every variant into its own layer, in a group")
        # two short rows, so the strip fits Krita's default dock width (no sideways scrolling)
        for button in (self.previous_button, self.next_button):
            button.setMaximumWidth(ARROW_PX)
            row.addWidget(button)
        row.addWidget(self.keep_one_button, 1)
        layout.addLayout(row)
        layout.addWidget(self.keep_all_button)
        self.refine_button = QPushButton("Refine this result")
        self.refine_button.setObjectName("gptImageRefine")
        self.refine_button.setToolTip(
            "Edit the shown variant again through the same selection, with the prompt box as "
            "the follow-up (the original instruction is kept)"
        )
        layout.addWidget(self.refine_button)
        self.list.currentRowChanged.connect(self._on_row)
        self.set_stack(None, None, "")

    def _on_row(self, row: int) -> None:
        if self.stack is not None and 0 <= row < self.stack.count and row != self.stack.position:
            self.show_requested.emit(row)

    def set_stack(self, stack: ResultStack | None, layer_key: str | None, layer_name: str) -> None:
        """Show ``stack`` (the active result layer's) or, with None, explain what the strip is."""
        same = stack == self.stack and layer_key == self.layer_key
        self.stack, self.layer_key = stack, layer_key
        enabled = stack is not None
        for button in (
            self.previous_button,
            self.next_button,
            self.keep_one_button,
            self.keep_all_button,
            self.refine_button,
        ):
            button.setEnabled(enabled)
        if same and (stack is None or self.list.count() == stack.count):
            return
        self.list.blockSignals(True)
        try:
            self.list.clear()
            if stack is None:
                self.title.setText("Results: select a GPT result layer to compare its variants")
                return
            rounds = len(stack.rounds)
            self.title.setText(
                f"{layer_name}: {stack.count} variant(s) in {rounds} round(s); "
                f"showing {stack.current.round + 1}.{stack.current.position + 1}"
            )
            history = _LazyHistory()  # read only for a thumbnail not made yet
            for flat, variant in enumerate(stack.variants()):
                item = QListWidgetItem(self._icon(history, variant.history_id, variant.index),
                                       item_text(stack, flat))  # fmt: skip
                item.setToolTip(f"{variant.label()}\n{variant.info.prompt}")
                item.setData(Qt.ItemDataRole.UserRole, flat)
                self.list.addItem(item)
            self.list.setCurrentRow(stack.position)
        finally:
            self.list.blockSignals(False)

    def _icon(self, history: _LazyHistory, history_id: str, index: int) -> QIcon:
        def make() -> Any | None:
            if history.get() is None:
                return None
            try:
                images = history.get().get(history_id).images
            except Exception:  # a deleted entry: no thumbnail, the label still says what it is
                return None
            return thumbnail(images[index], THUMB_PX) if index < len(images) else None

        return self.list.icon(f"{history_id}/{index}", make)


class _LazyHistory:
    """History, read from the settings the first time a thumbnail needs it (None if it can't)."""

    def __init__(self) -> None:
        self._history: Any = None
        self._read = False

    def get(self) -> Any | None:
        if not self._read:
            from .core.history import History
            from .core.settings import load_settings

            self._read = True
            try:
                self._history = History.from_settings(load_settings())
            except Exception as error:  # thumbnails are a convenience
                log.warning("History unavailable for thumbnails: %s", error)
        return self._history


def result_thumbnails(history_id: str, images: list[Any]) -> dict[str, Any]:
    """The strip's thumbnails of a job's decoded results (any thread: the worker makes them
    after a job, so showing the new layer's variants decodes nothing on the UI thread)."""
    return {f"{history_id}/{i}": thumbnail(image, THUMB_PX) for i, image in enumerate(images)}
