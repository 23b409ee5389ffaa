"""Size snapping: every size valid, no crop ever distorted, native scale kept when it can be."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.geometry import Extent
from core.models import KNOWN_MODELS, capabilities
from core.sizing import (
    crop_for,
    nearest_valid_size,
    parse_resolution,
    size_crop,
    size_for_aspect,
    size_problem,
    snap_size,
    validate_size,
)

GPT2 = capabilities("gpt-image-2")
FIXED = capabilities("gpt-image-1.5")
EDGES = st.one_of(st.integers(1, 100_000), st.sampled_from([1, 2, 15, 16, 17, 816, 3840, 100_000]))
RESOLUTIONS = st.sampled_from(["auto", "1K", "2K", "4K"])
MODELS = st.sampled_from(sorted(KNOWN_MODELS))


def distortion_px(crop: Extent, api: Extent) -> float:
    """How far (source pixels) the crop is from the API size's aspect, on the worse axis."""
    return max(
        abs(crop.width - crop.height * api.width / api.height),
        abs(crop.height - crop.width * api.height / api.width),
    ) / max(1.0, max(crop.width / crop.height, crop.height / crop.width))


@settings(max_examples=400, deadline=None)
@given(w=EDGES, h=EDGES, model=MODELS, resolution=RESOLUTIONS)
def test_every_size_is_valid_and_undistorted(w: int, h: int, model: str, resolution: str) -> None:
    caps = capabilities(model)
    region = Extent(w, h)
    sized = size_crop(region, caps, resolution)
    assert size_problem(sized.api_size, caps) is None
    assert sized.crop.width >= w and sized.crop.height >= h, "the crop never loses the region"
    # Uniform scale: the crop has the API's aspect to within one source pixel.
    api, crop = sized.api_size, sized.crop
    assert abs(crop.width * api.height - crop.height * api.width) <= max(api.width, api.height)
    assert distortion_px(crop, api) <= 1.0


@settings(max_examples=300, deadline=None)
@given(
    room_w=st.integers(1, 20_000),
    room_h=st.integers(1, 20_000),
    fw=st.floats(0.0, 1.0),
    fh=st.floats(0.0, 1.0),
    resolution=RESOLUTIONS,
)
def test_crop_stays_on_canvas_but_for_a_sliver(
    room_w: int, room_h: int, fw: float, fh: float, resolution: str
) -> None:
    room = Extent(room_w, room_h)
    region = Extent(max(1, round(room_w * fw)), max(1, round(room_h * fh)))
    sized = size_crop(region, GPT2, resolution, room)
    assert size_problem(sized.api_size, GPT2) is None
    if max(room) <= 3 * min(room):  # a canvas the API's aspect rule can match
        slack_w = 2 + room_w // 100
        slack_h = 2 + room_h // 100
        assert sized.crop.width <= room_w + slack_w and sized.crop.height <= room_h + slack_h


@pytest.mark.parametrize(
    ("region", "room", "expected"),
    [
        (Extent(1504, 1008), None, Extent(1504, 1008)),  # already valid: untouched
        (Extent(1500, 1000), None, Extent(1504, 1008)),  # grown by a few px, not resampled
        (Extent(1920, 1080), Extent(4000, 3000), Extent(1920, 1088)),
        (Extent(100, 100), Extent(4000, 4000), Extent(816, 816)),  # grown to the min budget
        (Extent(3000, 2000), Extent(3000, 2000), Extent(3008, 2000)),  # fits only by 8 px…
    ],
)
def test_auto_keeps_native_scale_when_the_crop_can_grow(
    region: Extent, room: Extent | None, expected: Extent
) -> None:
    sized = size_crop(region, GPT2, "auto", room)
    if room is not None and (expected.width > room.width or expected.height > room.height):
        assert sized.scale != 1.0  # …so a 3000x2000 canvas must be scaled instead
        return
    assert sized.api_size == expected
    assert sized.crop == expected
    assert sized.scale == 1.0


def test_auto_scales_small_canvases_up_and_large_regions_down() -> None:
    small = size_crop(Extent(300, 200), GPT2, "auto", Extent(300, 200))
    assert small.api_size.pixels >= GPT2.min_pixels and small.scale > 1
    assert small.crop == Extent(300, 200) or distortion_px(small.crop, small.api_size) <= 1
    large = size_crop(Extent(8000, 6000), GPT2, "auto", Extent(8000, 6000))
    assert large.api_size.pixels <= GPT2.max_pixels and large.scale < 1


def test_small_selection_on_small_canvas_gets_context_not_just_upscaling() -> None:
    sized = size_crop(Extent(120, 90), GPT2, "auto", Extent(600, 500))
    assert sized.crop.width >= 500 or sized.crop.height >= 450
    assert sized.crop.width <= 600 and sized.crop.height <= 500


@pytest.mark.parametrize(
    ("resolution", "low", "high"),
    [("1K", 0.8e6, 1.3e6), ("2K", 3.5e6, 4.6e6), ("4K", 7.9e6, 8_294_400)],
)
def test_named_resolutions_hit_their_budget(resolution: str, low: float, high: float) -> None:
    for region in (Extent(1000, 1000), Extent(1600, 900), Extent(500, 1400)):
        size = snap_size(region, GPT2, resolution)
        if resolution == "4K" and max(size) >= 3824:  # the edge limit binds first
            continue
        assert low <= size.pixels <= high, (region, size)


def test_4k_is_the_largest_valid_size() -> None:
    assert snap_size(Extent(5000, 5000), GPT2, "4K") == Extent(2880, 2880)
    assert snap_size(Extent(3840, 2160), GPT2, "4K") == Extent(3840, 2160)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (Extent(1000, 1000), Extent(1024, 1024)),
        (Extent(1600, 1000), Extent(1536, 1024)),
        (Extent(600, 1000), Extent(1024, 1536)),
        (Extent(1, 100_000), Extent(1024, 1536)),
    ],
)
def test_fixed_models_get_the_nearest_of_three_shapes(region: Extent, expected: Extent) -> None:
    for name in ("gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini"):
        assert snap_size(region, capabilities(name), "auto") == expected
        assert snap_size(region, capabilities(name), "4K") == expected


@pytest.mark.parametrize(
    ("size", "rule", "nearest"),
    [
        ("1920x1080", "multiples of 16", "1920x1088"),
        ("800x800", "at least 655,360 pixels", "816x816"),
        ("2896x2896", "at most 8,294,400 pixels", "2880x2880"),
        ("4000x1600", "at most 3840", None),
        ("3840x1024", "3 × the short edge", None),
    ],
)
def test_explicit_invalid_size_names_rule_and_nearest_valid(
    size: str, rule: str, nearest: str | None
) -> None:
    with pytest.raises(InputError) as caught:
        snap_size(Extent(1000, 1000), GPT2, size)
    text = str(caught.value)
    assert rule in text
    suggestion = nearest_valid_size(Extent.parse(size), GPT2)
    assert size_problem(suggestion, GPT2) is None
    assert str(suggestion) in text
    if nearest:
        assert str(suggestion) == nearest


def test_explicit_valid_size_is_kept_and_the_crop_follows_its_aspect() -> None:
    sized = size_crop(Extent(1000, 1000), GPT2, "1536x512")
    assert sized.api_size == Extent(1536, 512)
    assert sized.crop == Extent(3000, 1000)


def test_fixed_model_rejects_other_sizes() -> None:
    with pytest.raises(InputError, match="accepts only 1024x1024, 1536x1024, 1024x1536"):
        validate_size(Extent(1024, 640), FIXED)


def test_parse_resolution() -> None:
    assert parse_resolution("AUTO") == "auto"
    assert parse_resolution("2k") == "2K"
    assert parse_resolution(" 1024x640 ") == Extent(1024, 640)
    with pytest.raises(InputError, match="Unknown resolution"):
        parse_resolution("huge")


def test_size_for_aspect() -> None:
    wide = size_for_aspect("16:9", GPT2)
    assert size_problem(wide, GPT2) is None
    assert abs(wide.width / wide.height - 16 / 9) < 0.02
    assert size_for_aspect("1:1", FIXED) == Extent(1024, 1024)
    with pytest.raises(InputError):
        size_for_aspect("wide", GPT2)


def test_crop_for_grows_one_dimension_only() -> None:
    assert crop_for(Extent(100, 100), Extent(1536, 1024)) == Extent(150, 100)
    assert crop_for(Extent(100, 100), Extent(1024, 1536)) == Extent(100, 150)


def test_custom_model_declared_in_settings() -> None:
    caps = capabilities("gpt-image-2.5", {"gpt-image-2.5": "flexible"})
    assert caps.flexible and caps.name == "gpt-image-2.5"
    assert snap_size(Extent(1500, 1000), caps) == Extent(1504, 1008)
    fixed = capabilities("future-fixed", {"future-fixed": "fixed"})
    assert snap_size(Extent(1500, 1000), fixed) == Extent(1536, 1024)
    with pytest.raises(InputError, match="Unknown model"):
        capabilities("gpt-image-2.5")
    with pytest.raises(InputError, match="flexible"):
        capabilities("x", {"x": "stretchy"})
