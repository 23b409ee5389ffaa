"""What `python -m core edit` writes: fast PNGs by default, `--compression` for smaller ones,
each variant blended into the original on its own (the canvas is reused, not copied)."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from PIL import Image

from core.cli import main
from core.history import History
from core.jobs import patches_from_history
from core.pipeline import composite
from tests.cli_helpers import cli_dirs


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


def edit(capsys, *argv) -> dict:
    code = main(["edit", *map(str, argv), "--quality", "low", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def zlib_level_flags(path: Path) -> int:
    """FLEVEL of the first IDAT's zlib header: 0 fastest (level 1), 1, 2 default (6), 3 best."""
    data = path.read_bytes()
    at = 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            return data[at + 9] >> 6
        at += 12 + length
    raise AssertionError("no IDAT")


def smooth_image(size=(900, 700), mode="RGB") -> Image.Image:
    """Compressible (gradients) with some grain, so zlib levels differ in size."""
    grad = Image.linear_gradient("L").resize(size)
    grain = Image.frombytes("L", size, os.urandom(size[0] * size[1])).point(lambda v: v // 32)
    rgb = Image.merge("RGB", (grad, grad.transpose(Image.Transpose.ROTATE_180), grain))
    return rgb.convert(mode)


def test_default_png_is_fast_and_compression_makes_it_smaller(env, capsys):
    src = env / "in.png"
    smooth_image().save(src)
    rect = ["--rect", "200,150,300,200"]
    edit(capsys, "--image", src, *rect, "--prompt", "a kite", "-o", env / "fast.png")
    edit(
        capsys, "--image", src, *rect, "--prompt", "a kite", "--compression", "100",
        "-o", env / "small.png",
    )  # fmt: skip
    fast, small = env / "fast.png", env / "small.png"
    assert zlib_level_flags(fast) == 0  # zlib level 1
    assert zlib_level_flags(small) == 3  # level 9
    assert small.stat().st_size < fast.stat().st_size
    with Image.open(fast) as a, Image.open(small) as b:
        assert a.mode == b.mode == "RGB" and a.size == b.size


def test_compression_out_of_range_is_refused_before_sending(env, capsys, standin):
    src = env / "in.png"
    smooth_image((300, 200)).save(src)
    code = main(["edit", "--image", str(src), "--prompt", "x", "--compression", "101",
                 "-o", str(env / "o.png")])  # fmt: skip
    assert code == 2
    assert standin.image_requests() == []
    assert not (env / "o.png").exists()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_each_variant_is_blended_into_the_original_alone(env, capsys, mode):
    src = env / "in.png"
    original = smooth_image((640, 480), "RGB")
    if mode == "RGBA":
        original = original.convert("RGBA")
        original.putpixel((3, 3), (9, 8, 7, 0))
    else:
        original = original.convert(mode)
    original.save(src)
    report = edit(
        capsys, "--image", src, "--rect", "250,180,160,120", "--prompt", "a hat", "-n", "3",
        "-o", env / "v.png",
    )  # fmt: skip
    record = History(env / "data" / "history").get(report["history_id"])
    patches = patches_from_history(record)
    assert len(patches) == len(report["outputs"]) == 3
    with Image.open(src) as decoded:
        base = decoded.convert("RGBA")
    for path, patch in zip(report["outputs"], patches, strict=True):
        want = composite(base, patch)
        want = want if mode == "RGBA" else want.convert("RGB")
        with Image.open(path) as got:
            assert got.mode == want.mode
            assert got.tobytes() == want.tobytes(), f"{path} is not original + its own result"


def test_whole_image_edit_without_selection_is_the_result(env, capsys):
    src = env / "in.png"
    smooth_image((512, 384)).save(src)
    report = edit(capsys, "--image", src, "--prompt", "night", "-o", env / "n.png")
    record = History(env / "data" / "history").get(report["history_id"])
    (patch,) = patches_from_history(record)
    with Image.open(env / "n.png") as got:
        assert got.tobytes() == patch.image.convert("RGB").tobytes()
