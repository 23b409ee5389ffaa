"""The selection a masked job keeps in History (``selection.png``) is written by the banded
encoder (``png_bands.encode_gray``), several times faster than Pillow's: it is on the path
between the click and the request. It must decode to the coverage exactly."""

from __future__ import annotations

import io
import random
import zlib

import pytest
from PIL import Image, ImageDraw

from core import png_bands
from core.geometry import Bounds, Extent
from core.jobs import JobSpec, _history_inputs, prepare_job
from core.pipeline import Mode
from core.selection import SelectionMask
from core.settings import Settings


def ellipse(size: tuple[int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
    return mask


def noise(size: tuple[int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("L", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1])))


@pytest.mark.parametrize(
    "mask",
    [
        ellipse((1500, 1000)),  # several bands, a soft-edged shape
        Image.new("L", (300, 129), 255),  # a last band of one row
        noise((77, 260), 1),  # every value, nothing to run-length
        noise((1, 3), 2),
    ],
    ids=["ellipse", "flat", "noise", "tiny"],
)
def test_encode_gray_decodes_to_the_mask(mask):
    data = png_bands.encode_gray(mask)
    with Image.open(io.BytesIO(data)) as back:
        assert (back.format, back.mode, back.size) == ("PNG", "L", mask.size)
        assert back.tobytes() == mask.tobytes()


def test_encode_gray_takes_only_gray():
    with pytest.raises(ValueError):
        png_bands.encode_gray(Image.new("RGB", (4, 4)))
    assert not png_bands.supports(Image.new("L", (4, 4)))  # pictures only, as before


def test_history_keeps_the_selection_exactly():
    canvas = Image.new("RGBA", (2048, 2048), (90, 120, 150, 255))
    coverage = ellipse((1500, 1000)).resize((1500, 1000))
    coverage.paste(128, (0, 0, 40, 1000))  # a soft part too
    selection = SelectionMask(coverage, Bounds(300, 500, 1500, 1000).offset)
    settings = Settings()
    spec = JobSpec.from_settings(settings, Mode.EDIT_SELECTION, "x")
    prepared = prepare_job(
        spec, Extent(2048, 2048), selection, lambda b: canvas.crop(b.box), settings
    )
    data = _history_inputs(prepared)["selection.png"]
    with Image.open(io.BytesIO(data)) as back:
        assert back.mode == "L" and back.tobytes() == coverage.tobytes()
    assert len(data) < len(zlib.compress(coverage.tobytes(), 1))  # compressed, not stored
