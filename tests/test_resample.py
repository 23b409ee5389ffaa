"""core.resample: banded resizes are the same bytes as Pillow's two one-axis passes."""

from __future__ import annotations

import threading

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


@pytest.mark.parametrize(
    ("source", "target"),
    [((640, 480), (451, 338)), ((451, 338), (640, 480)), ((300, 700), (300, 233)),
     ((700, 300), (233, 300)), ((200, 100), (200, 100))],
)  # fmt: skip
@pytest.mark.parametrize("many", [True, False])
def test_a_result_made_rgba_in_bands_is_the_whole_result_converted(request, source, target, many):
    """An RGB result returned as RGBA (a layer): the same bytes as converting the whole
    result of Pillow's two passes, banded or not; the picture handed in stays as it was."""
    if many:
        request.getfixturevalue("banded")
    rgb = picture(source, "RGB")
    layer = resample.resize(rgb, target, result_mode="RGBA")
    assert layer.mode == "RGBA" and rgb.mode == "RGB"
    assert layer.tobytes() == two_passes(rgb, target).convert("RGBA").tobytes()
    grey = picture(source, "L")
    as_rgba = resample.resize(grey, target, result_mode="RGBA")
    assert as_rgba.tobytes() == two_passes(grey, target).convert("RGBA").tobytes()
    rgba = picture(source, "RGBA")  # RGBA already: nothing to convert
    same = rgba.copy() if source == target else two_passes(rgba, target)
    assert resample.resize(rgba, target, result_mode="RGBA").tobytes() == same.tobytes()


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


def resize_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("gpt-image-resize")]


def test_a_resize_fed_rows_as_they_come_is_the_whole_resize(banded):
    """Rows made final a few at a time (as a PNG decoding by rows), the bands started on each
    as soon as its rows are: the same picture as resizing it whole."""
    image = picture((451, 338), "RGB")
    target = (640, 480)
    whole = resample.resize(image, target, result_mode="RGBA")
    filling = Image.new(image.mode, image.size)
    resizing = resample.Resizing(filling, target, result_mode="RGBA")
    for top in range(0, image.height, 23):
        bottom = min(top + 23, image.height)
        filling.paste(image.crop((0, top, image.width, bottom)), (0, top))
        resizing.ready(bottom)
    assert resizing.result().tobytes() == whole.tobytes()
    assert resize_threads() == []


def test_an_error_in_a_band_is_raised_and_leaves_no_thread(banded, monkeypatch):
    image = picture((451, 338), "RGB")
    real = Image.Image.resize
    calls = []

    def failing(self, size, *args, **kwargs):
        calls.append(size)
        if len(calls) == 3:
            raise MemoryError("band 3")
        return real(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", failing)
    with pytest.raises(MemoryError, match="band 3"):
        resample.resize(image, (640, 480))
    assert resize_threads() == []


def test_closing_midway_drops_the_bands_not_started(banded, monkeypatch):
    """A job that ends while its result is still decoding: the bands queued are never run,
    those running finish, and no thread is left behind."""
    image = picture((451, 338), "RGB")
    started = []
    real = resample.Resizing._horizontal

    def counted(self, span):
        started.append(span)
        return real(self, span)

    monkeypatch.setattr(resample.Resizing, "_horizontal", counted)
    resizing = resample.Resizing(image, (640, 480))
    resizing.ready(60)  # the first few bands only
    resizing.close()
    assert resize_threads() == []
    assert 0 < len(started) < len(resample._splits(338, resample._bands(640 * 338, 2)))
