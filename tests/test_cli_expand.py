"""`python -m core expand` and `plan --by/--to/--size` against the stand-in, as a user runs them.

The stand-in answers an edit with the input inverted and tinted where the mask is transparent
and the input unchanged elsewhere, so what was painted, and where, can be judged from outside.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image, ImageChops, ImageStat

from core.cli import main
from core.expand import DEFAULT_OVERLAP_PX, EXPAND_PROMPT
from tests import cli_helpers
from tests.cli_helpers import cli_dirs, run


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


def run_json(capsys, *argv):
    code, report, err = cli_helpers.run_json(capsys, *argv)
    assert code == 0, err
    return report


def noisy(size, mode="RGB"):
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    return image.convert(mode)


def kept_box(offset, size, borders, reach):
    """The original's box on the new canvas minus ``reach`` on every side that grew."""
    (x, y), (w, h) = offset, size
    left, top, right, bottom = borders
    return (
        x + (reach if left else 0),
        y + (reach if top else 0),
        x + w - (reach if right else 0),
        y + h - (reach if bottom else 0),
    )


def check_expanded(out_path, original, report, overlap=DEFAULT_OVERLAP_PX):
    """Size, bit-identical kept area, opaque new area, and a fill that changed the seam band."""
    result = Image.open(out_path).convert("RGBA")
    width, height = report["canvas"]
    assert result.size == (width, height)
    x, y = report["offset"]
    borders = report["borders"]
    assert [x, y] == borders[:2]
    assert width == original.width + borders[0] + borders[2]
    assert height == original.height + borders[1] + borders[3]
    box = kept_box((x, y), original.size, borders, overlap)
    kept = result.crop(box)
    want = original.convert("RGBA").crop((box[0] - x, box[1] - y, box[2] - x, box[3] - y))
    assert ImageChops.difference(kept, want).getbbox() is None, "kept pixels changed"
    alpha = result.getchannel("A")
    hole = alpha.copy()
    hole.paste(255, (x, y, x + original.width, y + original.height))
    assert hole.getextrema() == (255, 255), "the new area is not fully opaque"
    return result


def test_expand_by_per_side_keeps_the_original_and_fills_the_rest(env, capsys, standin):
    src, out = env / "in.png", env / "out.png"
    original = noisy((640, 480))
    original.save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "100,50,30,0", "--prompt", "a meadow",
        "--quality", "low", "-o", out,
    )  # fmt: skip
    for key in ("canvas", "offset", "requests", "outputs", "cost_usd", "estimate_usd",
                "history_id"):  # fmt: skip
        assert key in report
    assert report["canvas"] == [770, 530] and report["offset"] == [100, 50]
    assert report["outputs"] == [str(out)]
    assert report["cost_usd"] > 0 and report["estimate_usd"] > 0
    (request,) = report["requests"]
    assert set(request) >= {"crop", "api_size"}
    result = check_expanded(out, original, report)
    # the bottom edge did not grow: it stays the original, right to the last row
    bottom = result.crop((108, 529, 732, 530)).convert("RGB")
    assert ImageChops.difference(bottom, original.crop((8, 479, 632, 480))).getbbox() is None
    # inside the overlap the fill is blended in: the first original column changed
    seam = result.crop((100, 200, 101, 300)).convert("RGB")
    assert ImageChops.difference(seam, original.crop((0, 150, 1, 250))).getbbox() is not None
    (record,) = standin.image_requests()
    assert record["endpoint"] == "edits" and record["mask"] is not None
    assert EXPAND_PROMPT in record["params"]["prompt"] and "a meadow" in record["params"]["prompt"]
    job = json.loads((env / "data" / "history" / report["history_id"] / "job.json").read_text())
    assert job["mode"] == "expand" and job["canvas"] == [770, 530]


def test_plan_writes_the_exact_upload_mask_transparent_over_new_area_and_overlap(env, capsys):
    src = env / "in.png"
    original = noisy((800, 656))
    original.save(src)
    report = run_json(capsys, "plan", "--image", src, "--by", "0,0,208,0", "--out", env / "up")
    assert report["canvas"] == [1008, 656] and report["offset"] == [0, 0]
    crop = report["requests"][0]["crop"]
    assert report["requests"][0]["api_size"] == report["api_size"]
    image = Image.open(env / "up" / "image.png")
    mask = Image.open(env / "up" / "mask.png").getchannel("A")
    assert image.size == mask.size == tuple(int(v) for v in report["api_size"].split("x"))
    assert report["scale"] == 1.0, "a 1008x656 canvas goes at native scale"
    cx, cy = crop[:2]
    edge = 800 - cx  # the old right edge, in crop (= api) pixels
    # the new area and the overlap are transparent in the mask, the rest is opaque
    assert mask.crop((edge, 0, mask.width, mask.height)).getextrema() == (0, 0)
    assert mask.crop((edge - DEFAULT_OVERLAP_PX, 0, edge, mask.height)).getextrema() == (0, 0)
    assert mask.crop((0, 0, edge - DEFAULT_OVERLAP_PX - 3, mask.height)).getextrema() == (
        255,
        255,
    )
    # the context band is the original as it is, the new area is transparent
    sent = image.convert("RGBA")
    band = sent.crop((0, 0, edge, sent.height)).convert("RGB")
    assert (
        ImageChops.difference(band, original.crop((cx, cy, 800, cy + sent.height))).getbbox()
        is None
    )
    assert sent.getchannel("A").crop((edge, 0, sent.width, sent.height)).getextrema() == (0, 0)
    # the band is as wide as the budget allows: here the whole original
    assert crop == [0, 0, 1008, 656]


@pytest.mark.parametrize(
    ("anchor", "offset"),
    [
        ("center", [106, 0]),
        ("left", [0, 0]),
        ("right", [213, 0]),
        ("top-left", [0, 0]),
        ("bottom-right", [213, 0]),
        ("TOP_RIGHT", [213, 0]),
    ],
)
def test_expand_to_aspect_places_the_original_by_anchor(env, capsys, standin, anchor, offset):
    src, out = env / "in.png", env / "wide.png"
    original = noisy((640, 480))
    original.save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--to", "16:9", "--anchor", anchor,
        "--quality", "low", "-o", out,
    )  # fmt: skip
    assert report["canvas"] == [853, 480] and report["offset"] == offset
    check_expanded(out, original, report)


def test_expand_to_a_taller_aspect_and_to_a_size(env, capsys, standin):
    src = env / "in.png"
    original = noisy((600, 400))
    original.save(src)
    tall = run_json(
        capsys, "expand", "--image", src, "--to", "9:16", "--anchor", "top",
        "--quality", "low", "-o", env / "tall.png",
    )  # fmt: skip
    assert tall["canvas"] == [600, 1067] and tall["offset"] == [0, 0]
    check_expanded(env / "tall.png", original, tall)
    sized = run_json(
        capsys, "expand", "--image", src, "--size", "1001x700", "--quality", "low",
        "-o", env / "sized.png",
    )  # fmt: skip
    assert sized["canvas"] == [1001, 700] and sized["offset"] == [200, 150]
    check_expanded(env / "sized.png", original, sized)


def test_expand_without_prompt_n_variants_and_overlap(env, capsys, standin):
    src = env / "in.png"
    original = noisy((512, 512), "RGBA")
    original.save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "64,64,64,64", "--overlap", "20", "-n", "2",
        "--quality", "low", "-o", env / "v.png",
    )  # fmt: skip
    assert report["outputs"] == [str(env / "v-1.png"), str(env / "v-2.png")]
    for path in report["outputs"]:
        check_expanded(path, original, report, overlap=20)
    (record,) = standin.image_requests()
    assert record["params"]["prompt"] == EXPAND_PROMPT
    assert int(record["params"]["n"]) == 2


def gradient(size):
    """A smooth picture (cheap to encode at tens of megapixels, unlike noise)."""
    w, h = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.new("L", size, 90)
    image = Image.merge("RGB", (red, green, blue))
    image.paste((10, 200, 30), (w // 3, h // 3, w // 3 + 64, h // 3 + 64))
    return image


def test_huge_target_is_scaled_down_without_distortion_and_says_so(env, capsys, standin):
    src, out = env / "big.png", env / "huge.png"
    original = gradient((3000, 2000))
    original.save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--size", "6000x4000", "--quality", "low", "-o", out
    )
    (request,) = report["requests"]
    assert request["scaled"] is True and request["scale"] < 0.6
    w, h = (int(v) for v in request["api_size"].split("x"))
    assert w * h <= 8_294_400 and w % 16 == 0 and h % 16 == 0
    crop = request["crop"]
    assert abs(w / h - crop[2] / crop[3]) < 0.01, "the crop is resized without distortion"
    assert crop[:2] == [0, 0] and crop[2] >= 6000 and crop[3] >= 4000
    assert report["note"] and "scale" in report["note"]
    check_expanded(out, original, report)
    (record,) = standin.image_requests()
    assert record["params"]["size"] == request["api_size"]


def test_estimate_counts_every_request_and_matches_the_plan(env, capsys, standin):
    src = env / "in.png"
    noisy((640, 480)).save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "0,0,400,0", "--quality", "high", "-n", "3",
        "-o", env / "e.png",
    )  # fmt: skip
    from core.pricing import estimate

    (request,) = report["requests"]
    one = estimate("gpt-image-2", "high", request["api_size"], n=3, input_images=[
        tuple(int(v) for v in request["api_size"].split("x"))
    ], prompt=EXPAND_PROMPT)  # fmt: skip
    assert report["estimate_usd"] == pytest.approx(one.usd, abs=0.01)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--by", "-10,0,0,0"], "negative"),
        (["--by", "0,0,0,0"], "Nothing to expand"),
        (["--by", "1,2,3"], "L,T,R,B"),
        (["--size", "300x900"], "smaller than the image"),
        (["--size", "abc"], "WxH"),
        (["--to", "4:1"], "3:1"),
        (["--to", "1:5", "--anchor", "top"], "3:1"),
        (["--to", "banana"], "aspect"),
        (["--to", "16:9", "--anchor", "upside"], "anchor"),
        (["--by", "0,0,10,0", "--overlap", "-3"], "overlap"),
        (["--by", "0,0,100000,0"], "too large"),
        (["--by", "10,0,0,0", "--anchor", "left"], "--anchor"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_sends_nothing(env, capsys, standin, args, reason):
    src = env / "in.png"
    noisy((640, 480)).save(src)
    code, _, err = run(capsys, "expand", "--image", src, *args, "-o", env / "x.png")
    assert code == 2, err
    assert reason.lower() in err.lower() and err.count("\n") == 1
    assert standin.image_requests() == []
    assert not (env / "x.png").exists()


def test_plan_accepts_the_same_targets_and_refuses_mixing_them(env, capsys):
    src = env / "in.png"
    noisy((640, 480)).save(src)
    report = run_json(
        capsys, "plan", "--image", src, "--to", "1:1", "--anchor", "bottom", "--out", env / "p"
    )
    assert report["canvas"] == [640, 640] and report["offset"] == [0, 160]
    report = run_json(capsys, "plan", "--image", src, "--size", "700x500", "--out", env / "q")
    assert report["canvas"] == [700, 500] and report["offset"] == [30, 10]
    code, _, err = run(capsys, "plan", "--image", src, "--by", "1,1,1,1", "--rect", "0,0,5,5",
                       "--out", env / "r")  # fmt: skip
    assert code == 2 and "selection" in err
    with pytest.raises(SystemExit):
        main(["plan", "--image", str(src), "--by", "1,1,1,1", "--to", "1:1", "--out", "x"])


def test_expand_keeps_alpha_of_a_transparent_original(env, capsys, standin):
    src = env / "in.png"
    original = noisy((400, 400), "RGBA")
    original.putpixel((200, 200), (1, 2, 3, 0))
    original.save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "0,100,0,100", "--quality", "low",
        "-o", env / "a.png",
    )  # fmt: skip
    result = check_expanded(env / "a.png", original, report)
    assert result.getpixel((200, 300)) == (1, 2, 3, 0)


def test_expand_fill_is_colour_matched_to_the_original(tmp_path):
    """A result whose kept area drifted is corrected before blending (as for masked edits)."""
    from core.expand import Borders, expand_canvas, expanded_reader, plan_expand
    from core.geometry import Extent
    from core.pipeline import build_layer, build_upload

    original = gradient((800, 600))
    plan = plan_expand(Extent(800, 600), Borders(0, 0, 300, 0))
    read = expanded_reader(lambda b: original.convert("RGBA").crop(b.box), plan.expansion)
    upload = build_upload(plan, read(plan.source_bounds))
    sent = Image.open(io.BytesIO(upload.image_png)).convert("RGBA")
    drifted = sent.point([min(255, v + 25) for v in range(256)] * 3 + list(range(256)))
    patch = build_layer(plan, drifted, sent)
    base = expand_canvas(original, plan.expansion)
    kept = patch.image.crop((100, 100, 700, 500)).convert("RGB")
    diff = ImageStat.Stat(ImageChops.difference(kept, original.crop((100, 100, 700, 500))))
    assert max(diff.mean) < 3, "the drift was not corrected"
    assert base.size == (1100, 600)


def test_sixteen_bit_gray_keeps_its_values_beyond_the_overlap(env, capsys, standin):
    import numpy as np

    src, out = env / "deep.png", env / "deep-out.png"
    values = (np.arange(300 * 200, dtype=np.uint32).reshape(200, 300) * 37 % 65536).astype(
        np.uint16
    )
    Image.frombytes("I;16", (300, 200), values.tobytes()).save(src)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "0,0,64,0", "--quality", "low", "-o", out
    )
    assert report["canvas"] == [364, 200]
    with Image.open(out) as result:
        got = np.asarray(result)
    assert got.shape[:2] == (200, 364)
    kept = got[:, : 300 - DEFAULT_OVERLAP_PX]
    if kept.ndim == 3:
        kept = kept[..., 0]
    assert kept.dtype == np.uint16 or kept.max() > 255, "the output lost its 16 bits"
    assert np.array_equal(kept.astype(np.uint16), values[:, : 300 - DEFAULT_OVERLAP_PX])


def test_exif_rotation_is_applied_before_the_borders(env, capsys, standin):
    src = env / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    noisy((400, 300)).save(src, exif=exif.tobytes(), quality=95)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "10,0,0,0", "--quality", "low",
        "-o", env / "r.png",
    )  # fmt: skip
    assert report["canvas"] == [310, 400], "the displayed (upright) picture is expanded"


def test_a_reference_guides_the_fill_and_n_is_range_checked(env, capsys, standin):
    src, ref = env / "in.png", env / "style.png"
    noisy((400, 300)).save(src)
    noisy((64, 48)).save(ref)
    report = run_json(
        capsys, "expand", "--image", src, "--by", "0,0,100,0", "--reference", ref,
        "--quality", "low", "-o", env / "g.png",
    )  # fmt: skip
    (record,) = standin.image_requests()
    sizes = [tuple(image["size"]) for image in record["images"]]
    assert len(sizes) == 2 and sizes[1] == (64, 48), sizes
    assert report["canvas"] == [500, 300]
    code, _, err = run(capsys, "expand", "--image", src, "--by", "0,0,10,0", "-n", "11",
                       "-o", env / "x.png")  # fmt: skip
    assert code == 2 and "1 to 10" in err
    assert len(standin.image_requests()) == 1
