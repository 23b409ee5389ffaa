"""``python -m core`` starts its slow work first (``core.startup``) and ends without Python's
finalization (``runtime.leave``); the user sees the same files, messages and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from core import startup
from core.imagefile import open_image
from tests.cli_helpers import run_core

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["--image", "a.png"], "a.png"),
        (["--image=b.png", "--prompt", "x"], "b.png"),
        (["--image", "a.png", "--image", "c.png"], "c.png"),  # argparse keeps the last
        (["--prompt", "x", "--", "--image", "a.png"], None),
        (["--image"], None),
        (["--image", "--prompt"], None),
        (["--images", "a.png"], None),
    ],
)
def test_the_image_option_is_read_as_argparse_reads_it(argv, value):
    assert startup._option_value(argv, "--image") == value


def picture(path: Path, size=(300, 200)) -> Path:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.save(path)
    return path


def test_an_early_read_is_the_same_picture_and_is_taken_once(tmp_path):
    path = picture(tmp_path / "in.png")
    thread = startup.read_early(["edit", "--image", str(path), "--prompt", "x"])
    assert thread is not None
    early = startup.early_image(path)
    assert early is not None and early.pixels.tobytes() == open_image(path).pixels.tobytes()
    assert startup.early_image(path) is None  # handed over once: not kept in memory


def test_an_early_read_that_fails_leaves_the_error_to_the_cli(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    startup.read_early(["edit", "--image", str(bad)])
    assert startup.early_image(bad) is None
    startup.read_early(["edit", "--image", "/dev/zero"])  # a device: refused, never read
    assert startup.early_image("/dev/zero") is None


def test_nothing_starts_for_other_commands_or_help(tmp_path):
    path = str(picture(tmp_path / "in.png"))
    assert startup.read_early(["plan", "--image", path]) is None
    assert startup.read_early(["edit", "--image", path, "-h"]) is None
    assert startup.preload(["history", "list"]) is None
    assert startup.preload(["generate", "--help"]) is None
    assert startup.preload([]) is None


def python_m_core(args, tmp_path: Path, base_url: str = "http://127.0.0.1:9/v1"):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GPT_IMAGE_"))}
    environ.update(
        GPT_IMAGE_CONFIG_DIR=str(tmp_path / "cfg"),
        GPT_IMAGE_DATA_DIR=str(tmp_path / "data"),
        OPENAI_API_KEY="sk-test-startup",
        OPENAI_BASE_URL=base_url,
        PYTHONPATH=str(ROOT),
    )
    return run_core(args, environ)


def test_python_m_core_edit_with_its_early_read(tmp_path, standin):
    """The real command: the image read early is the one edited; outputs, JSON report and
    history are complete although the process skips finalization; bad input exits 2."""
    source = picture(tmp_path / "in.png", (640, 480))
    out = tmp_path / "out.png"
    args = ["edit", "--image", source, "--rect", "100,80,200,150", "--prompt", "a kite"]
    done = python_m_core(
        [*args, "--quality", "low", "-o", out, "--json"],
        tmp_path,
        standin.base_url,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout flushed before the process ended
    assert report["outputs"] == [str(out)] and report["history_files"]
    with Image.open(out) as edited, Image.open(source) as original:
        changed = ImageChops.difference(edited.convert("RGB"), original.convert("RGB")).getbbox()
    assert changed is not None and changed[0] >= 70 and changed[2] <= 330
    record = json.loads((Path(report["history_files"][0]).parent / "job.json").read_text())
    assert record["status"] == "done" and record["source_path"] == str(source.resolve())
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    refused = python_m_core(["edit", "--image", broken, "--prompt", "x", "-o", out], tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("error: Cannot read")
    missing = python_m_core(
        ["edit", "--image", tmp_path / "none.png", "--prompt", "x", "-o", out], tmp_path
    )
    assert missing.returncode == 2 and "No such image" in missing.stderr


def test_leave_runs_what_an_exit_must(tmp_path):
    """``leave``: atexit handlers run, buffered output is written, the exit code is kept."""
    marker = tmp_path / "atexit"
    code = (
        "import atexit, sys\n"
        "from core.cli.runtime import leave\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "sys.stdout.write('buffered' * 1000)\n"
        "leave(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3 and done.stdout == "buffered" * 1000
    assert marker.read_text() == "ran"


def test_a_command_imports_its_own_module_only() -> None:
    """``edit`` parses its command line without the batch, history or expand code loaded;
    ``--help`` and a mistyped name build every command."""
    code = """
import json, sys
from core.cli import build_parser
OTHERS = {"batch", "history", "expand", "refine", "plan", "models"}
def loaded():
    return sorted({m.rsplit(".", 1)[-1] for m in sys.modules if m.startswith("core.cli.")} & OTHERS)
args = build_parser("edit").parse_args(["edit", "--image", "a.png", "--prompt", "p", "-o", "b"])
alone = loaded()
build_parser("edti")
print(json.dumps([str(args.image), alone, loaded()]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    image, alone, every = json.loads(done.stdout)
    assert (image, alone) == ("a.png", [])
    assert every == ["batch", "expand", "history", "models", "plan", "refine"]
