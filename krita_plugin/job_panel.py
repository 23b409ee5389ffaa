"""The docker's job area: Generate / Cancel and the estimate, then the status box (progress,
elapsed time, cost, status), and the streamed previews. Widgets only: the docker decides what
happens when, and where: the panel stays in sight above the scrolling options, the preview
(``preview``, up to 240 px tall) is not in the panel's layout: the docker puts it at the top of
the options."""

from __future__ import annotations

import logging
import time
from typing import Any

from .core.naming import elapsed_text
from .form import status_label
from .qt import (
    QHBoxLayout,
    QLabel,
    QPixmap,
    QProgressBar,
    QPushButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    pil_to_qimage,
)

log = logging.getLogger(__name__)
PREVIEW_PX = 240


def _set_progress(bar: QProgressBar, maximum: int, value: int) -> None:
    """Set ``bar``'s range 0..``maximum`` (0: busy) and value, repainted in Qt's own time.

    ``QProgressBar.setRange``/``setValue`` repaint at once, and in Krita a synchronous repaint
    of any widget of the window composes the whole window with its canvas: 150-190 ms of the
    Generate click on an 8192² document in Krita 5.3. With updates off while it changes, the
    bar only schedules an ordinary update when they are back on."""
    bar.setUpdatesEnabled(False)
    try:
        bar.setRange(0, maximum)
        bar.setValue(value)
    finally:
        bar.setUpdatesEnabled(True)


class _ShownWhenSet(QLabel):
    """A label that takes no room while it has no text: the panel stays in sight above the
    options, and in a short dock every empty line it kept is a line of options less."""

    def __init__(self) -> None:
        super().__init__("")
        self.setVisible(False)

    def setText(self, text: str) -> None:  # Qt's name, called from Python only
        super().setText(text)
        self.setVisible(bool(text))


class JobPanel(QWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)  # it stays in sight in a short dock: every row of room counts
        self._started: float | None = None

        row = QHBoxLayout()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("gptImageGenerate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("gptImageCancel")
        self.cancel_button.setEnabled(False)
        self.estimate_label = QLabel("")
        self.estimate_label.setObjectName("gptImageEstimate")
        self.estimate_label.setToolTip("Estimated cost of this request")
        row.addWidget(self.generate_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.estimate_label)
        layout.addLayout(row)

        # the job's state, under Generate: progress, elapsed time and cost, the status line
        self.status_box = QWidget()
        self.status_box.setObjectName("gptImageStatusBox")
        box = QVBoxLayout(self.status_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        layout.addWidget(self.status_box)
        self.progress = QProgressBar()
        self.progress.setObjectName("gptImageProgress")
        self.progress.setVisible(False)
        box.addWidget(self.progress)
        info = QHBoxLayout()
        self.elapsed_label = _ShownWhenSet()
        self.elapsed_label.setObjectName("gptImageElapsed")
        self.cost_label = _ShownWhenSet()
        self.cost_label.setObjectName("gptImageCost")
        info.addWidget(self.elapsed_label)
        info.addWidget(self.cost_label)
        box.addLayout(info)
        self.status = status_label("gptImageStatus")
        self.status.setVisible(False)  # until there is something to say (show_message)
        box.addWidget(self.status)
        self.preview = QLabel()  # placed by the docker (see the module's docstring)
        self.preview.setObjectName("gptImagePreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setVisible(False)

        self._tick = QTimer(self)
        self._tick.setInterval(100)
        self._tick.timeout.connect(self._update_elapsed)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """The status line (errors in red); every message also goes to the plug-in's log."""
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        self.status.setText(text)
        self.status.setVisible(bool(text))
        (log.warning if error else log.info)("%s", text)

    def set_estimate(self, text: str, tooltip: str) -> None:
        self.estimate_label.setText(text)
        self.estimate_label.setToolTip(tooltip)

    def set_running(self, started: float | None) -> None:
        """``started`` (a ``time.monotonic()``) while a job runs, None once it is over."""
        running = started is not None
        self._started = started
        self.generate_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            _set_progress(self.progress, 0, 0)  # busy until the first image arrives
        self.progress.setVisible(running)
        if running:
            self.preview.clear()
            self.preview.setVisible(False)
            self._tick.start()
        else:
            self._tick.stop()

    def show_received(self, count: int, total: int) -> None:
        _set_progress(self.progress, total, min(total, count))

    def show_preview(self, image: Any) -> None:
        pixmap = QPixmap.fromImage(pil_to_qimage(image))
        self.preview.setPixmap(
            pixmap.scaled(
                PREVIEW_PX,
                PREVIEW_PX,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.preview.setVisible(True)

    def _update_elapsed(self) -> None:
        if self._started is not None:
            self.elapsed_label.setText(elapsed_text(time.monotonic() - self._started))
