"""PNGs written in bands decode to exactly the picture (Pillow reads them), any band layout."""

from __future__ import annotations

import io
import os
import zlib

import pytest
from PIL import Image, ImageCms

from core import png_bands
from core.png_bands import BandedPng, adler32_combine


@pytest.mark.parametrize("sizes", [(0, 5), (7, 0), (1, 1), (65521, 3), (100000, 70000)])
def test_adler32_combine_is_zlibs(sizes):
    first, second = os.urandom(sizes[0]), os.urandom(sizes[1])
    combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)


def picture(size, mode):
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    image.paste(Image.linear_gradient("L").resize((size[0], max(1, size[1] // 2))).convert("RGB"))
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(size))
    return image


def write(banded: BandedPng) -> bytes:
    buffer = io.BytesIO()
    banded.writer()(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (37, 5), (640, 480), (301, 1001)])
@pytest.mark.parametrize("changing", [(0, 0), (0, 10**6), (3, 4), (130, 390), (-5, 2)])
@pytest.mark.parametrize("level", [0, 1, 9])
def test_decodes_to_the_picture(mode, size, changing, level):
    image = picture(size, mode)
    with BandedPng(image, changing, level=level) as banded:
        data = write(banded.start())
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.mode == mode and decoded.size == size
        assert decoded.tobytes() == image.tobytes()


def test_rows_outside_the_changing_band_are_compressed_once_for_every_variant(monkeypatch):
    image = picture((400, 700), "RGB")
    calls = []
    real = png_bands._piece
    monkeypatch.setattr(png_bands, "_piece", lambda *a: calls.append(a[1:3]) or real(*a))
    with BandedPng(image, (300, 420), level=1) as banded:
        banded.start()
        files = []
        for shade in (10, 200):
            image.paste((shade, shade, shade), (50, 300, 350, 420))
            files.append((write(banded), image.copy()))
    for data, want in files:
        with Image.open(io.BytesIO(data)) as decoded:
            assert decoded.tobytes() == want.tobytes()
    outside = [band for band in calls if band[1] <= 300 or band[0] >= 420]
    assert len(outside) == len(set(outside))  # each once, not once per file


def test_icc_profile_is_embedded():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = picture((64, 48), "RGB")
    with BandedPng(image, (0, 48), icc_profile=icc) as banded:
        data = write(banded.start())
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.info.get("icc_profile") == icc
        assert decoded.tobytes() == image.tobytes()


def test_rgba_written_as_rgb_band_by_band():
    image = picture((300, 500), "RGBA")
    with BandedPng(image, (0, 500), mode="RGB") as banded:
        data = write(banded.start())
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.mode == "RGB"
        assert decoded.tobytes() == image.convert("RGB").tobytes()


def test_other_modes_are_refused():
    with pytest.raises(ValueError):
        BandedPng(Image.new("L", (4, 4)), (0, 4))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("strategy", [zlib.Z_DEFAULT_STRATEGY, zlib.Z_RLE])
def test_encode_gives_the_file_of_the_picture(mode, strategy):
    """``encode`` (the upload picture and mask of every job) is a whole PNG file in bands."""
    image = picture((333, 290), mode)
    data = png_bands.encode(image, 1, strategy)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG" and decoded.mode == mode
        assert decoded.tobytes() == image.tobytes()


def test_upload_files_are_encoded_in_bands(monkeypatch):
    """The job path's picture and mask go through ``encode``; other modes through Pillow."""
    from core.pipeline import _encode_png

    calls = []
    real = png_bands.encode
    monkeypatch.setattr(png_bands, "encode", lambda *a: calls.append(a[0].mode) or real(*a))
    for mode in ("RGB", "RGBA", "L"):
        image = Image.new(mode, (20, 10), 7)
        with Image.open(io.BytesIO(_encode_png(image))) as decoded:
            assert decoded.mode == mode and decoded.tobytes() == image.tobytes()
    assert calls == ["RGB", "RGBA"]
