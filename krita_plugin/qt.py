"""The one place that imports Qt, so the plug-in loads on Krita 5 (PyQt5) and Krita 6 (PyQt6).

Krita imports its own PyQt before any plug-in, so whichever binding is already loaded is the
right one; importing the other would load a second, incompatible Qt. Code elsewhere uses scoped
enums (``Qt.AlignmentFlag.AlignLeft``), which both bindings accept.
"""

from __future__ import annotations

import sys

if "PyQt6.QtCore" in sys.modules:
    QT_API = "PyQt6"
else:
    try:
        import PyQt5.QtCore  # noqa: F401

        QT_API = "PyQt5"
    except ImportError:  # Krita 6 without anything loaded yet
        QT_API = "PyQt6"

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
    from PyQt5.QtGui import QIcon, QImage, QKeySequence, QPixmap
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
        QShortcut,
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
    "QShortcut",
    "QSize",
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
