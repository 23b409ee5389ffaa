"""A fresh adversarial pass through the CLI, as a hostile or unlucky person runs it.

Many inputs of each kind (full disks at every write point, odd keys, absurd JSON, odd images),
each held to the same promises:

- no traceback, no "Internal error", no "Logging error", no piece of the key anywhere;
- bad input is exit 2 with one line, and nothing is sent;
- a paid result is never lost: it is in the output, or in a file the message names (history or
  a rescue file), and every file a message names exists and decodes whole; "could not be kept"
  is said only when that is true;
- no silent damage: outside the selection the output holds the picture as displayed.

Disk-full faults are real: ``tests/faultfs.py`` runs the CLI as a child whose writes under the
chosen paths go to ``/dev/full``, so the kernel answers ENOSPC at that write.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.cli_helpers import ROOT, child_env, cli_dirs
from tests.cli_helpers import run as cli

SECRET = "sk-proj-ADVERSARY-5e8b2c4f9a1d7360cc"  # any 7 characters of it in output is a leak
FAULTFS = ROOT / "tests" / "faultfs.py"


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    cli_dirs(tmp_path, monkeypatch, standin, SECRET, make_config=True, clear_proxies=True)
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(rescue))
    return tmp_path


def assert_clean(*texts: str) -> None:
    for text in texts:
        for bad in ("Traceback", "Internal error", "Logging error"):
            assert bad not in text, texts
        for i in range(len(SECRET) - 6):
            assert SECRET[i : i + 7] not in text, "a piece of the key leaked"


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word.lower() in err.lower(), err
    assert_clean(out, err)


def sent(standin) -> int:
    return standin.stats()["image_requests"]


def noisy(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(mode) if mode not in ("P", "1", "I;16", "I") else 1
    values = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    image = Image.fromarray(values[..., 0] if bands == 1 else values)
    return image if image.mode == mode else image.convert(mode)


def decodes(path: Path, size: tuple[int, int] | None = None) -> bool:
    with Image.open(path) as image:
        image.load()
        return size is None or image.size == size


# --- full disks at every write point after the answer (a child, real ENOSPC) ----------------------

#: Write points, as path patterns: what a full disk there refuses.
#: The temp folders a rescue may fall back to: ours (TMPDIR), and the system's, where Python's
#: tempfile goes when TMPDIR is full (only the rescue files there, nothing else of /tmp).
TEMP = [r"/rescue/", r"^/(var/|usr/)?tmp/gpt-image-result-"]
HISTORY_RESULTS = r"/data/history/[^/]+/\.?result-"
WRITE_POINTS = {
    "history results": [HISTORY_RESULTS],
    "history record": [r"/data/history/[^/]+/\.?job\.json"],
    "history inputs": [r"/data/history/.*/\.?(image|mask|selection)\.png"],
    "whole history": [r"/data/history/"],
    "output": [r"/out/"],
    "log": [r"/data/logs/"],
    "output and history results": [r"/out/", HISTORY_RESULTS],
    "output and whole history": [r"/out/", r"/data/history/"],
    "output, history, temp": [r"/out/", r"/data/history/", *TEMP],
    "everywhere": [r"/out/", r"/data/", *TEMP, r"/home/", r"/work/"],
}
#: Files opened once before the request (the log): a fault armed later never reaches them.
OPENED_BEFORE = ("history inputs", "log")


_NAMED = re.compile(r"(/[^\s;:,()`']+\.(?:png|jpe?g|webp))")


#: Written just before the request is sent: the disk fills up from then on ("after the answer").
AFTER_SENDING = r"/data/history/[^/]+/\.?job\.json"


def run_on_full_disk(env: Path, standin, patterns: list[str], *argv: str, arm: str = ""):
    for sub in ("home", "work", "out"):
        (env / sub).mkdir(exist_ok=True)
    hits = env / "faultfs-hits.txt"
    environ = child_env(
        env, standin, SECRET, clear_proxies=True,
        TMPDIR=str(env / "rescue"), HOME=str(env / "home"), FAULTFS_LOG=str(hits),
        FAULTFS_ARM=arm,
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(FAULTFS), *patterns, "--", *argv],
        cwd=env / "work", env=environ, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    return proc, (hits.read_text().splitlines() if hits.exists() else [])


def result_files(env: Path) -> list[Path]:
    """Every result image on disk: in history, the rescue folders, home and working folder."""
    found = list((env / "data" / "history").glob("*/result-*"))
    for folder in ("rescue", "home", "work"):
        found += list((env / folder).glob("gpt-image-result-*"))
    return found


def assert_nothing_lost(proc, env: Path, standin, outputs: list[Path], size) -> None:
    text = proc.stdout + proc.stderr
    assert_clean(text)
    if sent(standin) == 0:  # refused before anything was sent: nothing to lose
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: "), proc.stderr
        return
    for named in _NAMED.findall(proc.stderr):  # every file a message names holds a result
        if Path(named) in outputs and "Cannot write" in proc.stderr:
            continue
        assert Path(named).is_file() and decodes(Path(named)), (named, proc.stderr)
    written = [p for p in outputs if p.is_file()]
    for path in written:
        assert decodes(path, size), path
    if proc.returncode == 0:
        assert written == outputs, proc.stderr
        return
    assert len(proc.stderr.strip().splitlines()) >= 1
    kept = result_files(env)
    if "could not be kept" in proc.stderr:
        assert proc.returncode == 4, proc.stderr
        assert not kept, f"said lost, but {kept} holds it"
    else:
        assert kept, f"no result anywhere, and the message did not say so: {proc.stderr}"
        for path in kept:
            assert decodes(path), path
    if "kept in history" in proc.stderr:
        ids = re.findall(r"kept in history (\S+?)[ ;(]", proc.stderr)
        assert ids, proc.stderr
        for job in ids:
            assert list((env / "data" / "history" / job).glob("result-*")), proc.stderr


def _job_argv(env: Path, command: str, n: int) -> tuple[list[str], list[Path], tuple[int, int]]:
    out = env / "out" / "o.png"
    outputs = [out] if n == 1 else [env / "out" / f"o-{i}.png" for i in range(1, n + 1)]
    argv = [command, "--prompt", "a lighthouse", "--quality", "low", "-n", str(n), "-o", str(out)]
    size = (1024, 1024)
    if command == "edit":
        picture = noisy((300, 200))
        picture.save(env / "in.png")
        argv += ["--image", str(env / "in.png"), "--rect", "40,30,100,80"]
        size = picture.size
    return argv, outputs, size


JOBS = [("generate", 1), ("edit", 1), ("edit", 2)]


@pytest.mark.parametrize(("command", "n"), JOBS, ids=[f"{c}-{n}" for c, n in JOBS])
@pytest.mark.parametrize("point", [p for p in WRITE_POINTS if p not in OPENED_BEFORE])
def test_a_disk_that_fills_after_sending_loses_nothing(env, standin, point, command, n):
    argv, outputs, size = _job_argv(env, command, n)
    proc, hits = run_on_full_disk(env, standin, WRITE_POINTS[point], *argv, arm=AFTER_SENDING)
    assert hits, f"the fault at {point} was never reached"
    assert sent(standin) == 1, proc.stderr
    assert_nothing_lost(proc, env, standin, outputs, size)


@pytest.mark.parametrize("command", ["generate", "edit"])
@pytest.mark.parametrize("point", list(WRITE_POINTS))
def test_a_full_disk_before_sending_is_refused_or_loses_nothing(env, standin, point, command):
    argv, outputs, size = _job_argv(env, command, 1)
    proc, hits = run_on_full_disk(env, standin, WRITE_POINTS[point], *argv)
    if not (point == "history inputs" and command == "generate"):  # text alone: no inputs
        assert hits, f"the fault at {point} was never reached"
    assert_nothing_lost(proc, env, standin, outputs, size)
    if point == "log":
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count("log file") == 1, "a log failure is said once"


def test_refine_and_export_on_a_full_disk_lose_nothing(env, standin, capsys):
    argv, outputs, _size = _job_argv(env, "edit", 1)
    proc, _ = run_on_full_disk(env, standin, [r"/nothing-matches/"], *argv)
    assert proc.returncode == 0, proc.stderr
    (job,) = [p.name for p in (env / "data" / "history").iterdir() if not p.name.startswith(".")]
    for patterns in (WRITE_POINTS["output"], WRITE_POINTS["output and whole history"]):
        before = sent(standin)
        proc, _ = run_on_full_disk(
            env, standin, patterns, "refine", job, "--prompt", "warmer", "-o", str(outputs[0])
        )
        assert_clean(proc.stdout + proc.stderr)
        if sent(standin) > before:
            assert proc.returncode != 0
            assert "kept" in proc.stderr or "could not be kept" in proc.stderr, proc.stderr
        else:
            assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    proc, _ = run_on_full_disk(
        env, standin, WRITE_POINTS["output"], "history", "export", job, "-o", str(outputs[0])
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    assert_clean(proc.stdout + proc.stderr)


# --- odd keys -----------------------------------------------------------------------------------

ODD_KEYS = [
    # (key as stored, accepted?)
    (f"{SECRET}\n\n\n", True),
    (f"\t \u2060{SECRET}\u200b \r\n", True),
    (f"\ufeff\ufeff{SECRET}", True),
    (f"{SECRET}\r\n{SECRET}\n", False),  # two lines: two keys pasted
    (f"{SECRET[:9]}\t{SECRET[9:]}", False),
    (f"{SECRET[:9]}\u00a0{SECRET[9:]}", False),  # no-break space
    (f"{SECRET[:9]}\u3000{SECRET[9:]}", False),  # ideographic space
    (f"{SECRET[:9]}\u2028{SECRET[9:]}", False),  # line separator
    (f"{SECRET[:9]}\u202e{SECRET[9:]}", False),  # right-to-left override
    (f"{SECRET[:9]}\u00ad{SECRET[9:]}", False),  # soft hyphen
    (f"{SECRET[:9]}\x7f{SECRET[9:]}", False),
    (f"{SECRET[:9]}\x1b[31m{SECRET[9:]}", False),
    (f"“{SECRET}”", False),  # curly quotes from a document
    (f'"{SECRET}"', False),  # straight quotes: printable, but not part of any key
    (f"OPENAI_API_KEY={SECRET}", False),  # a whole .env line pasted
    (f"Bearer {SECRET}", False),
    ("sk-" + "a" * 5000, True),  # long, but a key's characters: the API judges it
    ("\u200b\u200b", False),  # nothing but padding: empty
]


@pytest.mark.parametrize("where", ["env", "file"])
@pytest.mark.parametrize(("key", "ok"), ODD_KEYS, ids=[f"key{i}" for i in range(len(ODD_KEYS))])
def test_odd_keys_are_used_stripped_or_refused_without_showing_them(
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
    logs = "".join(p.read_text(errors="replace") for p in (env / "data" / "logs").glob("*.log*"))
    assert_clean(out, err, logs)
    if not ok and code == 0:
        pytest.fail(f"a key with stray characters was sent: {err}")
    if ok:
        assert code in (0, 3), err  # 3: the stand-in may refuse a key it does not know
    else:
        assert_refused(code, out, err, "api key")
        assert sent(standin) == 0


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00s\x00k", b"sk-\xc3\x28broken-utf8", b"\x00" * 16, b"", b"\n\n"],
    ids=["utf16", "bad-utf8", "nul", "empty", "blank"],
)
def test_a_key_file_that_is_no_key_is_refused_and_kept(env, capsys, standin, monkeypatch, raw):
    monkeypatch.delenv("OPENAI_API_KEY")
    path = env / "cfg" / "api_key"
    path.write_bytes(raw)
    path.chmod(0o600)
    code, out, err = cli(capsys, "generate", "--prompt", "x", "-o", env / "o.png")
    assert code == 2, err
    assert err.startswith("error: ") and "key" in err.lower(), err
    assert_clean(out, err)
    assert sent(standin) == 0 and path.read_bytes() == raw, "nothing sent, nothing overwritten"


def test_a_key_file_that_is_a_folder_or_unreadable_is_a_config_error(
    env, capsys, standin, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY")
    path = env / "cfg" / "api_key"
    path.mkdir()
    code, out, err = cli(capsys, "generate", "--prompt", "x", "-o", env / "o.png")
    assert code == 2 and err.startswith("error: "), err
    assert_clean(out, err)
    assert sent(standin) == 0


# --- absurd JSON ---------------------------------------------------------------------------------

ABSURD_SETTINGS = [
    '{"model": 123}',
    '{"model": null, "quality": ["high"]}',
    '{"quality": "ultra"}',
    '{"n": -1}',
    '{"n": 1e400}',
    '{"n": true}',
    '{"timeout_s": -Infinity}',
    '{"timeout_s": "600"}',
    '{"timeout_s": 0}',
    '{"partial_images": 1e-400}',
    '{"custom_models": {"x": {"sizes": "all"}}}',
    '{"custom_models": {"": {}}}',
    '{"history_max_mb": 1e308}',
    '{"a": ' * 60 + "1" + "}" * 60,  # deep but under the bound: settings has no field "a"
    '{"prompt": "' + "x" * 9_000_000 + '"}',
    '{"model": "gpt-image-2", "model": "dall-e-9"}',
    "\ufeff{}",
    "{}\x00",
    '{"base_url": "file:///etc/passwd"}',
    '{"base_url": "http://"}',
    '{"base_url": "http://[::1"}',
    "null",
    '"a string"',
    "1e999",
]


@pytest.mark.parametrize(
    "text", ABSURD_SETTINGS, ids=[f"s{i}" for i in range(len(ABSURD_SETTINGS))]
)
def test_absurd_settings_never_crash_and_are_never_overwritten(env, capsys, standin, text):
    path = env / "cfg" / "settings.json"
    raw = text.encode("utf-8")
    path.write_bytes(raw)
    code, out, err = cli(
        capsys, "generate", "--prompt", "x", "--quality", "low", "-o", env / "o.png"
    )
    assert_clean(out, err)
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert sent(standin) == 0
    code, out, err = cli(capsys, "estimate", "--prompt", "x", "--json")
    assert code == 0, err
    assert_clean(out, err)
    code, out, err = cli(capsys, "history", "list")
    assert code == 0, err
    assert path.read_bytes() == raw, "nothing overwritten"


ABSURD_RECORDS = [
    "{" * 70 + "}" * 70,
    '{"format_version": 999999999999999999999}',
    '{"format_version": -1, "prompt": "x", "mode": "generate", "model": "m", "status": "done"}',
    "\xff\xfe{",
    "",
]
#: A real edit's job.json with one field made absurd (dotted path -> value).
RECORD_MUTATIONS = [
    ("canvas", [100000, 100000]),
    ("canvas", [0, 0]),
    ("canvas", [-5, 10]),
    ("crop", [0, 0, 0, 0]),
    ("crop", [-100, -100, 50, 50]),
    ("crop", [0, 0, 99999, 99999]),
    ("plan", {}),
    ("plan.crop", "everything"),
    ("plan.api_size", "99999x99999"),
    ("plan.api_size", "abc"),
    ("plan.canvas", [1, 1]),
    ("api_size", "0x0"),
    ("settings.n", 10**9),
    ("settings.n", -3),
    ("settings.quality", "ultra"),
    ("settings.blend.feather_px", 10**9),
    ("settings.blend", {"feather_px": "x"}),
    ("settings", {}),
    ("inputs.image", "../../../../etc/passwd"),
    ("inputs.image", "/etc/passwd"),
    ("inputs.mask", "nope.png"),
    ("inputs", {"image": ["a.png", "b.png"]}),
    ("images", ["../../x.png"]),
    ("model", "no-such-model"),
    ("mode", "expand"),
    ("selection_origin", [99999, 99999]),
    ("source_path", "/dev/zero"),
    ("source_path", 5),
    ("source_sha256", {"a": 1}),
    ("parent_id", "../../../../etc"),
    ("prompt", ""),
    ("prompt", "x" * 100_000),
    ("created_ts", -1e300),
]


def _commands(folder: Path, env: Path) -> list[list[str]]:
    return [
        ["history", "list"],
        ["history", "search", "x"],
        ["history", "show", folder.name],
        ["history", "show", folder.name, "--json"],
        ["history", "export", folder.name, "-o", str(env / "exp.png")],
        ["history", "export", folder.name, "--raw", "-o", str(env / "raw.png")],
        ["history", "rerun", folder.name, "-o", str(env / "rr.png")],
        ["refine", folder.name, "--prompt", "again", "-o", str(env / "rf.png")],
        ["history", "prune", "--max-mb", "100000"],
    ]


def _check_record_commands(capsys, standin, folder: Path, env: Path, raw: bytes) -> None:
    for argv in _commands(folder, env):
        code, out, err = cli(capsys, *argv)
        assert_clean(" ".join(argv), out, err)
        assert code in (0, 2), (argv, err)
        if code == 2:
            assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)
    assert (folder / "job.json").read_bytes() == raw, "an odd record is never rewritten"
    assert not Path("/etc/passwd.png").exists()
    for name in ("exp.png", "raw.png", "rr.png", "rf.png"):
        if (env / name).exists():
            assert decodes(env / name), name


@pytest.mark.parametrize("text", ABSURD_RECORDS, ids=[f"r{i}" for i in range(len(ABSURD_RECORDS))])
def test_absurd_job_records_are_named_unreadable_everywhere(env, capsys, standin, text):
    code, _out, err = cli(
        capsys, "generate", "--prompt", "fine", "--quality", "low", "-o", env / "o.png"
    )
    assert code == 0, err
    folder = env / "data" / "history" / "20200101-000000-bad1"
    folder.mkdir()
    raw = text.encode("latin-1") if text.startswith("\xff") else text.encode("utf-8")
    (folder / "job.json").write_bytes(raw)
    (folder / "result-1.png").write_bytes(b"\x89PNG not really")
    before = sent(standin)
    _check_record_commands(capsys, standin, folder, env, raw)
    assert sent(standin) == before, "nothing sent for an unreadable record"


@pytest.mark.parametrize(
    ("field", "value"), RECORD_MUTATIONS, ids=[f"{f}={str(v)[:12]}" for f, v in RECORD_MUTATIONS]
)
def test_a_record_with_one_absurd_field_never_crashes_a_command(env, capsys, standin, field, value):
    picture = noisy((200, 150))
    picture.save(env / "in.png")
    code, out, err = cli(
        capsys, "edit", "--image", env / "in.png", "--rect", "20,20,60,40", "--prompt", "fine",
        "--quality", "low", "-o", env / "o.png", "--json",
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)["history_id"]
    folder = env / "data" / "history" / job
    data = json.loads((folder / "job.json").read_text())
    *parents, last = field.split(".")
    target = data
    for name in parents:
        target = target.setdefault(name, {}) if isinstance(target.get(name), dict) else {}
    target[last] = value
    raw = json.dumps(data).encode("utf-8")
    (folder / "job.json").write_bytes(raw)
    _check_record_commands(capsys, standin, folder, env, raw)


# --- odd images ----------------------------------------------------------------------------------


def _palette_with_transparency(path: Path) -> Image.Image:
    image = noisy((64, 48)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image.info["transparency"] = 3
    image.save(path, transparency=3)
    return image


def _exif_jpeg(path: Path, orientation: int) -> None:
    image = noisy((90, 60), seed=orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())


ODD_IMAGES = {
    "1x1": lambda p: noisy((1, 1)).save(p / "i.png") or p / "i.png",
    "1x20000": lambda p: noisy((1, 20000)).save(p / "i.png") or p / "i.png",
    "20000x1": lambda p: noisy((20000, 1)).save(p / "i.png") or p / "i.png",
    "2x9000": lambda p: noisy((2, 9000)).save(p / "i.png") or p / "i.png",
    "palette": lambda p: noisy((64, 48)).convert("P").save(p / "i.png") or p / "i.png",
    "palette-trns": lambda p: _palette_with_transparency(p / "i.png") and p / "i.png",
    "palette-gif-trns": lambda p: _palette_with_transparency(p / "i.gif") and p / "i.gif",
    "1-bit": lambda p: noisy((64, 48)).convert("1").save(p / "i.png") or p / "i.png",
    "LA": lambda p: noisy((64, 48), "LA").save(p / "i.png") or p / "i.png",
    "L": lambda p: noisy((64, 48), "L").save(p / "i.png") or p / "i.png",
    "I;16": lambda p: (
        Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)).save(
            p / "i.png"
        )
        or p / "i.png"
    ),
    "I-tiff": lambda p: (
        Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 9000).astype(np.int32)).save(
            p / "i.tif"
        )
        or p / "i.tif"
    ),
    "F-tiff": lambda p: (
        Image.fromarray(np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)).save(
            p / "i.tif"
        )
        or p / "i.tif"
    ),
    "RGBA-webp": lambda p: (
        noisy((64, 48), "RGBA").save(p / "i.webp", lossless=True) or p / "i.webp"
    ),
    "bmp": lambda p: noisy((64, 48)).save(p / "i.bmp") or p / "i.bmp",
    "tiff-2-pages": lambda p: (
        noisy((64, 48)).save(p / "i.tif", save_all=True, append_images=[noisy((64, 48), seed=5)])
        or p / "i.tif"
    ),
    "gif-animated": lambda p: (
        noisy((64, 48))
        .convert("P")
        .save(p / "i.gif", save_all=True, append_images=[noisy((64, 48), seed=2).convert("P")])
        or p / "i.gif"
    ),
    "png-named-jpg": lambda p: noisy((64, 48)).save(p / "i.jpg", "PNG") or p / "i.jpg",
    "jpeg-named-png": lambda p: noisy((64, 48)).save(p / "i.png", "JPEG") or p / "i.png",
    "gif-named-webp": lambda p: (
        noisy((64, 48)).convert("P").save(p / "i.webp", "GIF") or p / "i.webp"
    ),
    "no-extension": lambda p: noisy((64, 48)).save(p / "image", "PNG") or p / "image",
    "cmyk-jpeg": lambda p: noisy((64, 48)).convert("CMYK").save(p / "i.jpg") or p / "i.jpg",
    "ycbcr-tiff": lambda p: noisy((64, 48)).convert("YCbCr").save(p / "i.tif") or p / "i.tif",
}
for _orientation in range(2, 9):
    ODD_IMAGES[f"exif-{_orientation}"] = (
        lambda o: lambda p: _exif_jpeg(p / "i.jpg", o) or p / "i.jpg"
    )(_orientation)


def _shown(path: Path) -> Image.Image:
    """The picture as a viewer shows it (first frame, EXIF applied), RGBA."""
    with Image.open(path) as image:
        image.seek(0)
        shown = ImageOps.exif_transpose(image)
        if shown.mode in ("I", "I;16", "F"):
            return shown
        return shown.convert("RGBA")


@pytest.mark.parametrize("name", list(ODD_IMAGES))
def test_odd_images_are_edited_as_shown_or_refused_clearly(env, capsys, standin, name):
    path = ODD_IMAGES[name](env)
    with Image.open(path) as probe:
        probe.seek(0)
        width, height = ImageOps.exif_transpose(probe).size
    code, out, err = cli(capsys, "plan", "--image", path, "--out", env / "plan")
    assert_clean(out, err)
    if code == 2:  # refused: the same for edit, with nothing sent
        assert err.startswith("error: ") and err.count("\n") == 1, err
        code, out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", env / "o.png")
        assert_refused(code, out, err)
        assert sent(standin) == 0
        return
    assert code == 0, err
    rect = (width // 2, height // 2, max(1, width // 4), max(1, height // 4))
    rect = (min(rect[0], width - 1), min(rect[1], height - 1), rect[2], rect[3])
    code, out, err = cli(
        capsys, "edit", "--image", path, "--rect", ",".join(map(str, rect)), "--prompt", "x",
        "--quality", "low", "-o", env / "o.png",
    )  # fmt: skip
    assert_clean(out, err)
    assert code == 0, err
    with Image.open(env / "o.png") as result:
        result.load()
        assert result.size == (width, height), "written as displayed"
        assert result.getexif().get(0x0112) in (None, 1), "no stale orientation"
        shown = _shown(path)
        if shown.mode in ("I", "I;16", "F") or name.startswith(("jpeg", "exif", "cmyk", "ycbcr")):
            return  # lossy or deep sources: values compared elsewhere
        far = _far_from(rect, (width, height))
        if far is None:
            return
        got = result.convert("RGBA").getpixel(far)
        want = shown.getpixel(far)
        if want[3] == 0:
            assert got[3] == 0
        else:
            assert got == want, (far, got, want)


def _far_from(rect, size):
    """A pixel at least 40 px from the selection (outside any feather), or None."""
    x, y, w, h = rect
    for px, py in ((0, 0), (size[0] - 1, size[1] - 1), (0, size[1] - 1), (size[0] - 1, 0)):
        dx = max(x - px, 0, px - (x + w - 1))
        dy = max(y - py, 0, py - (y + h - 1))
        if max(dx, dy) > 40:
            return px, py
    return None


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_selection_drawn_on_the_displayed_photo_lands_where_it_was_drawn(
    env, capsys, standin, orientation
):
    path = env / "photo.jpg"
    base = Image.new("RGB", (120, 80), (30, 90, 160))
    exif = Image.Exif()
    exif[0x0112] = orientation
    base.save(path, "JPEG", quality=98, exif=exif.tobytes())
    width, height = _shown(path).size
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (0, 0, width // 3, height // 3))  # top-left of what is displayed
    mask.save(env / "mask.png")
    code, _out, err = cli(
        capsys, "edit", "--image", path, "--selection", env / "mask.png", "--prompt", "x",
        "--quality", "low", "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0, err
    with Image.open(env / "o.png") as result:
        assert result.size == (width, height)
        far = result.convert("RGB").getpixel((width - 1, height - 1))
        near = result.convert("RGB").getpixel((2, 2))
    assert max(abs(a - b) for a, b in zip(far, (30, 90, 160), strict=True)) <= 6, "outside kept"
    assert max(abs(a - b) for a, b in zip(near, (30, 90, 160), strict=True)) > 6, "inside edited"


@pytest.mark.parametrize("cut", [8, 33, 60, 200, 0.5, 0.9, -1])
@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_files_are_refused_not_half_read(env, capsys, standin, kind, cut):
    buffer = io.BytesIO()
    noisy((200, 150)).save(buffer, kind)
    data = buffer.getvalue()
    at = int(len(data) * cut) if isinstance(cut, float) else (cut if cut > 0 else len(data) - 3)
    path = env / f"cut.{kind.lower()}"
    path.write_bytes(data[:at])
    code, out, err = cli(capsys, "edit", "--image", path, "--prompt", "x", "-o", env / "o.png")
    assert_clean(out, err)
    if code == 0:  # a few trailing bytes may be missing without any pixel missing
        with Image.open(path) as whole:
            whole.load()
        return
    assert_refused(code, out, err)
    assert sent(standin) == 0 and not (env / "o.png").exists()


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"GIF89a" + b"\xff" * 20, b"\xff\xd8\xff" + b"\x00" * 9,
     b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM" + b"\x00" * 60, b"II*\x00" + b"\xff" * 40],
    ids=["png-magic", "gif-magic", "jpeg-magic", "webp-magic", "bmp-magic", "tiff-magic"],
)  # fmt: skip
def test_garbage_behind_a_magic_number_is_refused(env, capsys, standin, data):
    path = env / "bad.png"
    path.write_bytes(data)
    for command in ("plan", "edit"):
        extra = (
            ["--out", env / "p"] if command == "plan" else ["--prompt", "x", "-o", env / "o.png"]
        )
        code, out, err = cli(capsys, command, "--image", path, *extra)
        assert_refused(code, out, err)
    assert sent(standin) == 0
