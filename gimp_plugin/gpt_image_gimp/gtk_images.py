"""PIL images and image files as GTK pixbufs (thumbnails, previews). Main thread only.

Decoding goes through Pillow, not GdkPixbuf's loaders, so every format history may hold (PNG,
JPEG, WebP) shows even where GIMP's GdkPixbuf lacks a loader for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gi

gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, GLib  # noqa: E402


def pixbuf_from_pil(image: Any, max_px: int) -> GdkPixbuf.Pixbuf:
    """``image`` scaled to fit ``max_px`` (never up), as an RGBA pixbuf."""
    preview = image.convert("RGBA")
    preview.thumbnail((max_px, max_px))
    data = GLib.Bytes.new(preview.tobytes())
    width, height = preview.size
    return GdkPixbuf.Pixbuf.new_from_bytes(
        data, GdkPixbuf.Colorspace.RGB, True, 8, width, height, width * 4
    )


def thumbnail(path: Path, max_px: int) -> GdkPixbuf.Pixbuf | None:
    """A thumbnail of the image file ``path``; None when it can't be read (a deleted file)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (max_px * 2, max_px * 2))  # JPEG: decode at a reduced size
            image.thumbnail((max_px, max_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return pixbuf_from_pil(image, max_px)
    except (OSError, ValueError):
        return None
