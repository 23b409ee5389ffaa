"""core.pixels against Krita's own colour conversion: byte order, depth and transfer curve.

A known 8-bit picture is converted by Krita itself (``Document.setColorSpace``) to each depth;
the plug-in's reader must give back the same colours, and what it writes must convert back to
them. A channel swap or a missing linear-light curve fails here even though edit tests, which
only look at "changed inside, identical outside", would pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from gpt_image.qt import QByteArray
from krita import Krita

#: (R, G, B, A) 8-bit sRGB: primaries, a mid colour, a half-transparent one.
COLOURS = [
    (255, 0, 0, 255),
    (0, 255, 0, 255),
    (0, 0, 255, 255),
    (200, 80, 40, 255),
    (30, 160, 90, 128),
]


def bgra(colours: list[tuple[int, int, int, int]]) -> bytes:
    return b"".join(bytes((b, g, r, a)) for r, g, b, a in colours)


SRGB_8 = ("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc")


def as_srgb8(doc, node_index: int = 0) -> np.ndarray:
    """Krita's own conversion of a document copy to 8-bit sRGB, as (R, G, B, A) rows."""
    copy = doc.clone()
    try:
        assert copy.setColorSpace(*SRGB_8)
        copy.waitForDone()
        node = copy.rootNode().childNodes()[node_index]
        raw = np.frombuffer(bytes(node.pixelData(0, 0, copy.width(), 1)), np.uint8)
        return raw.reshape(-1, 4)[:, [2, 1, 0, 3]].astype(int)
    finally:
        copy.setModified(False)
        copy.close()


@pytest.mark.parametrize(
    ("model", "depth", "profile"),
    [
        ("RGBA", "U16", "sRGB-elle-V2-srgbtrc.icc"),
        ("RGBA", "F16", "sRGB-elle-V2-g10.icc"),
        ("RGBA", "F32", "sRGB-elle-V2-g10.icc"),
        ("RGBA", "F32", "sRGB-elle-V2-srgbtrc.icc"),
        ("GRAYA", "U8", "Gray-D50-elle-V2-srgbtrc.icc"),
        ("GRAYA", "U16", "Gray-D50-elle-V2-srgbtrc.icc"),
    ],
)
def test_reader_and_writer_agree_with_krita(model: str, depth: str, profile: str) -> None:
    from gpt_image import document
    from gpt_image.core.geometry import Bounds
    from gpt_image.core.pixels import to_host

    width = len(COLOURS)
    doc = Krita.instance().createDocument(width, 1, "formats", *SRGB_8, 72.0)
    try:
        layer = doc.rootNode().childNodes()[0]
        layer.setPixelData(QByteArray(bgra(COLOURS)), 0, 0, width, 1)
        assert doc.setColorSpace(model, depth, profile), f"Krita refused {model}/{depth}/{profile}"
        doc.waitForDone()
        assert (doc.colorModel(), doc.colorDepth()) == (model, depth)

        color = document.color_info(doc)
        image = document.crop_reader(doc, layer, document.SOURCE_LAYER, color)(
            Bounds(0, 0, width, 1)
        )
        got = np.asarray(image, dtype=int)[0]
        reference = as_srgb8(doc)
        assert np.abs(got - reference).max() <= 2, (
            doc.colorProfile(),
            got.tolist(),
            reference.tolist(),
        )
        if model == "RGBA":
            assert np.abs(got - np.array(COLOURS)).max() <= 2, got.tolist()

        # Written back in this format, Krita's own conversion must give the same colours again.
        out = doc.createNode("written", "paintlayer")
        doc.rootNode().addChildNode(out, None)
        out.setPixelData(QByteArray(to_host(image, color.fmt, linear=color.linear)), 0, 0, width, 1)
        doc.waitForDone()
        written = as_srgb8(doc, node_index=1)
        assert np.abs(written - got).max() <= 2, (written.tolist(), got.tolist())
    finally:
        doc.setModified(False)
        doc.close()
