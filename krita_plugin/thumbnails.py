"""Lists of result thumbnails (the results strip, History): one set-up for both.

A thumbnail is made as a ``QImage`` on any thread (the worker, after a job: no decode on the
UI thread) and becomes an icon on the UI thread once (``QPixmap`` may only be made there);
each list keeps its icons by key, so showing the list again decodes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from .qt import QIcon, QListWidget, QPixmap, QSize, pil_to_qimage

log = logging.getLogger(__name__)


def thumbnail(source: Path | Image.Image, px: int) -> Any | None:
    """A ``px``-square thumbnail ``QImage`` of an image file or a decoded picture (None if the
    file can't be read). Any thread."""
    try:
        if isinstance(source, Image.Image):
            image = source.copy() if source.mode in ("RGB", "RGBA") else source.convert("RGBA")
            image.thumbnail((px, px), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return pil_to_qimage(image.convert("RGBA"))
        with Image.open(source) as opened:
            opened.draft("RGB", (px * 2, px * 2))  # JPEG: decode at reduced size
            opened.thumbnail((px, px), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return pil_to_qimage(opened.convert("RGBA"))
    except (OSError, ValueError) as error:
        log.info("No thumbnail of %s: %s", source, error)
        return None


class ThumbnailList(QListWidget):
    """A list of ``px`` thumbnails named ``object_name``, with its icons kept by key."""

    def __init__(self, object_name: str, px: int, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setIconSize(QSize(px, px))
        self.px = px
        self.icons: dict[str, QIcon] = {}

    @property
    def known(self) -> frozenset[str]:
        """Keys whose icons are made already."""
        return frozenset(self.icons)

    def take(self, thumbnails: dict[str, Any]) -> None:
        """Icons from thumbnails made elsewhere (``thumbnail``, e.g. on the worker)."""
        for key, image in thumbnails.items():
            if key not in self.icons:
                self.icons[key] = QIcon(QPixmap.fromImage(image)) if image is not None else QIcon()

    def icon(self, key: str, make: Callable[[], Any | None] | None = None) -> QIcon:
        """The icon of ``key``; made from ``make()`` (a thumbnail ``QImage``) the first time."""
        icon = self.icons.get(key)
        if icon is None:
            if make is None:
                return QIcon()
            self.take({key: make()})
            icon = self.icons[key]
        return icon
