"""Selection → crop → API files, and result → layer → composite, in canvas coordinates."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps

from core.errors import InputError
from core.geometry import Bounds, Extent, Point
from core.models import capabilities
from core.pipeline import (
    MASK_SAFETY_PX,
    MAX_MASK_BYTES,
    BlendOptions,
    Mode,
    api_mask,
    build_layer,
    build_upload,
    composite,
    grow,
    plan_job,
)
from core.selection import SelectionMask
from core.sizing import size_problem


def canvas_image(size: Extent) -> Image.Image:
    """A canvas where every pixel differs from its neighbours, so offsets can't hide."""
    noise = Image.effect_noise(size, 90).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGBA", (*noise.split()[:2], gradient, Image.new("L", size, 255)))


def ellipse(bounds: Bounds, soft: bool = False) -> SelectionMask:
    coverage = Image.new("L", bounds.extent, 0)
    ImageDraw.Draw(coverage).ellipse((0, 0, bounds.width - 1, bounds.height - 1), fill=255)
    if soft:
        from PIL import ImageFilter

        coverage = coverage.filter(ImageFilter.GaussianBlur(3))
    return SelectionMask(coverage, bounds.offset)


def decode(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image


def recolour(image: Image.Image) -> Image.Image:
    """What a model might send back: every pixel changed, still opaque."""
    return ImageOps.invert(image.convert("RGB")).convert("RGBA")


# Selections at odd offsets touching edges and corners, so crop-vs-canvas mix-ups fail loudly.
CASES = [
    (Extent(1200, 900), Bounds(401, 213, 301, 177)),
    (Extent(1200, 900), Bounds(0, 0, 157, 93)),  # top-left corner
    (Extent(1200, 900), Bounds(1043, 807, 157, 93)),  # bottom-right corner
    (Extent(1200, 900), Bounds(-37, 451, 120, 333)),  # hangs off the left edge
    (Extent(2000, 700), Bounds(1511, 3, 489, 601)),
    (Extent(640, 480), Bounds(17, 29, 601, 443)),  # small canvas: scaled up
    (Extent(6000, 4000), Bounds(1001, 1999, 4501, 1999)),  # large region: scaled down
]


@pytest.mark.parametrize(("canvas", "where"), CASES)
def test_masked_edit_round_trip(canvas: Extent, where: Bounds) -> None:
    pixels = canvas_image(canvas)
    selection = ellipse(where)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, selection)
    content = selection.content_bounds().intersect(Bounds.of_extent(canvas))

    assert plan.mode is Mode.EDIT_SELECTION
    assert size_problem(plan.api_size, capabilities("gpt-image-2")) is None
    assert plan.crop.contains(content)
    assert Bounds.of_extent(canvas).contains(plan.source_bounds)
    assert abs(plan.api_size.height / plan.crop.height - plan.scale) * plan.crop.height <= 1

    upload = build_upload(plan, pixels.crop(plan.source_bounds.box))
    sent = decode(upload.image_png)
    mask = decode(upload.mask_png)
    assert sent.size == mask.size == plan.api_size
    assert mask.mode == "RGBA" and len(upload.mask_png) < MAX_MASK_BYTES
    # The mask is placed by the crop offset: sample selection centre and far-away corners.
    alpha = mask.getchannel("A")

    def api_xy(p: Point) -> tuple[int, int]:
        return (
            min(plan.api_size.width - 1, int((p.x - plan.crop.x) * plan.scale)),
            min(plan.api_size.height - 1, int((p.y - plan.crop.y) * plan.scale)),
        )

    centre = Point(where.x + where.width // 2, where.y + where.height // 2)
    if Bounds.of_extent(canvas).contains(Bounds(centre.x, centre.y, 1, 1)):
        assert alpha.getpixel(api_xy(centre)) == 0
    far = plan.blend.reach_px + 4
    for corner in (plan.crop.offset, Point(plan.crop.right - 1, plan.crop.bottom - 1)):
        box = Bounds(corner.x - far, corner.y - far, 2 * far, 2 * far)
        if selection.region(box).getbbox() is None:
            assert alpha.getpixel(api_xy(corner)) == 255

    # At native scale the uploaded pixels are the canvas pixels, bit for bit.
    if plan.scale == 1.0:
        expected = pixels.crop(plan.crop.box)
        if expected.getchannel("A").getextrema() == (255, 255):  # opaque pixels go up as RGB
            expected = expected.convert("RGB")
        assert sent.mode == expected.mode and sent.tobytes() == expected.tobytes()

    result = recolour(sent)
    patch = build_layer(plan, result)
    assert patch.bounds == plan.source_bounds
    assert patch.image.size == patch.mask.size == plan.source_bounds.extent
    out = composite(pixels, patch)
    assert out.size == pixels.size
    assert_blended(pixels, out, patch)


def assert_blended(before: Image.Image, after: Image.Image, patch) -> None:
    """Outside the blend mask bit-identical; fully inside = result; in between, proportional."""
    full = Image.new("L", before.size, 0)
    full.paste(patch.mask, patch.bounds.offset)
    untouched = full.point(lambda v: 255 if v == 0 else 0)
    same = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(same, untouched).getbbox() is None, "a pixel outside changed"
    inside = full.point(lambda v: 255 if v == 255 else 0)
    region = inside.crop(patch.bounds.box)
    placed = Image.new("RGBA", before.size)
    placed.paste(patch.image, patch.bounds.offset)
    diff = ImageChops.difference(placed, after).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(diff, inside).getbbox() is None, "a selected pixel != result"
    assert region.getbbox() is not None, "nothing fully selected"
    # Partial coverage: pick a pixel with mask ≈ 128 and check it sits between old and new.
    xs = [
        (x, y)
        for (x, y) in (
            (i, j) for j in range(0, patch.mask.height, 7) for i in range(0, patch.mask.width, 7)
        )
        if 90 < patch.mask.getpixel((x, y)) < 165
    ]
    if xs:
        x, y = xs[0]
        m = patch.mask.getpixel((x, y)) / 255
        cx, cy = x + patch.bounds.x, y + patch.bounds.y
        old, new, got = (
            before.getpixel((cx, cy)),
            patch.image.getpixel((x, y)),
            after.getpixel((cx, cy)),
        )
        for channel in range(3):
            expected = old[channel] * (1 - m) + new[channel] * m
            assert abs(got[channel] - expected) <= 1.5


def test_result_of_another_size_maps_back_to_the_crop() -> None:
    canvas = Extent(1000, 800)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, ellipse(Bounds(333, 211, 250, 180)))
    other = Image.new("RGB", (plan.api_size.width // 2, plan.api_size.height // 2), (9, 200, 30))
    patch = build_layer(plan, other)
    assert patch.image.size == plan.source_bounds.extent
    assert patch.image.getpixel((patch.image.width // 2, patch.image.height // 2)) == (
        9,
        200,
        30,
        255,
    )


def test_anti_aliased_and_feathered_selections_blend_softly() -> None:
    canvas = Extent(900, 900)
    pixels = canvas_image(canvas)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, ellipse(Bounds(301, 287, 211, 199), soft=True))
    upload = build_upload(plan, pixels.crop(plan.source_bounds.box))
    patch = build_layer(plan, recolour(decode(upload.image_png)))
    values = set(patch.mask.tobytes())
    assert 0 in values and 255 in values and len(values) > 50
    assert_blended(pixels, composite(pixels, patch), patch)


@pytest.mark.parametrize("where", [Bounds(201, 103, 301, 277), Bounds(0, 411, 157, 289)])
def test_mask_and_layer_sit_exactly_on_the_selection(where: Bounds) -> None:
    """With no grow or feather, the layer mask is the selection itself, pixel for pixel, and
    the API edit area is that selection grown by the safety margin, at the crop's offset."""
    canvas = Extent(1000, 800)
    selection = ellipse(where)
    blend = BlendOptions(padding_px=10, grow_px=0, feather_px=0)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, selection, blend=blend)
    assert plan.scale == 1.0
    patch = build_layer(plan, Image.new("RGB", plan.api_size, (7, 7, 7)))
    assert patch.mask.tobytes() == selection.region(patch.bounds).tobytes()
    expected_edit = grow(selection.region(plan.crop), MASK_SAFETY_PX).point(
        lambda v: 255 if v else 0
    )
    edit = ImageOps.invert(api_mask(plan).getchannel("A"))
    assert edit.tobytes() == expected_edit.tobytes()


def test_whole_canvas_selection_means_edit_the_whole_image() -> None:
    canvas = Extent(1024, 768)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, SelectionMask.from_rect(Bounds(0, 0, 1024, 768)))
    assert plan.mode is Mode.EDIT_IMAGE and not plan.masked
    assert plan.crop == Bounds(0, 0, 1024, 768) and plan.api_size == Extent(1024, 768)
    upload = build_upload(plan, canvas_image(canvas))
    assert upload.mask_png is None


def test_select_all_with_soft_edge_stays_a_masked_edit() -> None:
    canvas = Extent(1024, 768)
    coverage = Image.new("L", canvas, 255)
    coverage.putpixel((0, 0), 100)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, SelectionMask(coverage))
    assert plan.mode is Mode.EDIT_SELECTION and plan.crop == Bounds(0, 0, 1024, 768)


@pytest.mark.parametrize(
    "selection",
    [
        SelectionMask(Image.new("L", (50, 50), 0), Point(10, 10)),
        SelectionMask(Image.new("L", (50, 50), 255), Point(5000, 10)),  # off the canvas
        None,
    ],
)
def test_empty_or_missing_selection_is_a_clear_error(selection: SelectionMask | None) -> None:
    with pytest.raises(InputError, match="selection"):
        plan_job(Mode.EDIT_SELECTION, Extent(800, 600), selection)


def test_edit_image_covers_the_canvas() -> None:
    canvas = Extent(1234, 567)
    pixels = canvas_image(canvas)
    plan = plan_job(Mode.EDIT_IMAGE, canvas, None)
    assert plan.source_bounds == Bounds(0, 0, 1234, 567)
    upload = build_upload(plan, pixels)
    patch = build_layer(plan, recolour(decode(upload.image_png)))
    assert patch.bounds == Bounds(0, 0, 1234, 567)
    assert patch.mask.getextrema() == (255, 255)


def test_very_wide_canvas_is_padded_not_squashed() -> None:
    canvas = Extent(4000, 500)  # 8:1, beyond the API's 3:1
    vertical = Image.linear_gradient("L").resize(canvas)
    pixels = Image.merge("RGBA", (vertical, vertical, vertical, Image.new("L", canvas, 255)))
    plan = plan_job(Mode.EDIT_IMAGE, canvas, None)
    assert plan.crop.height > canvas.height and plan.source_bounds == Bounds.of_extent(canvas)
    upload = build_upload(plan, pixels)
    sent = decode(upload.image_png)
    assert sent.size == plan.api_size
    # The model returns the picture unchanged: mapped back it must land where it came from.
    patch = build_layer(plan, sent)
    assert patch.bounds == Bounds.of_extent(canvas)
    middle = patch.image.crop((0, 20, 4000, 480)).convert("L")
    error = ImageChops.difference(middle, vertical.crop((0, 20, 4000, 480)))
    assert max(error.getextrema()) <= 12


def test_generate_fills_the_selection_bounds_cover_centred() -> None:
    canvas = Extent(1500, 1000)
    where = Bounds(101, 201, 700, 300)
    plan = plan_job(Mode.GENERATE, canvas, ellipse(where))
    assert plan.crop == where
    assert build_upload(plan, None).image_png is None
    result = Image.new("RGB", plan.api_size, (0, 0, 255))
    ImageDraw.Draw(result).rectangle((0, 0, 10, plan.api_size.height), fill=(255, 0, 0))
    patch = build_layer(plan, result)
    assert patch.bounds == where and patch.image.size == where.extent
    assert patch.image.getpixel((350, 150)) == (0, 0, 255, 255)
    assert patch.mask.getpixel((0, 0)) < 255 and patch.mask.getpixel((350, 150)) == 255
    whole = plan_job(Mode.GENERATE, canvas, None)
    assert whole.crop == Bounds(0, 0, 1500, 1000)
    assert build_layer(whole, result).mask.getextrema() == (255, 255)


def test_layer_patch_masked_folds_the_mask_into_alpha() -> None:
    canvas = Extent(900, 900)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, ellipse(Bounds(301, 301, 200, 200)))
    patch = build_layer(plan, Image.new("RGB", plan.api_size, (1, 2, 3)))
    layer = patch.masked()
    assert layer.getchannel("A").tobytes() == patch.mask.tobytes()


def test_noisy_selection_mask_stays_under_the_upload_limit() -> None:
    canvas = Extent(3840, 2160)
    coverage = Image.effect_noise(canvas, 128).point(lambda v: 255 if v > 128 else 0)
    plan = plan_job(
        Mode.EDIT_SELECTION,
        canvas,
        SelectionMask(coverage),
        blend=BlendOptions(padding_px=0, grow_px=0, feather_px=0),
        resolution="4K",
    )
    upload = build_upload(plan, Image.new("RGBA", plan.source_bounds.extent))
    assert len(upload.mask_png) < MAX_MASK_BYTES


def test_wrong_pixel_size_is_refused() -> None:
    plan = plan_job(Mode.EDIT_IMAGE, Extent(800, 600), None)
    with pytest.raises(InputError, match="800x600"):
        build_upload(plan, Image.new("RGBA", (10, 10)))


def test_negative_blend_options_are_refused() -> None:
    with pytest.raises(InputError, match="Feather"):
        BlendOptions(feather_px=-1)


def seeded_canvas(size: Extent, seed: int) -> Image.Image:
    """Like ``canvas_image`` (every pixel differs from its neighbours), but from a generator of
    its own, the same whatever ran before: ``Image.effect_noise`` draws from the C library's
    shared ``rand()`` state, which earlier tests move. Red and green stay within 40-215, so a
    drift of 20 levels is never clipped away at the pixels a test looks at."""
    import random

    rng = random.Random(seed)
    count = size.width * size.height
    red, green = (
        Image.frombytes("L", tuple(size), rng.randbytes(count)).point(lambda v: 40 + v * 175 // 255)
        for _ in range(2)
    )
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGBA", (red, green, gradient, Image.new("L", size, 255)))


def test_colour_drift_is_corrected_where_the_model_was_told_to_keep() -> None:
    canvas = Extent(1100, 800)
    pixels = seeded_canvas(canvas, seed=16)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, ellipse(Bounds(401, 301, 300, 200)))
    sent = decode(build_upload(plan, pixels.crop(plan.source_bounds.box)).image_png)
    # The model's answer: the whole frame 20 levels too warm, the selection painted flat grey.
    drifted = sent.convert("RGB").point(
        [min(255, v + 20) for v in range(256)] + list(range(256)) * 2
    )
    edit_area = ImageOps.invert(api_mask(plan).getchannel("A"))
    drifted.paste((128, 128, 128), mask=edit_area)
    corrected = build_layer(plan, drifted, sent)
    plain = build_layer(plan, drifted)
    corner = (5, 5)  # kept area, far from the selection
    assert abs(corrected.image.getpixel(corner)[0] - sent.getpixel(corner)[0]) <= 3
    assert abs(plain.image.getpixel(corner)[0] - sent.getpixel(corner)[0]) >= 15
    centre = (corrected.image.width // 2, corrected.image.height // 2)
    assert abs(corrected.image.getpixel(centre)[1] - 128) <= 3, "the intended change survives"
    off = plan_job(
        Mode.EDIT_SELECTION,
        canvas,
        ellipse(Bounds(401, 301, 300, 200)),
        blend=BlendOptions(match_colour=False),
    )
    assert build_layer(off, drifted, sent).image.tobytes() == plain.image.tobytes()


def test_colour_match_leaves_an_undrifted_result_alone() -> None:
    canvas = Extent(1100, 800)
    pixels = canvas_image(canvas)
    plan = plan_job(Mode.EDIT_SELECTION, canvas, ellipse(Bounds(401, 301, 300, 200)))
    sent = decode(build_upload(plan, pixels.crop(plan.source_bounds.box)).image_png)
    result = recolour(sent)
    result.paste(sent, mask=api_mask(plan).getchannel("A"))
    assert (
        build_layer(plan, result, sent).image.tobytes() == build_layer(plan, result).image.tobytes()
    )


def _noise(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    import random

    rng = random.Random(seed)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


@pytest.mark.parametrize("canvas_mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("with_under", [False, True])
def test_composite_into_is_the_composite_of_the_result_over_what_was_there(
    canvas_mode: str, with_under: bool
) -> None:
    """In place, byte for byte what ``Image.composite`` of the result over the pixels under it
    gives (converted to the canvas's mode), and nothing outside the patch's box changes."""
    from core.pipeline import LayerPatch, composite_into

    canvas = _noise(canvas_mode, (300, 200), 1)
    original = canvas.copy()
    bounds = Bounds(40, 30, 150, 120)
    mask = _noise("L", (150, 120), 2)
    mask.paste(0, (0, 0, 20, 120))  # some of it untouched, some of it whole
    mask.paste(255, (130, 0, 150, 120))
    patch = LayerPatch(bounds, _noise("RGBA", (150, 120), 3), mask)
    under = None
    if with_under:  # a second variant: the canvas already holds the first one
        under = canvas.crop(bounds.box)
        canvas.paste(_noise(canvas_mode, (150, 120), 4), bounds.offset)
    composite_into(canvas, patch, under)
    below = original.crop(bounds.box).convert("RGBA")
    want = Image.composite(patch.image, below, mask).convert(canvas_mode)
    assert canvas.crop(bounds.box).tobytes() == want.tobytes()
    outside = ImageChops.difference(canvas.convert("RGBA"), original.convert("RGBA"))
    outside.paste((0, 0, 0, 0), bounds.box)
    assert outside.getbbox() is None


@pytest.mark.parametrize("transparent_at", [None, (7, 1500), (1500, 0)])
def test_a_resized_rgba_upload_is_what_converting_it_first_gives(transparent_at) -> None:
    """An opaque RGBA canvas is made RGB band by band while its resize runs (``_rgb_resized``):
    the upload is byte for byte the RGB conversion resized; one pixel short of opaque (late or
    early in the rows) and it goes up with its alpha, resized as RGBA, as before."""
    canvas = Extent(1536, 1536)  # a whole-image edit resized to 1024x1024: in bands
    pixels = seeded_canvas(canvas, seed=3)
    if transparent_at is not None:
        pixels.putpixel(transparent_at, (10, 20, 30, 200))
    plan = plan_job(Mode.EDIT_IMAGE, canvas, None, resolution="1024x1024")
    assert plan.api_size == Extent(1024, 1024) and plan.source_bounds == plan.crop
    upload = build_upload(plan, pixels)
    opaque = transparent_at is None
    base = pixels.convert("RGB") if opaque else pixels
    expected = base.resize(tuple(plan.api_size), Image.Resampling.LANCZOS)
    if not opaque:  # RGBA resizes premultiplied, as Pillow's own resize of RGBA does
        expected = pixels.resize(tuple(plan.api_size), Image.Resampling.LANCZOS)
    assert upload.sent.mode == ("RGB" if opaque else "RGBA")
    assert upload.sent.tobytes() == expected.tobytes()
    assert decode(upload.image_png).tobytes() == expected.tobytes()
    if opaque:  # the banded way was the one taken (it says None where it does not apply)
        from core.pipeline import _rgb_resized

        banded = _rgb_resized(plan, pixels)
        assert banded is not None and banded.tobytes() == expected.tobytes()
