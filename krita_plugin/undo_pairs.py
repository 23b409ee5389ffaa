"""Two undo commands that the person undoes and redoes as one step: one mechanism for all.

Krita's Python API has no undo macro. A flip of a result layer is two commands (add the new
layer, remove the old one), an expand is two (resize the canvas, add the fill layer). After the
person's Undo or Redo stops between the two, the pair takes the other half at once (one more
Undo or Redo), so each change is one step for the person. One hook on Krita's ``edit_undo`` and
``edit_redo`` serves every kind of pair; a pair only says when it is half done
(``half_done``), what it then knows (``completed``), and whether it is completed inside Krita's
Undo/Redo signal (an expand, as before) or once the event loop is back (a flip). A deferred one
never runs inside another wait of Krita's (``waitForDone``), which Krita would abort.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from .qt import QTimer

log = logging.getLogger(__name__)
#: Pairs remembered (the oldest are dropped): far more than anyone undoes in one go.
KEPT = 200


class Pair(Protocol):
    doc: Any
    #: Completed inside the Undo/Redo signal itself (an expand: Krita's own step is done by
    #: then), or once the event loop is back (a flip: after Krita has settled the layers).
    immediate: bool

    def half_done(self, direction: str) -> bool:
        """After an ``undo`` or ``redo``: is this pair's other half still to be taken?"""
        ...

    def completed(self, direction: str) -> None:
        """The other half was taken (the document is done with it)."""
        ...


def alive(doc: Any) -> bool:
    try:
        return doc.rootNode() is not None
    except RuntimeError:
        return False


class UndoPairs:
    """The pairs of every open document, and the one hook that completes them."""

    def __init__(self) -> None:
        self.pairs: list[Pair] = []
        self._busy = False
        self._hooked = False

    def add(self, pair: Pair) -> None:
        self._hook()
        self.pairs = [p for p in self.pairs if alive(p.doc)][-KEPT:]
        self.pairs.append(pair)

    def _hook(self) -> None:
        if self._hooked:
            return
        from krita import Krita

        app = Krita.instance()
        for direction in ("undo", "redo"):
            action = app.action(f"edit_{direction}")
            if action is not None:
                action.triggered.connect(lambda _c=False, d=direction: self._after(d))
        self._hooked = True

    def _after(self, direction: str) -> None:
        if self._busy:  # the step this class takes itself
            return
        if not self.settle(direction, immediate=True):
            QTimer.singleShot(0, lambda: self.settle(direction, immediate=False))

    def settle(self, direction: str, *, immediate: bool) -> bool:
        """After an undo/redo: complete the newest pair of that timing it left half done;
        whether there was one."""
        if self._busy:
            return False
        from krita import Krita

        self._busy = True
        try:
            active = Krita.instance().activeDocument()  # the one Undo and Redo act on
            for pair in reversed(self.pairs):
                if pair.immediate != immediate or not alive(pair.doc) or pair.doc != active:
                    continue
                pair.doc.waitForDone()
                if pair.half_done(direction):
                    Krita.instance().action(f"edit_{direction}").trigger()
                    pair.doc.waitForDone()
                    pair.completed(direction)
                    return True
        finally:
            self._busy = False
        return False


UNDO_PAIRS = UndoPairs()
