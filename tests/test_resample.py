"""core.resample: banded resizes are the same bytes as Pillow's two one-axis passes."""

from __future__ import annotations

import pytest
from PIL import Image

from core import resample
from core.pixels import raw_bytes

LANCZOS = Image.Resampling.LANCZOS


def picture(size: tuple[int, int], mode: str) -> Image.Image:
    noise = Image.effect_noise(size, 60)
    bands = (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise.rotate(180))
    rgb = Image.merge("RGB", bands)
    if mode == "RGBA":
        rgb.putalpha(noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    return rgb if mode in ("RGB", "RGBA") else rgb.convert(mode)


def two_passes(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """What Pillow computes: horizontal pass, then vertical (premultiplied for RGBA)."""
    work = image.convert("RGBa") if image.mode == "RGBA" else image
    work = work.resize((size[0], work.height), LANCZOS).resize(size, LANCZOS)
    return work.convert("RGBA") if image.mode == "RGBA" else work


@pytest.fixture
def banded(monkeypatch):
    """Bands on two workers however many cores this machine lends, small enough to be many."""
    monkeypatch.setattr(resample, "workers", lambda: 2)
    monkeypatch.setattr(resample, "MIN_BANDED_PIXELS", 1)
    monkeypatch.setattr(resample, "BAND_PIXELS", 40_000)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize(
    ("source", "target"),
    [((640, 480), (451, 338)), ((451, 338), (640, 480)), ((300, 700), (300, 233)),
     ((700, 300), (233, 300)), ((513, 257), (1031, 129)), ((97, 1003), (400, 401))],
)  # fmt: skip
def test_banded_resize_is_value_for_value_pillows(banded, mode, source, target):
    image = picture(source, mode)
    out = resample.resize(image, target)
    assert out.mode == image.mode and out.size == target
    assert out.tobytes() == two_passes(image, target).tobytes()


def test_a_square_resize_equals_pillows_own(banded):
    image = picture((720, 720), "RGB")
    assert (
        resample.resize(image, (1024, 1024)).tobytes()
        == image.resize((1024, 1024), LANCZOS).tobytes()
    )


def test_a_file_not_yet_decoded_is_decoded_once(banded, tmp_path):
    path = tmp_path / "p.png"
    picture((400, 300), "RGB").save(path)
    with Image.open(path) as lazy:
        out = resample.resize(lazy, (600, 450))
    with Image.open(path) as loaded:
        loaded.load()
        assert out.tobytes() == two_passes(loaded, (600, 450)).tobytes()


def test_same_size_is_a_copy_and_other_filters_and_modes_fall_back(banded):
    image = picture((200, 100), "RGB")
    same = resample.resize(image, (200, 100))
    assert same is not image and same.tobytes() == image.tobytes()
    nearest = resample.resize(image, (90, 50), Image.Resampling.NEAREST)
    assert nearest.tobytes() == image.resize((90, 50), Image.Resampling.NEAREST).tobytes()
    palette = image.convert("P")
    assert resample.resize(palette, (90, 50)).tobytes() == palette.resize((90, 50)).tobytes()


@pytest.mark.parametrize("rawmode", ["RGBA", "BGRA"])
def test_raw_bytes_are_pillows_tobytes(rawmode):
    image = picture((333, 217), "RGBA")
    assert raw_bytes(image, rawmode) == image.tobytes("raw", rawmode)
    for mode in ("L", "LA", "RGB"):
        other = image.convert(mode)
        assert raw_bytes(other) == other.tobytes()
    assert raw_bytes(Image.new("RGBA", (0, 5))) == b""
