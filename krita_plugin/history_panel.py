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


def _lines(record: Any) -> tuple[str, str]:
    """An entry's two lines in full, the prompt on one line and 'mode · cost' (the list elides
    them to its width)."""
    data = record.data
    money = record_cost(data) or record.status
    return " ".join(record.prompt.split()), f"{data.get('mode', '')} · {money}"


#: Beside an entry's text: the icon's and the text's margins in Qt's item delegate (the focus
#: frame's margin and one pixel on each side of each, ~3 px in Krita's styles), with room to spare.
TEXT_PAD_PX = 16


class HistoryList(ThumbnailList):
    """The history's thumbnails, each entry's lines elided on the right to the view's width
    (again on every resize; the full text is the tooltip), so a long prompt never makes the
    list scroll sideways in a narrow dock."""

    def __init__(self, object_name: str, px: int, parent: Any = None) -> None:
        super().__init__(object_name, px, parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._texts: list[str] = []  # each row's full text

    def clear(self) -> None:
        super().clear()
        self._texts = []

    def add_entry(self, icon: Any, text: str, tooltip: str, key: str) -> None:
        """A row showing ``text`` elided, ``key`` (a job id) as its data."""
        item = QListWidgetItem(icon, self.elided(text))
        item.setToolTip(tooltip)
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.addItem(item)
        self._texts.append(text)

    def text_width(self) -> int:
        """The pixels an entry's text gets: the list's inside less the icon, the margins and
        the vertical scroll bar, shown or not (it comes and goes with the entries, and the
        list gets no resize for it)."""
        inside = self.contentsRect().width() - self.verticalScrollBar().sizeHint().width()
        return max(0, inside - self.iconSize().width() - TEXT_PAD_PX)

    def elided(self, text: str) -> str:
        """``text`` with each line cut on the right (…) to ``text_width``."""
        metrics, width = self.fontMetrics(), self.text_width()
        return "\n".join(
            metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
            for line in text.split("\n")
        )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        for row, text in enumerate(self._texts):
            item = self.item(row)
            if item is not None:
                item.setText(self.elided(text))


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
        self.list = HistoryList("gptImageHistoryList", THUMB_PX)  # icons decoded once per job
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
            prompt, facts = _lines(record)
            tooltip = f"{record.prompt}\n{facts}"  # the prompt as typed, line breaks and all
            self.list.add_entry(self.list.icon(record.id), f"{prompt}\n{facts}", tooltip, record.id)

    def patches_for(self, record: Any) -> list[LayerPatch]:
        """A past job's results as layers at the place they were made for (core decides)."""
        return jobs.patches_from_history(record)
