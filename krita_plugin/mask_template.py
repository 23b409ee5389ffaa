"""Krita 5.1: transparency masks that hold pixels, by way of a one-mask document.

Krita 5.1's Python API can create a transparency mask node, but never gives it a selection, so
it has nowhere to keep pixels (5.2 added ``Document.createTransparencyMask`` and
``TransparencyMask.setSelection``). A mask *loaded from a .kra file* does have a selection, and
``Node.duplicate()`` copies it along. So: write a 1×1 document whose only layer carries one
empty transparency mask, open it without a view (batch mode, so never a dialog), duplicate the
mask, close the document, and write the blend mask into the copy. The copy then goes into the
detached result layer exactly like a 5.2 mask, and a job stays one undo step.

The template is the smallest file Krita 5.1 loads without a warning: ``maindoc.xml``, the
layer's empty tiled device with its default pixel and ICC profile, and the mask's empty pixel
selection (default 0: nothing outside the patch).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from functools import lru_cache
from typing import Any

MIMETYPE = b"application/x-krita"
TEMPLATE_NAME = "gpt-image-mask"

MAINDOC = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE DOC PUBLIC '-//KDE//DTD krita 2.0//EN' 'http://www.calligra.org/DTD/krita-2.0.dtd'>
<DOC xmlns="http://www.calligra.org/DTD/krita" syntaxVersion="2.0" editor="Krita" kritaVersion="5.1.0">
 <IMAGE name="{TEMPLATE_NAME}" width="1" height="1" mime="application/x-kra" colorspacename="RGBA"
        profile="sRGB-elle-V2-srgbtrc.icc" x-res="72" y-res="72" description="">
  <layers>
   <layer nodetype="paintlayer" name="layer" filename="layer1" x="0" y="0" visible="1"
          opacity="255" compositeop="normal" colorspacename="RGBA" locked="0" collapsed="0"
          channelflags="" channellockflags="" intimeline="0" colorlabel="0">
    <masks>
     <mask nodetype="transparencymask" name="mask" filename="mask1" x="0" y="0" visible="1"
           locked="0" intimeline="0" colorlabel="0"/>
    </masks>
   </layer>
  </layers>
 </IMAGE>
</DOC>
"""


def _empty_device(pixel_size: int) -> bytes:
    """Krita's tiled paint-device format with no tiles: every pixel is the default pixel."""
    return f"VERSION 2\nTILEWIDTH 64\nTILEHEIGHT 64\nPIXELSIZE {pixel_size}\nDATA 0\n".encode(
        "ascii"
    )


def _srgb_profile() -> bytes:
    """An sRGB ICC profile for the template layer (Krita 5.1 insists on one per paint layer)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@lru_cache(maxsize=1)
def template_kra() -> bytes:
    """The one-mask .kra file, as bytes (``mimetype`` first and stored, as ODF requires)."""
    layers = f"{TEMPLATE_NAME}/layers/"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as kra:
        kra.writestr("mimetype", MIMETYPE, compress_type=zipfile.ZIP_STORED)
        kra.writestr("maindoc.xml", MAINDOC)
        kra.writestr(layers + "layer1", _empty_device(4))
        kra.writestr(layers + "layer1.defaultpixel", bytes(4))
        kra.writestr(layers + "layer1.icc", _srgb_profile())
        kra.writestr(layers + "mask1.pixelselection", _empty_device(1))
        kra.writestr(layers + "mask1.pixelselection.defaultpixel", bytes(1))
    return buffer.getvalue()


def _open_quietly(app: Any, path: str) -> Any | None:
    """``Krita.openDocument`` in batch mode: a load problem returns None instead of a dialog."""
    was_batch = app.batchmode()
    app.setBatchmode(True)
    try:
        return app.openDocument(path)
    finally:
        app.setBatchmode(was_batch)


def _load_prototype(app: Any) -> Any | None:
    """The template's mask, copied out of the (then closed) template document."""
    with tempfile.TemporaryDirectory(prefix="gpt-image-") as folder:
        path = os.path.join(folder, "mask.kra")
        with open(path, "wb") as file:
            file.write(template_kra())
        doc = _open_quietly(app, path)
    if doc is None:
        return None
    try:
        for layer in doc.rootNode().childNodes():
            for child in layer.childNodes():
                if child.type() == "transparencymask":
                    return child.duplicate()
        return None
    finally:
        doc.close()


_prototype: Any | None = None


def empty_transparency_mask(app: Any) -> Any | None:
    """A detached transparency mask with a selection (all 0), or None if Krita can't make one.

    The template is loaded once per session (loading runs a nested event loop); every later
    mask is a copy of the first.
    """
    global _prototype
    if _prototype is None:
        _prototype = _load_prototype(app)
    return None if _prototype is None else _prototype.duplicate()
