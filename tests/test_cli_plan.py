"""``python -m core plan``: the dry run writes exactly what would be uploaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from core.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def canvas(tmp_path: Path) -> Path:
    path = tmp_path / "canvas.png"
    Image.effect_noise((1200, 900), 60).convert("RGB").save(path)
    return path


def mask_file(tmp_path: Path, box: tuple[int, int, int, int], mode: str = "L") -> Path:
    mask = Image.new("L", (1200, 900), 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    path = tmp_path / f"mask-{mode}.png"
    if mode == "RGBA":  # selection carried in alpha, colour irrelevant
        image = Image.new("RGBA", (1200, 900), (255, 255, 255, 0))
        image.putalpha(mask)
        image.save(path)
    else:
        mask.save(path)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_plan_masked_edit_writes_image_and_mask(tmp_path: Path, canvas: Path, mode: str) -> None:
    out = tmp_path / "out"
    sel = mask_file(tmp_path, (1001, 13, 1199, 301), mode)
    proc = run_cli(
        "plan", "--image", str(canvas), "--selection", str(sel), "--out", str(out), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    x, y, w, h = report["crop"]
    assert report["model"] == "gpt-image-2" and report["mode"] == "edit_selection"
    aw, ah = (int(v) for v in report["api_size"].split("x"))
    assert report["scale"] == pytest.approx(aw / w, abs=1e-4)
    assert x <= 1001 and y <= 13 and x + w >= 1199 and y + h >= 301
    image, mask = Image.open(out / "image.png"), Image.open(out / "mask.png")
    assert image.size == mask.size == (aw, ah) and mask.mode == "RGBA"
    # Selection centre (1100, 157) is editable (alpha 0); the far corner is kept.
    centre = (int((1100 - x) * aw / w), int((157 - y) * ah / h))
    assert mask.getchannel("A").getpixel(centre) == 0
    assert mask.getchannel("A").getpixel((0, ah - 1)) == 255


def test_plan_rect_json_and_whole_image(tmp_path: Path, canvas: Path, capsys) -> None:
    assert (
        main(
            [
                "plan",
                "--image",
                str(canvas),
                "--rect",
                "5,7,100,50",
                "--out",
                str(tmp_path / "r"),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["crop"][0] == 0 and report["crop"][1] == 0
    assert (tmp_path / "r" / "mask.png").exists()
    assert main(["plan", "--image", str(canvas), "--out", str(tmp_path / "w"), "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert whole["mode"] == "edit_image" and whole["crop"] == [0, 0, 1200, 900]
    assert (tmp_path / "w" / "image.png").exists() and not (tmp_path / "w" / "mask.png").exists()


def test_plan_explicit_resolution_and_fixed_model(tmp_path: Path, canvas: Path, capsys) -> None:
    args = ["plan", "--image", str(canvas), "--rect", "300,200,400,300", "--json"]
    assert main([*args, "--resolution", "2K", "--out", str(tmp_path / "a")]) == 0
    report = json.loads(capsys.readouterr().out)
    w, h = (int(v) for v in report["api_size"].split("x"))
    assert 3.5e6 < w * h < 4.6e6 and report["scale"] > 1
    assert main([*args, "--model", "gpt-image-1.5", "--out", str(tmp_path / "b")]) == 0
    assert json.loads(capsys.readouterr().out)["api_size"] in (
        "1024x1024",
        "1536x1024",
        "1024x1536",
    )


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--image", "missing.png"], "No such image"),
        (["--rect", "5000,5000,10,10"], "selection is empty"),
        (["--model", "gpt-image-9"], "Unknown model"),
        (["--resolution", "1920x1080"], "multiples of 16"),
        (["--rect", "1,2,3"], "X,Y,W,H"),
    ],
)
def test_plan_bad_input_exits_2_with_one_line(
    tmp_path: Path, canvas: Path, extra: list[str], reason: str
) -> None:
    args = ["plan", "--image", str(canvas), "--out", str(tmp_path / "o")]
    if extra[0] == "--image":
        args = ["plan", "--image", str(tmp_path / extra[1]), "--out", str(tmp_path / "o")]
    else:
        args += extra
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert reason in proc.stderr and proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_plan_mask_of_another_size_and_empty_mask(tmp_path: Path, canvas: Path) -> None:
    small = tmp_path / "small.png"
    Image.new("L", (10, 10), 255).save(small)
    proc = run_cli(
        "plan", "--image", str(canvas), "--selection", str(small), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2 and "10x10" in proc.stderr and "1200x900" in proc.stderr
    empty = tmp_path / "empty.png"
    Image.new("L", (1200, 900), 0).save(empty)
    proc = run_cli(
        "plan", "--image", str(canvas), "--selection", str(empty), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2 and "empty" in proc.stderr
