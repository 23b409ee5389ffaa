"""Hostile and unlucky inputs through the CLI, as a person runs it.

Every case checks the same promises: a clear one-line message and the right exit code, no
traceback, no "Internal error" for bad input, nothing sent when the input is bad, no paid result
lost (it is in the output, in history, or in a file the message names), and no silent damage to
the picture (outside the selection the output holds the input's values).
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from core.imagefile import open_image
from tests.cli_helpers import ROOT, child_env, cli_dirs
from tests.cli_helpers import run as cli

SECRET = "sk-proj-HOSTILE-3c9d1e7a5b2f8064ab"  # distinctive: any 6-char run of it is a leak


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    cli_dirs(tmp_path, monkeypatch, standin, SECRET, make_config=True, clear_proxies=True)
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(rescue))
    return tmp_path


def assert_clean(err: str, out: str = "") -> None:
    """No traceback, no internal error, no part of the key, anywhere a person would look."""
    for text in (err, out):
        assert "Traceback" not in text and "Internal error" not in text, text
        assert "Logging error" not in text, text
        for i in range(len(SECRET) - 6):
            assert SECRET[i : i + 7] not in text, "a piece of the key leaked"


def assert_bad_input(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word.lower() in err.lower(), err
    assert_clean(err, out)


def history_jobs(env: Path) -> list[dict]:
    root = env / "data" / "history"
    found = []
    for folder in sorted(root.iterdir()) if root.exists() else []:
        if not folder.name.startswith("."):
            data = json.loads((folder / "job.json").read_text())
            data["folder"] = folder
            found.append(data)
    return found


def photo(size=(320, 240), mode="RGB", seed=1) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = len(mode)
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels if channels > 1 else pixels[..., 0])


def png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand (Pillow writes no 16-bit colour), filter 0 rows."""
    height, width = values.shape[:2]
    channels = 1 if values.ndim == 2 else values.shape[2]
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its data does not have (a decompression bomb's shape)."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def adobe_rgb_profile() -> bytes:
    """A matrix/TRC ICC v2 display profile with Adobe RGB (1998) primaries (D50-adapted)."""

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ \x00\x00\x00\x00" + s15(x) + s15(y) + s15(z)

    curve = b"curv\x00\x00\x00\x00" + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\x00\x00"
    text = b"Adobe RGB test\x00"
    desc = (
        b"desc\x00\x00\x00\x00" + struct.pack(">I", len(text)) + text
        + b"\x00" * 8 + b"\x00\x00\x00" + b"\x00" * 67
    )  # fmt: skip
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097559, 0.3111145, 0.0194702)),
        (b"gXYZ", xyz(0.2052401, 0.6256714, 0.0608902)),
        (b"bXYZ", xyz(0.1492240, 0.0632141, 0.7445396)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\x00" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\x00" * 12 + b"acsp" + b"\x00" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249)
        + b"\x00" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def saved(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, **options)
    return path


def watch_for_job(env: Path, action, timeout: float = 20.0) -> threading.Thread:
    """Run ``action(job_folder)`` as soon as a job folder appears (while the API answers)."""

    def run():
        root = env / "data" / "history"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if root.exists():
                for folder in root.iterdir():
                    if not folder.name.startswith(".") and (folder / "job.json").exists():
                        action(folder)
                        return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def cli_env(env: Path, standin, **extra: str) -> dict[str, str]:
    return child_env(env, standin, SECRET, clear_proxies=True, **extra)


# --- paid results and disk space -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("/dev/full", "not a regular file"),
        ("folder", "is a folder"),
        ("blocker/o.png", "not a folder"),
        ("readonly.png", "read-only"),
    ],
)
def test_outputs_that_cannot_be_written_are_refused_before_sending(
    env, capsys, standin, target, words
):
    (env / "folder").mkdir()
    (env / "blocker").write_text("a file where a folder should be")
    readonly = env / "readonly.png"
    readonly.write_bytes(b"x")
    readonly.chmod(0o444)
    out = target if target.startswith("/") else env / target
    if target == "readonly.png" and os.access(readonly, os.W_OK):
        # root may write read-only files: then the honest outcome is that writing works
        code, _out, err = cli(capsys, "generate", "--prompt", "x", "--quality", "low", "-o", out)
        assert code == 0 and readonly.read_bytes() != b"x"
        return
    code, stdout, err = cli(capsys, "generate", "--prompt", "x", "--quality", "low", "-o", out)
    assert_bad_input(code, stdout, err, words)
    assert standin.stats()["image_requests"] == 0
    assert history_jobs(env) == []


def test_output_dir_slash_means_a_file_inside_never_a_sibling(env, capsys, standin):
    code, out, err = cli(
        capsys,
        "generate",
        "--prompt",
        "x",
        "--quality",
        "low",
        "-o",
        f"{env / 'outdir'}/",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    (written,) = report["outputs"]
    assert Path(written).parent == env / "outdir" and Path(written).is_file()
    assert not (env / "outdir.png").exists()
    image = env / "in.png"
    saved(image, photo())
    code, out, err = cli(
        capsys,
        "edit",
        "--image",
        image,
        "--rect",
        "10,10,50,50",
        "--prompt",
        "y",
        "-n",
        "2",
        "-o",
        f"{env / 'outdir'}/",
        "--json",
    )
    assert code == 0, err
    outputs = [Path(p) for p in json.loads(out)["outputs"]]
    assert [p.parent for p in outputs] == [env / "outdir"] * 2
    assert len(set(outputs)) == 2 and all(p.is_file() for p in outputs) and Path(written).is_file()


def test_output_failing_after_the_answer_keeps_the_result_in_history_and_export_writes_it(
    env, capsys, standin
):
    out = env / "out.png"
    standin.queue_faults([{"kind": "slow", "seconds": 1.5}])
    watcher = watch_for_job(
        env, lambda _folder: out.mkdir()
    )  # the output's place is taken meanwhile
    code, stdout, err = cli(capsys, "generate", "--prompt", "a kite", "--quality", "low", "-o", out)
    watcher.join()
    assert code == 2 and "kept in history" in err, err
    assert_clean(err, stdout)
    (job,) = history_jobs(env)
    stored = job["folder"] / "result-1.png"
    assert job["status"] == "done" and stored.exists()
    assert f"history export {job['id']} -o OUT" in err
    code, stdout, err = cli(capsys, "history", "export", job["id"], "-o", env / "again.png")
    assert code == 0, err
    assert (env / "again.png").read_bytes() == stored.read_bytes()


def test_history_that_cannot_take_the_result_leaves_it_in_a_named_file(env, capsys, standin):
    out = env / "blocked.png"
    standin.queue_faults([{"kind": "slow", "seconds": 1.5}])

    def block(folder: Path) -> None:
        (folder / "result-1.png").mkdir()  # history can't write the result there
        out.mkdir()  # and the output can't be written either

    watcher = watch_for_job(env, block)
    code, stdout, err = cli(
        capsys, "generate", "--prompt", "a heron", "--quality", "low", "-o", out
    )
    watcher.join()
    assert code == 2, err
    assert_clean(err, stdout)
    assert "kept in history" not in err.split("error:")[-1], "history holds no copy"
    rescued = [p for p in (env / "rescue").iterdir() if p.name.startswith("gpt-image-result-")]
    assert rescued and str(rescued[0]) in err
    with Image.open(rescued[0]) as image:
        assert image.size == (1024, 1024)


def test_a_log_file_that_cannot_be_written_is_reported_once_and_the_job_goes_on(
    env, capsys, standin
):
    logs = env / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "cli.log").symlink_to("/dev/full")
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--quality", "low", "-v", "-o", env / "o.png"
    )
    assert code == 0, err
    assert err.count("cannot write the log file") == 1
    assert_clean(err, out)
    assert (env / "o.png").exists()


def test_a_disk_that_takes_nothing_after_the_answer_says_so_truthfully(
    env, capsys, standin, monkeypatch
):
    """History, output and every rescue folder fail once the API has answered: the message
    must not claim the result is kept anywhere, and the exit code says it failed."""
    # Only core's own rescue folders are taken away (a missing temp folder and home, a deleted
    # working folder): patching tempfile, HOME and the cwd of this whole process also moved
    # those of the host runs prefetched on other threads (seen in CI: a GIMP bundle build
    # failed in the missing temp folder, and a host job made the missing home exist).
    out = env / "o.png"
    gone = env / "gone"
    missing = [env / "no-such-temp", env / "no-such-home", gone]
    monkeypatch.setattr("core.rescue.rescue_folders", lambda: list(missing))
    standin.queue_faults([{"kind": "slow", "seconds": 1.5}])

    def block(folder: Path) -> None:
        (folder / "result-1.png").mkdir()
        out.mkdir()

    watcher = watch_for_job(env, block)
    code, stdout, err = cli(capsys, "generate", "--prompt", "x", "--quality", "low", "-o", out)
    watcher.join()
    assert_clean(err, stdout)
    assert code == 4, err
    assert "could not be kept anywhere" in err
    assert "kept in history" not in err and "kept as" not in err


def test_interrupted_job_results_can_be_exported_composited(env, capsys, standin):
    image = env / "in.png"
    saved(image, photo((400, 300)))
    code, out, err = cli(
        capsys,
        "edit",
        "--image",
        image,
        "--rect",
        "50,40,100,80",
        "--prompt",
        "a hat",
        "-o",
        env / "edit.png",
        "--json",
    )
    assert code == 0, err
    (job,) = history_jobs(env)
    record = job["folder"] / "job.json"
    data = json.loads(record.read_text())
    data.update(status="running", pid=2**22 + 12345, host=socket.gethostname())  # its process died
    record.write_text(json.dumps(data))
    code, out, err = cli(
        capsys, "history", "export", job["id"], "-o", env / "exported.png", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["composited"] and report["status"] == "interrupted"
    assert Image.open(env / "exported.png").tobytes() == Image.open(env / "edit.png").tobytes()
    code, out, err = cli(capsys, "history", "export", job["id"], "--raw", "-o", env / "raw.png")
    assert code == 0, err
    assert (env / "raw.png").read_bytes() == (job["folder"] / "result-1.png").read_bytes()
    image.write_bytes(b"changed")  # the original changed since: refuse rather than guess
    code, out, err = cli(capsys, "history", "export", job["id"], "-o", env / "x.png")
    assert_bad_input(code, out, err, "changed")


# --- images are read as the person sees them ----------------------------------------------


def test_exif_orientation_is_applied_on_read_and_not_written(env, capsys, standin):
    stored = photo((200, 120))
    exif = stored.getexif()
    exif[0x0112] = 6  # display rotated 90° clockwise: 120 wide, 200 high
    path = saved(env / "rot.jpg", stored, exif=exif.tobytes(), quality=95)
    displayed = open_image(path).pixels
    assert displayed.size == (120, 200)
    code, out, err = cli(
        capsys,
        "edit",
        "--image",
        path,
        "--rect",
        "10,150,40,40",
        "--prompt",
        "x",
        "-o",
        env / "o.png",
        "--json",
    )
    assert code == 0, err
    result = Image.open(env / "o.png")
    assert result.size == (120, 200) and 0x0112 not in result.getexif()
    ours, theirs = np.asarray(result.convert("RGB")), np.asarray(displayed.convert("RGB"))
    assert (ours[:100] == theirs[:100]).all(), "outside the selection: the displayed pixels"
    assert json.loads(out)["crop"][3] <= 200
    code, out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", env / "o.jpg")
    assert code == 0, err
    with Image.open(env / "o.jpg") as again:
        assert again.size == (120, 200) and again.getexif().get(0x0112) in (None, 1)


def test_16_bit_gray_png_keeps_its_values_outside_the_selection(env, capsys, standin):
    values = (np.arange(240 * 320).reshape(240, 320) * 7 % 65536).astype(np.uint16)
    path = env / "deep.png"
    Image.fromarray(values).save(path)
    code, _out, err = cli(
        capsys,
        "edit",
        "--image",
        path,
        "--rect",
        "100,100,40,40",
        "--prompt",
        "x",
        "-o",
        env / "o.png",
    )
    assert code == 0, err
    result = Image.open(env / "o.png")
    assert result.mode.startswith("I")
    got = np.asarray(result).astype(np.uint16)
    assert (got[:60] == values[:60]).all() and (got[:, :60] == values[:, :60]).all()
    code, _out, err = cli(capsys, "plan", "--image", path, "--out", env / "plan", "--json")
    sent = np.asarray(Image.open(env / "plan" / "image.png").convert("L")).astype(int)
    assert abs(sent.mean() - values.mean() / 257) < 3, "scaled to 8 bits, not clipped to white"


def test_16_bit_rgba_png_keeps_its_values_outside_the_selection(env, capsys, standin):
    rng = np.random.default_rng(3)
    values = rng.integers(0, 65536, (120, 160, 4), dtype=np.uint16)
    values[..., 3] = 65535
    path = env / "deep.png"
    path.write_bytes(png16(values))
    code, _out, err = cli(
        capsys,
        "edit",
        "--image",
        path,
        "--rect",
        "60,40,30,30",
        "--prompt",
        "x",
        "-o",
        env / "o.png",
    )
    assert code == 0, err
    back = open_image(env / "o.png").deep
    assert back is not None and back.shape == values.shape
    assert (back[:20] == values[:20]).all(), "outside the selection, value for value"
    assert not (back[50:60, 70:80] == values[50:60, 70:80]).all(), "inside, the result"


def test_16_bit_selection_mask_is_scaled_not_clipped(env, capsys, standin):
    path = saved(env / "img.png", photo((320, 240)))
    mask = np.zeros((240, 320), dtype=np.uint16)
    mask[100:140, 150:200] = 65535
    mask[0:240, 0:10] = 40  # faint noise: 40/65535 is no selection, not full white
    Image.fromarray(mask).save(env / "mask.png")
    code, out, err = cli(
        capsys,
        "plan",
        "--image",
        path,
        "--selection",
        env / "mask.png",
        "--out",
        env / "p",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["mode"] == "edit_selection" and report["masked"]
    x, y, w, _h = report["crop"]
    keep = Image.open(env / "p" / "mask.png").getchannel("A")
    scale = keep.size[0] / w
    # alpha 255 = keep: the faint stripe at the left is not selected (clipping made it white)
    assert keep.getpixel((int((5 - x) * scale), int((200 - y) * scale))) == 255
    assert keep.getpixel((int((175 - x) * scale), int((120 - y) * scale))) == 0


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_use_the_first_frame_with_a_warning(env, capsys, standin, fmt):
    frames = [Image.new("RGB", (64, 48), colour) for colour in ((200, 0, 0), (0, 200, 0))]
    path = env / f"anim.{fmt.lower()}"
    frames[0].save(
        path,
        fmt,
        save_all=True,
        append_images=frames[1:],
        **({"lossless": True} if fmt == "WEBP" else {}),
    )
    code, out, err = cli(capsys, "plan", "--image", path, "--out", env / "p")
    assert code == 0 and "warning:" in err and "first frame" in err
    code, out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", env / "o.png")
    assert code == 0 and "first frame" in err
    assert_clean(err, out)


def test_32_bit_values_a_png_cannot_keep_are_refused_and_16_bit_ones_kept(env, capsys, standin):
    """A 32-bit integer TIFF used to be clipped to 16 bits, silently changing the picture
    outside the selection; values that fit are kept exactly."""
    values = np.arange(64 * 48, dtype=np.int32).reshape(48, 64)
    Image.fromarray(values * 9000).save(env / "deep.tif")
    code, out, err = cli(
        capsys, "edit", "--image", env / "deep.tif", "--rect", "0,0,8,8", "--prompt", "x",
        "-o", env / "o.png",
    )  # fmt: skip
    assert_bad_input(code, out, err, "32-bit values (0 to 27639000)")
    assert standin.stats()["image_requests"] == 0 and not (env / "o.png").exists()

    Image.fromarray(values * 20).save(env / "fits.tif")
    code, out, err = cli(
        capsys, "edit", "--image", env / "fits.tif", "--rect", "0,0,8,8", "--prompt", "x",
        "--quality", "low", "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0, err
    written = np.asarray(Image.open(env / "o.png")).astype(np.int64)
    assert (written[40:, 40:] == values[40:, 40:] * 20).all()  # far from the selection


def test_a_transparent_background_into_a_jpeg_is_refused_before_sending(env, capsys, standin):
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--background", "transparent", "-o", env / "t.jpg"
    )
    assert_bad_input(code, out, err, "JPEG", "no transparency", ".png or .webp")
    assert standin.stats()["image_requests"] == 0 and not (env / "t.jpg").exists()
    # asked of the API as JPEG: refused before the job starts, so History records no "failed"
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--background", "transparent", "--format", "jpeg",
        "-o", env / "t.png",
    )  # fmt: skip
    assert_bad_input(code, out, err, "needs PNG or WebP output")
    assert standin.stats()["image_requests"] == 0
    assert not list((env / "data" / "history").glob("2*"))


def test_a_see_through_image_written_as_jpeg_is_flattened_onto_white_and_says_so(
    env, capsys, standin
):
    """Dropping the alpha channel showed the colour hidden under transparent pixels (here
    red); image editors flatten onto white, and the person is told."""
    picture = Image.new("RGBA", (160, 120), (0, 0, 200, 255))
    picture.paste((200, 0, 0, 0), (0, 0, 80, 120))  # the left half: transparent red
    saved(env / "half.png", picture)
    code, _out, err = cli(
        capsys, "edit", "--image", env / "half.png", "--rect", "120,80,20,20", "--prompt", "x",
        "--quality", "low", "-o", env / "o.jpg",
    )  # fmt: skip
    assert code == 0 and "warning: " in err and "flattened onto white" in err, err
    written = Image.open(env / "o.jpg")
    assert written.mode == "RGB"
    near = lambda got, want: max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 3  # noqa: E731
    assert near(written.getpixel((10, 10)), (255, 255, 255))
    assert near(written.getpixel((90, 10)), (0, 0, 200))

    saved(env / "opaque.png", Image.new("RGBA", (160, 120), (0, 0, 200, 255)))
    code, _out, err = cli(
        capsys, "edit", "--image", env / "opaque.png", "--rect", "120,80,20,20", "--prompt", "x",
        "--quality", "low", "-o", env / "p.jpg",
    )  # fmt: skip
    assert code == 0 and "warning" not in err, err  # nothing see-through: nothing to say


def test_a_float_image_is_edited_as_8_bit_and_says_so(env, capsys, standin):
    ramp = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    Image.fromarray(ramp).save(env / "float.tif")
    code, _out, err = cli(
        capsys, "edit", "--image", env / "float.tif", "--rect", "0,0,8,8", "--prompt", "x",
        "--quality", "low", "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0 and "warning: " in err and "written as 8-bit" in err, err
    written = np.asarray(Image.open(env / "o.png").convert("L")).astype(np.int64)
    assert (written[40:, 40:] == np.round(ramp[40:, 40:] * 255)).all()


def test_an_adobe_rgb_photo_goes_to_the_model_in_srgb_and_comes_back_in_its_own_space(
    env, capsys, standin
):
    icc = adobe_rgb_profile()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert "srgb" not in ImageCms.getProfileDescription(profile).lower()
    picture = Image.new("RGB", (300, 200), (40, 160, 60))
    path = saved(env / "adobe.png", picture, icc_profile=icc)
    code, _out, err = cli(capsys, "plan", "--image", path, "--out", env / "p")
    assert code == 0, err
    sent = Image.open(env / "p" / "image.png").convert("RGB").getpixel((10, 10))
    expected = ImageCms.profileToProfile(picture, profile, ImageCms.createProfile("sRGB")).getpixel(
        (0, 0)
    )
    assert sent == expected and sent != (40, 160, 60)
    code, _out, err = cli(
        capsys,
        "edit",
        "--image",
        path,
        "--rect",
        "100,80,40,40",
        "--prompt",
        "x",
        "-o",
        env / "o.png",
    )
    assert code == 0, err
    result = Image.open(env / "o.png")
    assert result.info.get("icc_profile") == icc
    assert result.convert("RGB").getpixel((5, 5)) == (40, 160, 60), "outside: the file's own values"


BOMBS = [
    ("header 100000x100000", "image", png_header_only(100_000, 100_000)),
    ("header 40000x8", "image", png_header_only(40_000, 8)),
]


@pytest.mark.parametrize(("name", "kind", "data"), BOMBS, ids=[b[0] for b in BOMBS])
@pytest.mark.parametrize("command", ["plan", "edit"])
def test_absurd_image_headers_are_bad_input(env, capsys, standin, name, kind, data, command):
    path = env / "bomb.png"
    path.write_bytes(data)
    argv = ["--image", path]
    argv += ["--out", env / "p"] if command == "plan" else ["--prompt", "x", "-o", env / "o.png"]
    code, out, err = cli(capsys, command, *argv)
    assert_bad_input(code, out, err, "largest")
    assert standin.stats()["image_requests"] == 0


ABSURD_OPTIONS = [
    (["--rect", "0,0,100000,100000"], "reaches past"),
    (["--rect", "12345678901,0,10,10"], "--rect"),
    (["--rect", "0,0,99999999999,99999999999"], "--rect"),
    (["--rect=-5,-5,10,10"], "starts left of or above the 320x240 image"),
    (["--rect", "500,500,10,10"], "selection is empty"),
    (["--rect", "1,1,١٢,5"], "X,Y,W,H"),
    (["--feather", "100000"], "feather"),
    (["--grow", "1000000"], "grow"),
    (["--padding", "-3"], "padding"),
    (["--padding", "999999999999"], "padding"),
    (["--resolution", "99999x99999"], ""),
    (["--resolution", "0x0"], ""),
    (["--model", "gpt-image-\u202e"], ""),
]


@pytest.mark.parametrize(
    ("extra", "words"), ABSURD_OPTIONS, ids=[" ".join(e) for e, _ in ABSURD_OPTIONS]
)
@pytest.mark.parametrize("command", ["plan", "edit"])
def test_absurd_option_values_are_bad_input_in_plan_and_edit(
    env, capsys, standin, extra, words, command
):
    path = saved(env / "img.png", photo((320, 240)))
    argv = ["--image", path, *extra]
    argv += ["--out", env / "p"] if command == "plan" else ["--prompt", "x", "-o", env / "o.png"]
    code, out, err = cli(capsys, command, *argv)
    assert_bad_input(code, out, err, words)
    assert standin.stats()["image_requests"] == 0
    assert not (env / "o.png").exists()


def test_option_ranges_come_from_the_option_definition(env, capsys):
    from core.settings import BLEND_RANGES, Settings

    for name, (low, high) in BLEND_RANGES.items():
        flag = "--" + name.removesuffix("_px")
        path = saved(env / "img.png", photo((64, 64)))
        code, _out, err = cli(
            capsys, "plan", "--image", path, flag, str(high + 1), "--out", env / "p"
        )
        assert code == 2 and f"{low} to {high}" in err
        code, _out, err = cli(capsys, "plan", "--image", path, flag, str(high), "--out", env / "p")
        assert code == 0, err
        with pytest.raises(ValueError):
            Settings(**{name: high + 1})


def test_opaque_whole_image_uploads_are_rgb_with_repeated_edges(env, capsys, standin):
    picture = photo((1000, 700))
    path = saved(env / "wide.png", picture)
    code, _out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", env / "o.png")
    assert code == 0, err
    upload = standin.requests[-1]["images"][0]
    assert upload["mode"] == "RGB", "an opaque source goes up opaque"
    code, _out, err = cli(capsys, "plan", "--image", path, "--out", env / "p", "--json")
    sent = Image.open(env / "p" / "image.png")
    assert sent.mode == "RGB" and sent.size == (1008, 704)
    columns = np.asarray(sent).astype(int)
    # the padded first and last columns repeat their neighbours (resampling blurs a little)
    assert np.abs(columns[:, 0] - columns[:, 1]).mean() < 40
    assert np.abs(columns[:, -1] - columns[:, -2]).mean() < 40


def test_transparent_sources_still_upload_their_alpha(env, capsys, standin):
    picture = photo((300, 200), "RGBA")
    path = saved(env / "alpha.png", picture)
    code, _out, err = cli(capsys, "plan", "--image", path, "--out", env / "p")
    assert code == 0, err
    assert Image.open(env / "p" / "image.png").mode == "RGBA"


# --- keys, settings, history text -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        (f"  {SECRET}\n", True),
        (f"\ufeff{SECRET}\r\n", True),
        (f"{SECRET}\u200b", True),
        (f"{SECRET[:20]}\n{SECRET[20:]}", False),
        (f"{SECRET[:20]} {SECRET[20:]}", False),
        (f"{SECRET[:20]}\u00e9{SECRET[20:]}", False),
        (f"{SECRET[:20]}\x07{SECRET[20:]}", False),
        (f"{SECRET[:20]}\u200b{SECRET[20:]}", False),
    ],
)
@pytest.mark.parametrize("where", ["env", "file"])
def test_keys_are_normalised_or_refused_without_showing_any_of_them(
    env, capsys, standin, monkeypatch, key, ok, where
):
    if where == "env":
        monkeypatch.setenv("OPENAI_API_KEY", key)
    else:
        monkeypatch.delenv("OPENAI_API_KEY")
        path = env / "cfg" / "api_key"
        path.write_bytes(key.encode("utf-8"))
        path.chmod(0o600)
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--quality", "low", "-o", env / "o.png"
    )
    log_text = "".join(p.read_text() for p in (env / "data" / "logs").glob("*.log*"))
    assert_clean(err + log_text, out)
    if ok:
        assert code == 0, err
        assert (
            standin.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
            if "headers" in standin.requests[-1]
            else True
        )
    else:
        assert_bad_input(code, out, err, "api key")
        assert standin.stats()["image_requests"] == 0


def test_set_api_key_refuses_what_the_dialogs_might_receive(tmp_path):
    from core.errors import ConfigError
    from core.settings import read_api_key, set_api_key

    path = tmp_path / "api_key"
    set_api_key(f" {SECRET}\t\n", path)
    assert read_api_key(path).get_secret_value() == SECRET
    for bad in (f"{SECRET}\nX", f"a b{SECRET}", f"{SECRET}\u0000", ""):
        with pytest.raises(ConfigError) as info:
            set_api_key(bad, path)
        assert SECRET[:8] not in str(info.value)
    assert read_api_key(path).get_secret_value() == SECRET, "a refused key changes nothing"


ABSURD_SETTINGS = [
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ('{"timeout_s": Infinity}', "timeout_s"),
    ('{"timeout_s": NaN}', "timeout_s"),
    ('{"timeout_s": 1e999}', "timeout_s"),
    ('{"timeout_s": 1e300}', "timeout_s"),
    ('{"n": ' + "9" * 5000 + "}", "settings"),
    ('{"custom_models": [1, 2]}', "custom_models"),
    ('{"padding_px": {"a": 1}}', "padding_px"),
    ('{"feather_px": 100000}', "feather_px"),
    ("[1, 2, 3]", "object"),
    ("\xff\xfe garbage", "settings"),
]


@pytest.mark.parametrize(
    ("text", "words"), ABSURD_SETTINGS, ids=[w + str(i) for i, (_, w) in enumerate(ABSURD_SETTINGS)]
)
def test_absurd_settings_json_is_handled_like_invalid_json(env, capsys, standin, text, words):
    path = env / "cfg" / "settings.json"
    raw = text.encode("latin-1") if text.startswith("\xff") else text.encode("utf-8")
    path.write_bytes(raw)
    code, out, err = cli(capsys, "generate", "--prompt", "x", "-o", env / "o.png")
    assert_bad_input(code, out, err, str(path), words)
    assert standin.stats()["image_requests"] == 0
    code, out, err = cli(capsys, "estimate", "--prompt", "x", "--json")  # can go on: defaults
    assert code == 0 and "using default settings" in err
    assert_clean(err, out)
    assert path.read_bytes() == raw, "nothing overwritten"


def test_absurd_job_json_does_not_break_history(env, capsys, standin):
    code, out, err = cli(
        capsys, "generate", "--prompt", "ok", "--quality", "low", "-o", env / "o.png"
    )
    assert code == 0
    root = env / "data" / "history"
    for i, text in enumerate(["[" * 100_000, '{"created_ts": Infinity, "prompt": 1}', "[]"]):
        folder = root / f"20200101-00000{i}-abc{i}"
        folder.mkdir()
        (folder / "job.json").write_text(text)
    code, out, err = cli(capsys, "history", "list")
    assert code == 0, err
    assert_clean(err, out)
    assert "unreadable" in out and "ok" in out


def test_stored_prompts_cannot_drive_the_terminal(env, capsys, standin):
    prompt = "calm sea \x1b[2J\x1b]0;pwned\x07 \r\x08 \u202eevil\u202c \x9b31m end"
    code, out, err = cli(
        capsys, "generate", "--prompt", prompt, "--quality", "low", "-o", env / "o.png"
    )
    assert code == 0, err
    (job,) = history_jobs(env)
    for argv in (
        ["history", "list"],
        ["history", "show", job["id"]],
        ["history", "list", "--search", "calm"],
    ):
        code, out, err = cli(capsys, *argv)
        assert code == 0, err
        for bad in ("\x1b", "\x07", "\r", "\x08", "\u202e", "\x9b"):
            assert bad not in out + err, (argv, bad)
        assert "\\x1b" in out and "\\u202e" in out
    code, out, err = cli(capsys, "history", "show", job["id"], "--json")
    assert json.loads(out)["prompt"] == prompt, "the JSON keeps the text exactly"


def test_prompts_that_are_not_utf8_are_refused_clearly(env, standin):
    environ = cli_env(env, standin)
    done = subprocess.run(
        [sys.executable, "-m", "core", "generate", "--prompt", b"caf\xe9 \xff", "-o", str(env / "o.png")],
        cwd=ROOT, env=environ, capture_output=True, timeout=120,
    )  # fmt: skip
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    assert "not valid UTF-8" in err and err.count("\n") == 1
    assert_clean(err)
    assert standin.stats()["image_requests"] == 0


# --- configuration errors are configuration errors ------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"OPENAI_BASE_URL": "ftp://example.com/v1"}, "base url"),
        ({"OPENAI_BASE_URL": "localhost:8080"}, "base url"),
        ({"OPENAI_BASE_URL": "http://[::1"}, "base url"),
        ({"OPENAI_BASE_URL": "http://host:99999/v1"}, "base url"),
        ({"HTTP_PROXY": "http://[bad"}, "HTTP_PROXY"),
        ({"HTTPS_PROXY": "http://proxy:notaport"}, "HTTPS_PROXY"),
        ({"http_proxy": "ftp://proxy:21"}, "http_proxy"),
        ({"ALL_PROXY": "socks5://127.0.0.1:1080"}, "SOCKS"),
        ({"OPENAI_BASE_URL": "http://exa mple.com/v1"}, "base url"),
        ({"OPENAI_ORG_ID": "org-abc\nX-Injected: 1"}, "OPENAI_ORG_ID"),
        ({"OPENAI_PROJECT_ID": "proj_caf\u00e9"}, "OPENAI_PROJECT_ID"),
    ],
)
def test_config_errors_exit_2_naming_the_setting_and_send_nothing(
    env, capsys, standin, monkeypatch, variables, words
):
    if variables.get("ALL_PROXY", "").startswith("socks"):
        import importlib.util

        if importlib.util.find_spec("socksio") is not None:  # with the extra, SOCKS is valid
            variables = {"ALL_PROXY": "socks9://x"}
            words = "ALL_PROXY"
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--quality", "low", "-o", env / "o.png"
    )
    assert_bad_input(code, out, err, words)
    assert "billed" not in err
    assert standin.stats()["image_requests"] == 0
    assert "user:pw" not in err


def test_a_dead_proxy_is_named_as_the_proxy(env, capsys, standin, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{port}")
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--quality", "low", "-o", env / "o.png"
    )
    assert code == 4, err
    assert "proxy" in err and f"127.0.0.1:{port}" in err and "HTTP_PROXY" in err
    assert "billed" not in err and "pw" not in err
    assert_clean(err, out)


# --- waiting and timeouts -------------------------------------------------------------------


@pytest.mark.skipif(sys.platform.startswith("win"), reason="pty is POSIX")
def test_a_terminal_is_told_that_the_cli_waits(env, standin):
    environ = cli_env(env, standin)
    standin.queue_faults([{"kind": "slow", "seconds": 2.5}])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "generate", "--prompt", "x", "--quality", "low", "-o", str(env / "o.png")],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(leader)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "waiting for the API" in text and " 2 s" in text


@pytest.mark.parametrize("command", ["generate", "edit", "compare"])
def test_a_log_or_pipe_gets_one_plain_waiting_line(env, standin, command):
    environ = cli_env(env, standin)
    img = saved(env / "img.png", photo((128, 128)))
    argv = {
        "generate": ["generate", "--prompt", "x", "--quality", "low"],
        "edit": ["edit", "--image", str(img), "--prompt", "x", "--quality", "low"],
        "compare": ["generate", "--prompt", "x", "--compare", "gpt-image-2:low"],
    }[command]
    standin.queue_faults([{"kind": "slow", "seconds": 3.5}])
    proc = subprocess.run(
        [sys.executable, "-m", "core", *argv, "-o", str(env / "o.png")],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    waiting = [line for line in proc.stderr.splitlines() if "waiting for the API" in line]
    assert len(waiting) == 1, proc.stderr
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert "no answer yet" in waiting[0]


@pytest.mark.parametrize("command", ["generate", "edit"])
def test_timeout_flag_bounds_the_wait(env, capsys, standin, command):
    path = saved(env / "img.png", photo((128, 128)))
    standin.queue_faults([{"kind": "slow", "seconds": 4}])
    extra = ["--image", path] if command == "edit" else []
    started = time.monotonic()
    code, out, err = cli(
        capsys,
        command,
        *extra,
        "--prompt",
        "x",
        "--quality",
        "low",
        "--timeout",
        "1",
        "-o",
        env / "o.png",
    )
    assert code == 4 and "within 1 s" in err, err
    assert time.monotonic() - started < 4
    for bad in ("0", "-5", "inf", "nan", "1e9"):
        code, out, err = cli(
            capsys, command, *extra, "--prompt", "x", "--timeout", bad, "-o", env / "o.png"
        )
        assert_bad_input(code, out, err, "--timeout")


# --- the adversarial sweep: many bad inputs, the same promises ----------------------------


def _files(env: Path) -> dict[str, Path]:
    files = {
        "img": saved(env / "img.png", photo((320, 240))),
        "mask_small": saved(env / "small.png", Image.new("L", (10, 10), 255)),
        "empty": env / "empty.png",
        "text": env / "text.png",
        "truncated": env / "trunc.png",
        "cmyk": saved(env / "cmyk.jpg", Image.new("CMYK", (32, 32), (0, 50, 50, 0))),
        "dir": env / "somedir",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("not an image")
    files["truncated"].write_bytes(files["img"].read_bytes()[:200])
    files["dir"].mkdir()
    files["fifo"] = env / "fifo.png"
    os.mkfifo(files["fifo"])  # reading a pipe would block forever
    files["bomb"] = env / "bomb.png"
    files["bomb"].write_bytes(png_header_only(60_000, 60_000))
    return files


SWEEP = [
    ["edit", "--image", "{empty}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{text}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{truncated}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{cmyk}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{dir}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{img}", "--selection", "{mask_small}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{img}", "--selection", "{text}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "   ", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "-o", "{env}/o.gif"],
    ["edit", "--image", "{img}", "--prompt", "x", "-n", "0", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "-n", "1000000", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "--compression", "1000", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "--partials", "99", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "--reference", "{text}", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "--reference", "{dir}", "-o", "{out}"],
    ["generate", "--prompt", "x", "--reference", "{bomb}", "-o", "{out}"],
    ["generate", "--prompt", "x", "--reference", "{fifo}", "-o", "{out}"],
    ["plan", "--image", "{fifo}", "--out", "{env}/p"],
    ["edit", "--image", "{img}", "--selection", "{fifo}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "/dev/zero", "--prompt", "x", "-o", "{out}"],
    ["generate", "--prompt", "x", "-o", "{env}/" + "o" * 300 + ".png"],
    ["edit", "--image", "{img}", "--prompt", "x", "-o", "{env}/" + "o" * 300 + ".png"],
    ["generate", "--prompt", "x", "--timeout", "0.001", "-o", "{out}"],
    ["estimate", "--prompt", "x", "--reference", "{bomb}"],
    ["plan", "--image", "{bomb}", "--out", "{env}/p"],
    ["edit", "--image", "{img}", "--selection", "{bomb}", "--prompt", "x", "-o", "{out}"],
    ["edit", "--image", "{img}", "--prompt", "x", "--aspect", "16:9", "-o", "{out}"],
    ["generate", "--prompt", "x", "--aspect", "0:0", "-o", "{out}"],
    ["generate", "--prompt", "x", "--aspect", "1:100000", "-o", "{out}"],
    ["generate", "--prompt", "x", "--aspect", "99999999999999999999:1", "-o", "{out}"],
    ["generate", "--prompt", "x", "--resolution", "4Kx", "-o", "{out}"],
    ["generate", "--prompt", "x", "--resolution", "1x1", "-o", "{out}"],
    ["generate", "--prompt", "x" * 40000, "-o", "{out}"],
    ["generate", "--prompt", "x", "--model", "", "-o", "{out}"],
    ["generate", "--prompt", "x", "-o", "/dev/full"],
    ["generate", "--prompt", "x", "-o", "{img}/inside.png"],
    ["plan", "--image", "{img}", "--out", "{img}"],
    ["plan", "--image", "{img}", "--out", "/dev/full/x"],
    ["estimate", "--prompt", "x", "--image", "{text}"],
    ["estimate", "--prompt", "x", "--rect", "0,0,5,5"],
    ["history", "show", "../../etc"],
    ["history", "show", "20260101-000000-zzzz"],
    ["history", "export", "20260101-000000-abcd", "-o", "{out}"],
    ["history", "export", "nonsense\x1b[2J", "-o", "{out}"],
    ["history", "rerun", "20260101-000000-abcd"],
    ["history", "delete", "20260101-000000-abcd"],
]


@pytest.mark.parametrize("template", SWEEP, ids=[" ".join(t)[:60] for t in SWEEP])
def test_adversarial_sweep_exit_2_one_line_nothing_sent(env, capsys, standin, template):
    files = _files(env)
    names = {**{k: str(v) for k, v in files.items()}, "env": str(env), "out": str(env / "out.png")}
    argv = [part.format(**names) for part in template]
    code, out, err = cli(capsys, *argv)
    assert_bad_input(code, out, err)
    assert "\x1b" not in err
    assert "object at 0x" not in err  # a reason names the file, never a Python object
    assert standin.stats()["image_requests"] == 0
    assert not (env / "out.png").exists()
    assert files["img"].read_bytes() == saved(env / "again.png", photo((320, 240))).read_bytes()


def test_a_disk_without_room_for_the_output_is_refused_before_sending(
    env, capsys, standin, monkeypatch
):
    import collections
    import shutil

    usage = collections.namedtuple("usage", "total used free")
    real = shutil.disk_usage
    out_dir = env / "small-disk"
    out_dir.mkdir()

    def fake(path):
        if str(path).startswith(str(out_dir)):
            return usage(10**6, 10**6 - 50_000, 50_000)  # 50 kB left there
        return real(path)

    monkeypatch.setattr("shutil.disk_usage", fake)
    path = saved(env / "img.png", photo((640, 480)))
    code, out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", out_dir / "o.png")
    assert_bad_input(code, out, err, "MB free", "nothing was sent")
    assert standin.stats()["image_requests"] == 0


def png16_sub_filtered(values: np.ndarray) -> bytes:
    """A 16-bit PNG whose rows use the Sub filter (each byte less the one a pixel before), so a
    reader that gets the filter width wrong shows it."""
    height, _width, channels = values.shape
    raw = values.astype(">u2").reshape(height, -1).view(np.uint8).astype(np.int16)
    bpp = channels * 2
    sub = raw.copy()
    sub[:, bpp:] = (raw[:, bpp:] - raw[:, :-bpp]) % 256
    rows = np.concatenate([np.ones((height, 1), np.int16), sub], axis=1).astype(np.uint8)
    plain = png16(values)
    ihdr_end = 8 + 25
    idat = zlib.compress(rows.tobytes())
    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat
    chunk += struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return plain[:ihdr_end] + chunk + plain[-12:]


def test_16_bit_gray_with_alpha_keeps_its_full_depth(env, capsys, standin):
    rng = np.random.default_rng(11)
    values = rng.integers(0, 65536, (120, 160, 2), dtype=np.uint16)
    values[..., 1] = rng.integers(30000, 65536, (120, 160), dtype=np.uint16)
    path = env / "la16.png"
    path.write_bytes(png16_sub_filtered(values))
    read = open_image(path)
    assert read.deep is not None and (read.deep == values).all(), "read value for value"
    code, _out, err = cli(capsys, "plan", "--image", path, "--out", env / "p")
    assert code == 0 and "warning" not in err, err
    view = np.asarray(read.pixels.convert("LA")).astype(int)
    expected = (values.astype(np.int64) * 255 + 32767) // 65535
    assert np.abs(view - expected).max() <= 1, "scaled to 8 bits for the model"
    sent = np.asarray(Image.open(env / "p" / "image.png").convert("L")).astype(int)
    assert abs(sent.mean() - values[..., 0].mean() / 257) < 3
    code, _out, err = cli(
        capsys, "edit", "--image", path, "--rect", "60,40,30,30", "--prompt", "x",
        "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0 and "warning" not in err, err
    back = open_image(env / "o.png").deep
    assert back is not None and back.shape == values.shape, "written as 16-bit gray+alpha"
    assert (back[:20] == values[:20]).all() and (back[:, :30] == values[:, :30]).all()
    assert not (back[50:60, 70:80] == values[50:60, 70:80]).all(), "inside, the result"
    code, _out, err = cli(
        capsys, "edit", "--image", path, "--rect", "60,40,30,30", "--prompt", "x",
        "-o", env / "o.jpg",
    )  # fmt: skip
    assert code == 0, err
    with Image.open(env / "o.jpg") as jpeg:
        assert jpeg.size == (160, 120)


def test_a_host_job_whose_history_fails_says_truthfully_where_the_result_is(env, standin):
    """The path both hosts take (``run_job``): history refuses the result, a rescue file holds
    it, and ``where_kept`` (what the hosts show) names that file, not History."""
    from core.history import History
    from core.jobs import JobSpec, prepare_job, run_job
    from core.settings import load_settings

    settings = load_settings()
    history = History(env / "host-history")
    spec = JobSpec.from_settings(settings, "generate", "a boat", quality="low")
    prepared = prepare_job(spec, None, None, None, settings)

    def on_event(event):
        if event.kind == "status" and event.message.startswith("Sending"):
            (folder,) = [p for p in history.root.iterdir() if not p.name.startswith(".")]
            (folder / "result-1.png").mkdir()

    result = run_job(prepared, settings, on_event=on_event, history=history)
    assert result.paths == [] and set(result.rescued) == {0}
    text = result.where_kept()
    assert str(result.rescued[0]) in text and "History (entry" not in text
    with Image.open(result.rescued[0]) as image:
        image.load()


def test_compare_runs_composite_in_the_files_own_space_too(env, capsys, standin):
    icc = adobe_rgb_profile()
    picture = Image.new("RGB", (300, 200), (40, 160, 60))
    path = saved(env / "adobe.png", picture, icc_profile=icc)
    code, _out, err = cli(
        capsys, "edit", "--image", path, "--rect", "100,80,40,40", "--prompt", "x",
        "--compare", "gpt-image-2:low", "--compare", "gpt-image-2:medium", "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0, err
    written = sorted(env.glob("o-*.png"))
    assert len(written) == 2
    for file in written:
        with Image.open(file) as result:
            assert result.info.get("icc_profile") == icc
            assert result.convert("RGB").getpixel((5, 5)) == (40, 160, 60)


# --- refine reads, converts and writes back as edit does -----------------------------------------


def _edit_then_refine(env, capsys, path, rect):
    code, out, err = cli(
        capsys, "edit", "--image", path, "--rect", rect, "--prompt", "a kite",
        "-o", env / "o.png", "--json",
    )  # fmt: skip
    assert code == 0, err
    parent = json.loads(out)
    code, out, err = cli(
        capsys, "refine", parent["history_id"], "--prompt", "bluer", "-o", env / "r.png", "--json"
    )
    assert code == 0, err
    assert_clean(err, out)
    return parent, json.loads(out)


def test_refine_of_an_adobe_rgb_photo_sends_srgb_and_writes_back_in_its_own_space(
    env, capsys, standin
):
    from core.history import History

    icc = adobe_rgb_profile()
    picture = Image.new("RGB", (300, 200), (40, 160, 60))
    path = saved(env / "adobe.png", picture, icc_profile=icc)
    parent, child = _edit_then_refine(env, capsys, path, "100,80,40,40")
    history = History(env / "data" / "history")
    with (
        Image.open(history.get(parent["history_id"]).inputs["image"]) as first,
        Image.open(history.get(child["history_id"]).inputs["image"]) as second,
    ):
        corner_first = first.convert("RGB").getpixel((1, 1))
        corner_second = second.convert("RGB").getpixel((1, 1))
    assert corner_second != (40, 160, 60), "the refine sent the file's numbers, not sRGB"
    assert all(abs(a - b) <= 1 for a, b in zip(corner_first, corner_second, strict=True))
    with Image.open(env / "r.png") as result:
        assert result.info.get("icc_profile") == icc
        assert result.convert("RGB").getpixel((5, 5)) == (40, 160, 60)
        assert result.convert("RGB").getpixel((295, 195)) == (40, 160, 60)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_refine_of_a_16_bit_png_keeps_its_values_outside_the_selection(
    env, capsys, standin, channels
):
    rng = np.random.default_rng(channels)
    values = rng.integers(0, 65536, (120, 160, channels), dtype=np.uint16)
    if channels in (2, 4):
        values[..., -1] = 65535
    path = env / "deep.png"
    path.write_bytes(png16(values if channels > 1 else values[..., 0]))
    _parent, _child = _edit_then_refine(env, capsys, path, "60,40,30,30")
    back = open_image(env / "r.png").deep
    assert back is not None and back.shape == values.shape, "written at 16 bits"
    assert (back[:20] == values[:20]).all() and (back[:, :30] == values[:, :30]).all()
    assert not (back[50:60, 70:80] == values[50:60, 70:80]).all(), "inside, the result"


def test_refine_refuses_an_output_it_cannot_write_before_sending(env, capsys, standin):
    path = saved(env / "img.png", photo((320, 240)))
    code, out, err = cli(
        capsys, "edit", "--image", path, "--rect", "10,10,50,50", "--prompt", "x",
        "-o", env / "o.png", "--json",
    )  # fmt: skip
    assert code == 0, err
    parent = json.loads(out)["history_id"]
    sent = standin.stats()["image_requests"]
    code, out, err = cli(capsys, "refine", parent, "--prompt", "y", "-o", "/dev/full")
    assert_bad_input(code, out, err)
    assert standin.stats()["image_requests"] == sent, "nothing sent"
