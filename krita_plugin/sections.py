"""A collapsible docker section: a header button that shows or hides its content.

The docker stacks its parts (results, history) in sections so that on a 1080 px screen a
person folds away what they don't need and Krita's own dockers keep their room.
"""

from __future__ import annotations

from .qt import Qt, QToolButton, QVBoxLayout, QWidget


class Section(QWidget):
    def __init__(self, title: str, content: QWidget, name: str, *, open_: bool = True) -> None:
        super().__init__()
        self.setObjectName(name)
        self.content = content
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.toggle = QToolButton()
        self.toggle.setObjectName(f"{name}Toggle")
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(open_)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self.set_open)
        layout.addWidget(self.toggle)
        layout.addWidget(content)
        self.set_open(open_)

    def set_open(self, open_: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        if self.toggle.isChecked() != open_:
            self.toggle.setChecked(open_)
        self.content.setVisible(open_)

    @property
    def is_open(self) -> bool:
        return self.toggle.isChecked()
