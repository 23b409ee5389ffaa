"""Let the docker's rows narrow to Krita's default dock width (about 260 px on a 1080p screen).

Qt gives every text button at least 80 px and every drop-down the width of its longest entry;
three buttons in a row, or a long entry, then make the docker's content wider than the dock,
and the whole docker scrolls sideways. Here buttons may shrink to their own text, drop-downs
to a few characters (Qt elides the rest), and the cost lines wrap. Where there is room, every
widget keeps its usual size.
"""

from __future__ import annotations

from .qt import QComboBox, QLabel, QPushButton, QWidget

#: A button's frame and margins around its text (Fusion and Krita's styles need about this).
BUTTON_PAD_PX = 12
#: The narrowest a drop-down gets: a few characters and its arrow.
COMBO_PX = 90
#: Labels whose text grows with the job (costs, estimates): they wrap instead of widening.
WRAPPING = ("gptImageEstimate", "gptImageCost", "gptImageCompareEstimate")


def let_rows_narrow(root: QWidget) -> None:
    for button in root.findChildren(QPushButton):
        text = button.text().replace("&", "")
        button.setMinimumWidth(button.fontMetrics().horizontalAdvance(text) + BUTTON_PAD_PX)
    for combo in root.findChildren(QComboBox):
        combo.setMinimumWidth(COMBO_PX)
    for label in root.findChildren(QLabel):
        if label.objectName() in WRAPPING:
            label.setWordWrap(True)
