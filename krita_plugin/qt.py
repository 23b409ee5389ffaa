"""The one place that imports Qt, so the plug-in loads on Krita 5 (PyQt5) and Krita 6 (PyQt6).

Krita imports its own PyQt before any plug-in, so whichever binding is already loaded is the
right one; importing the other would load a second, incompatible Qt. Code elsewhere uses scoped
enums (``Qt.AlignmentFlag.AlignLeft``), which both bindings accept.
"""

from __future__ import annotations

import contextlib
import sys


def _binding() -> str:
    """The binding of the Qt that Krita runs on: "PyQt5" (Krita 5) or "PyQt6" (Krita 6).

    Krita's own ``krita`` module is built against one binding and loads it, so once it is
    imported the answer is in ``sys.modules``. Trying ``import PyQt5`` first would be wrong on
    Krita 6: its Python refuses PyQt5 ("This version of Krita is not compatible with PyQt5!"),
    or, where a system PyQt5 is also installed, loads a second Qt into the process.
    """
    for name in ("PyQt6", "PyQt5"):
        if f"{name}.QtCore" in sys.modules:
            return name
    # Outside Krita (unit tests, tools) this fails and whichever binding is installed is used.
    with contextlib.suppress(Exception):
        import krita  # noqa: F401  (loads Krita's binding)
    for name in ("PyQt6", "PyQt5"):
        if f"{name}.QtCore" in sys.modules:
            return name
    try:
        import PyQt5.QtCore  # noqa: F401
    except Exception:
        return "PyQt6"
    return "PyQt5"


QT_API = _binding()
QT_MAJOR = 6 if QT_API == "PyQt6" else 5

if QT_API == "PyQt5":
    from PyQt5.QtCore import (
        QBuffer,
        QByteArray,
        QEvent,
        QEventLoop,
        QIODevice,
        QObject,
        QSize,
        Qt,
        QThread,
        QTimer,
        pyqtSignal,
    )
    from PyQt5.QtGui import QIcon, QImage, QKeyEvent, QKeySequence, QPixmap
    from PyQt5.QtWidgets import (
        QAbstractItemView,
        QAction,
        QApplication,
        QCheckBox,
        QComboBox,
        QDialog,
        QDialogButtonBox,
        QFileDialog,
        QFormLayout,
        QGroupBox,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QListWidget,
        QListWidgetItem,
        QPlainTextEdit,
        QProgressBar,
        QPushButton,
        QScrollArea,
        QShortcut,
        QSizePolicy,
        QSpinBox,
        QToolButton,
        QVBoxLayout,
        QWidget,
    )
else:  # pragma: no cover - Krita 6
    from PyQt6.QtCore import (  # type: ignore[no-redef]
        QBuffer,
        QByteArray,
        QEvent,
        QEventLoop,
        QIODevice,
        QObject,
        QSize,
        Qt,
        QThread,
        QTimer,
        pyqtSignal,
    )
    from PyQt6.QtGui import (  # type: ignore[no-redef]
        QAction,
        QIcon,
        QImage,
        QKeyEvent,
        QKeySequence,
        QPixmap,
        QShortcut,
    )
    from PyQt6.QtWidgets import (  # type: ignore[no-redef]
        QAbstractItemView,
        QApplication,
        QCheckBox,
        QComboBox,
        QDialog,
        QDialogButtonBox,
        QFileDialog,
        QFormLayout,
        QGroupBox,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QListWidget,
        QListWidgetItem,
        QPlainTextEdit,
        QProgressBar,
        QPushButton,
        QScrollArea,
        QSizePolicy,
        QSpinBox,
        QToolButton,
        QVBoxLayout,
        QWidget,
    )


def pil_to_qimage(image) -> QImage:
    """A deep-copied QImage of a Pillow image (RGBA), safe after ``image`` is gone."""
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    qimage = QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888)
    return qimage.copy()


__all__ = [
    "QT_API",
    "QT_MAJOR",
    "QAbstractItemView",
    "QAction",
    "QApplication",
    "QBuffer",
    "QByteArray",
    "QCheckBox",
    "QComboBox",
    "QDialog",
    "QDialogButtonBox",
    "QEvent",
    "QEventLoop",
    "QFileDialog",
    "QFormLayout",
    "QGroupBox",
    "QHBoxLayout",
    "QIODevice",
    "QIcon",
    "QImage",
    "QKeyEvent",
    "QKeySequence",
    "QLabel",
    "QLineEdit",
    "QListWidget",
    "QListWidgetItem",
    "QObject",
    "QPixmap",
    "QPlainTextEdit",
    "QProgressBar",
    "QPushButton",
    "QScrollArea",
    "QShortcut",
    "QSize",
    "QSizePolicy",
    "QSpinBox",
    "QThread",
    "QTimer",
    "QToolButton",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "pil_to_qimage",
    "pyqtSignal",
]
