"""History in the docker: thumbnails of past results with prompt and cost.

Insert puts a past result into the current document again (as new layers at the place it was
made for, unmasked); Reuse copies its prompt and settings back into the form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .core import jobs
from .core.history import History
from .core.pipeline import LayerPatch
from .core.pricing import record_cost
from .core.settings import load_settings
from .qt import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)
from .thumbnails import ThumbnailList, thumbnail

log = logging.getLogger(__name__)
THUMB_PX = 56
SHOWN = 30


@dataclass(frozen=True)
class HistoryView:
    """What the list shows, read from disk (any thread): records and new thumbnails."""

    records: list[Any]
    thumbnails: dict[str, Any]


def load_view(known: frozenset[str] = frozenset()) -> HistoryView:
    """The newest jobs that produced images, with thumbnails for those not in ``known``; off
    the UI thread after a job (listing reads every job.json, thumbnails decode images)."""
    try:
        history = History.from_settings(load_settings())
        records = [r for r in history.list() if r.images][:SHOWN]
    except Exception as error:  # history is a convenience: never break the docker
        log.warning("History unavailable: %s", error)
        records = []
    thumbnails = {r.id: thumbnail(r.images[0], THUMB_PX) for r in records if r.id not in known}
    return HistoryView(records, thumbnails)


def _label(record: Any) -> str:
    data = record.data
    money = record_cost(data) or record.status
    prompt = " ".join(record.prompt.split())
    prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    return f"{prompt}\n{data.get('mode', '')} · {money}"


class HistoryPanel(QWidget):
    insert_requested = pyqtSignal(object)
    reuse_requested = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[Any] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QHBoxLayout()  # Refresh beside the title: the button row fits a narrow docker
        title.addWidget(QLabel("History"), 1)
        layout.addLayout(title)
        self.list = ThumbnailList("gptImageHistoryList", THUMB_PX)  # icons decoded once per job
        self.list.setMinimumHeight(120)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.insert_button = QPushButton("Insert again")
        self.insert_button.setObjectName("gptImageHistoryInsert")
        self.reuse_button = QPushButton("Reuse prompt")
        self.reuse_button.setObjectName("gptImageHistoryReuse")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("gptImageHistoryRefresh")
        title.addWidget(self.refresh_button)
        for button in (self.insert_button, self.reuse_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.insert_button.clicked.connect(lambda: self._emit(self.insert_requested))
        self.reuse_button.clicked.connect(lambda: self._emit(self.reuse_requested))
        self.refresh_button.clicked.connect(self.refresh)
        self.list.itemDoubleClicked.connect(lambda *_: self._emit(self.reuse_requested))

    def _emit(self, signal: Any) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.records):
            signal.emit(self.records[row])

    @property
    def known(self) -> frozenset[str]:
        """Jobs whose thumbnails are decoded already."""
        return self.list.known

    def refresh(self) -> None:
        """Reload the newest jobs that produced images."""
        self.show_view(load_view(self.known))

    def show_view(self, view: HistoryView) -> None:
        """Show what ``load_view`` read (UI thread: only widgets are made here)."""
        self.records = view.records
        self.list.clear()
        self.list.take(view.thumbnails)
        for record in view.records:
            item = QListWidgetItem(self.list.icon(record.id), _label(record))
            item.setToolTip(record.prompt)
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            self.list.addItem(item)

    def patches_for(self, record: Any) -> list[LayerPatch]:
        """A past job's results as layers at the place they were made for (core decides)."""
        return jobs.patches_from_history(record)
