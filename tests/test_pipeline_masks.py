"""The blend mask of a rectangular selection (``--rect``, a rectangle tool) is blurred from a
small rectangle and stretched back (``pipeline._feathered_rectangle``): value for value what
growing and blurring the whole area gives, edges of the area included."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageFilter

from core import pipeline
from core.geometry import Bounds, Extent
from core.pipeline import Mode, blend_mask, grow, grown_and_feathered, plan_job
from core.selection import SelectionMask


def reference(coverage: Image.Image, grow_px: int, sigma: float) -> Image.Image:
    """What ``grown_and_feathered`` stands for: the whole area grown, then blurred."""
    grown = grow(coverage, grow_px)
    return grown.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0 else grown


def rectangle(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    image = Image.new("L", size, 0)
    image.paste(255, box)
    return image


CASES = [
    ((1546, 1046), (23, 23, 1523, 1023)),  # a 1500x1000 --rect as blend_mask sees it
    ((400, 300), (0, 0, 400, 300)),  # the whole area
    ((400, 300), (0, 40, 120, 300)),  # touching three edges
    ((64, 64), (30, 30, 31, 31)),  # one pixel
    ((900, 40), (10, 5, 890, 35)),  # wide and thin: rows too few to cut
    ((41, 700), (3, 2, 38, 698)),
]


@pytest.mark.parametrize(("size", "box"), CASES)
@pytest.mark.parametrize(("grow_px", "sigma"), [(6, 4.0), (0, 0.5), (1, 1.0), (20, 12.5), (3, 7.3)])
def test_a_rectangle_is_feathered_value_for_value(size, box, grow_px, sigma):
    coverage = rectangle(size, box)
    assert pipeline._hard_rectangle(coverage) == box
    got = grown_and_feathered(coverage, grow_px, sigma)
    assert got.size == size and got.tobytes() == reference(coverage, grow_px, sigma).tobytes()


def test_random_rectangles_value_for_value():
    rng = random.Random(16)
    for _ in range(40):
        size = (rng.randrange(1, 700), rng.randrange(1, 700))
        x0, x1 = sorted(rng.sample(range(size[0] + 1), 2)) if size[0] > 1 else (0, 1)
        y0, y1 = sorted(rng.sample(range(size[1] + 1), 2)) if size[1] > 1 else (0, 1)
        grow_px, sigma = rng.randrange(0, 12), rng.choice([0.3, 1.0, 2.5, 4.0, 9.0])
        coverage = rectangle(size, (x0, y0, x1, y1))
        expected = reference(coverage, grow_px, sigma).tobytes()
        assert grown_and_feathered(coverage, grow_px, sigma).tobytes() == expected, (
            size,
            (x0, y0, x1, y1),
            grow_px,
            sigma,
        )


def test_anything_but_a_filled_rectangle_takes_the_general_way():
    soft = rectangle((300, 200), (20, 20, 280, 180))
    soft.putpixel((150, 100), 254)
    assert pipeline._hard_rectangle(soft) is None
    assert pipeline._hard_rectangle(Image.new("L", (8, 8))) is None
    two = rectangle((300, 200), (10, 10, 50, 50))
    two.paste(255, (100, 100, 150, 150))
    assert pipeline._hard_rectangle(two) is None
    for coverage in (soft, two):
        got = grown_and_feathered(coverage, 6, 4.0)
        assert got.tobytes() == reference(coverage, 6, 4.0).tobytes()


def test_blend_mask_of_a_rect_selection_on_a_canvas():
    canvas = Extent(4096, 4096)
    selection = SelectionMask.from_rect(Bounds(1297, 1561, 1500, 1000))
    plan = plan_job(Mode.EDIT_SELECTION, canvas, selection)
    mask = blend_mask(plan, plan.crop)
    margin = plan.blend.reach_px + 1
    work = plan.crop.pad(margin).intersect(selection.bounds.pad(margin))
    whole = reference(selection.region(work), plan.blend.grow_px, plan.blend.feather_px / 2)
    expected = Image.new("L", plan.crop.extent, 0)
    expected.paste(whole, work.relative_to(plan.crop.offset).offset)
    assert mask.tobytes() == expected.tobytes()


def test_api_mask_of_a_rect_selection():
    """The edit area is the blend's non-zero part grown by ``MASK_SAFETY_PX``, as before."""
    selection = SelectionMask.from_rect(Bounds(1297, 1561, 1500, 1000))
    plan = plan_job(Mode.EDIT_SELECTION, Extent(4096, 4096), selection)
    blend = blend_mask(plan, plan.crop)
    edit = grow(blend.point(lambda v: 255 if v else 0), pipeline.MASK_SAFETY_PX)
    alpha = pipeline.api_mask(plan, blend).getchannel("A")
    assert alpha.tobytes() == edit.point(lambda v: 255 - v).tobytes()
