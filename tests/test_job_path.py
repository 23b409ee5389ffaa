"""The job path does each piece of work once: one blend mask per job, one decode per result,
no decode of what was uploaded; and the shortcut gives exactly the patches of the long way."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from core import pipeline, png_rows
from core.geometry import Bounds, Extent
from core.history import History
from core.jobs import JobSpec, patches_from_history, prepare_job, run_job
from core.pipeline import Mode, build_layer
from core.selection import SelectionMask
from core.settings import Settings
from tests.standin.helpers import make_client

CANVAS = Extent(1400, 1000)


def canvas() -> Image.Image:
    image = Image.radial_gradient("L").resize(CANVAS).convert("RGBA")
    ImageDraw.Draw(image).rectangle((500, 300, 900, 700), fill=(200, 60, 20, 255))
    return image


def ellipse(bounds: Bounds) -> SelectionMask:
    coverage = Image.new("L", bounds.extent, 0)
    ImageDraw.Draw(coverage).ellipse((0, 0, bounds.width - 1, bounds.height - 1), fill=255)
    return SelectionMask(coverage, bounds.offset)


@pytest.fixture
def counted(monkeypatch):
    calls = {"blend_mask": 0, "decode": 0, "open_rows": 0}

    def count(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    count(pipeline, "blend_mask")
    count(pipeline, "decode")  # a result decoded whole
    count(png_rows, "open_rows")  # or by rows, its layer begun meanwhile
    return calls


@pytest.mark.parametrize("n", [1, 3])
def test_masked_edit_computes_its_mask_once_and_decodes_each_result_once(
    standin, tmp_path, counted, n
):
    settings = Settings(quality="low", partial_images=0)
    spec = JobSpec.from_settings(settings, Mode.EDIT_SELECTION, "a hat", n=n)
    image = canvas()
    prepared = prepare_job(
        spec, CANVAS, ellipse(Bounds(450, 260, 500, 420)), lambda b: image.crop(b.box), settings
    )
    result = run_job(
        prepared, settings, history=History(tmp_path / "h"), client=make_client(standin)
    )
    assert len(result.patches) == n
    assert counted["blend_mask"] == 1
    # the results, each once; never the uploaded picture again
    assert counted["decode"] + counted["open_rows"] == n

    # the same patches as mapping each stored result back the long way
    upload = prepared.upload
    sent = Image.open(io.BytesIO(upload.image_png))
    for data, patch in zip(result.encoded, result.patches, strict=True):
        slow = build_layer(prepared.plan, Image.open(io.BytesIO(data)), sent)
        assert slow.bounds == patch.bounds
        assert slow.image.tobytes() == patch.image.tobytes()
        assert slow.mask.tobytes() == patch.mask.tobytes()
    again = patches_from_history(History(tmp_path / "h").get(result.history_id))
    assert [p.image.tobytes() for p in again] == [p.image.tobytes() for p in result.patches]


def test_crop_past_the_canvas_edge_still_gets_its_own_layer_mask(standin, tmp_path):
    """A canvas beyond the API's 3:1 limit: the crop sticks out, the layer covers less."""
    wide = Extent(4000, 500)
    settings = Settings(quality="low", partial_images=0)
    spec = JobSpec.from_settings(settings, Mode.EDIT_SELECTION, "a hat")
    image = Image.new("RGBA", wide, (10, 20, 30, 255))
    selection = ellipse(Bounds(100, 50, 3800, 400))
    prepared = prepare_job(spec, wide, selection, lambda b: image.crop(b.box), settings)
    plan = prepared.plan
    assert plan.source_bounds != plan.crop
    result = run_job(
        prepared, settings, history=History(tmp_path / "h"), client=make_client(standin)
    )
    (patch,) = result.patches
    assert patch.bounds == plan.source_bounds
    assert patch.mask.tobytes() == pipeline.blend_mask(plan, plan.source_bounds).tobytes()


def blend_mask_over_all_of(plan, area: Bounds) -> Image.Image:
    """The blend mask computed the plain way: grown and blurred over all of ``area``."""
    from PIL import ImageFilter

    margin = plan.blend.reach_px + 1
    coverage = pipeline.grow(plan.selection.region(area.pad(margin)), plan.blend.grow_px)
    if plan.blend.feather_px:
        coverage = coverage.filter(ImageFilter.GaussianBlur(plan.blend.feather_px / 2))
    return coverage.crop((margin, margin, margin + area.width, margin + area.height))


@pytest.mark.parametrize("grow", [0, 1, 6, 20])
@pytest.mark.parametrize("feather", [0, 1, 2, 8, 31])
@pytest.mark.parametrize(
    "box", [Bounds(300, 200, 500, 400), Bounds(0, 0, 700, 300), Bounds(1100, 700, 300, 300)]
)
def test_blend_mask_near_the_selection_only_equals_the_plain_way(grow, feather, box):
    blend = pipeline.BlendOptions(padding_px=48, grow_px=grow, feather_px=feather)
    plan = pipeline.plan_job(Mode.EDIT_SELECTION, CANVAS, ellipse(box), blend=blend)
    for area in (plan.crop, plan.source_bounds, Bounds(0, 0, *CANVAS)):
        fast = pipeline.blend_mask(plan, area)
        assert fast.tobytes() == blend_mask_over_all_of(plan, area).tobytes(), (area, box)


def masks_to_grow():
    import random

    rng = random.Random(7)
    soft = Image.new("L", (90, 70))
    soft.putdata([rng.choice((0, 0, 0, 40, 255)) for _ in range(90 * 70)])
    rect = Image.new("L", (90, 70))
    rect.paste(255, (10, 5, 60, 40))
    corner = Image.new("L", (90, 70))
    corner.paste(255, (0, 0, 30, 20))  # at the edge: grows off the picture
    soft_rect = rect.copy()
    soft_rect.putpixel((30, 20), 254)  # not a hard rectangle: the general way
    return [soft, rect, corner, soft_rect, Image.new("L", (90, 70)), Image.new("L", (90, 70), 255)]


@pytest.mark.parametrize("pixels", [1, 2, 6, 13])
@pytest.mark.parametrize("index", range(6))
def test_grow_is_a_maximum_filter(pixels, index):
    """``grow`` (over the set box only, rectangles without passes) = a square max filter."""
    from PIL import ImageFilter

    mask = masks_to_grow()[index]
    reference = mask.filter(ImageFilter.MaxFilter(2 * pixels + 1))
    assert pipeline.grow(mask, pixels).tobytes() == reference.tobytes()


@pytest.mark.parametrize("grow", [0, 1, 6, 40])
@pytest.mark.parametrize("feather", [0, 1, 3, 8, 17, 64, 256])
def test_feathering_near_edges_only_equals_the_plain_way(grow, feather):
    """``grown_and_feathered`` (tiles away from every edge left as they are) = grow + blur."""
    from PIL import ImageFilter

    coverage = Image.new("L", (700, 460))
    ImageDraw.Draw(coverage).ellipse((40, 30, 650, 420), fill=255)
    ImageDraw.Draw(coverage).rectangle((0, 200, 90, 459), fill=255)  # touches two edges
    ImageDraw.Draw(coverage).ellipse((300, 150, 380, 220), fill=90)  # a soft patch inside
    plain = pipeline.grow(coverage, grow)
    if feather:
        plain = plain.filter(ImageFilter.GaussianBlur(feather / 2))
    fast = pipeline.grown_and_feathered(coverage, grow, feather / 2)
    assert fast.tobytes() == plain.tobytes()
