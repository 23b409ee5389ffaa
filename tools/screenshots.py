"""Make the README's screenshots in the real Krita and GIMP, through the host test harnesses.

    python3 tools/screenshots.py [--out docs/screenshots] [--krita-host krita5.2]
                                 [--gimp-host gimp3.2] [--only krita|gimp]

Krita: ``tests/hosts/krita/inner/shots_krita.py`` runs inside one Krita start (kritarun, under
Xvfb at 1920x1080, the plug-in installed by install.py, the stand-in as the API) and grabs the
main window and the docker as drawn. GIMP: ``tests/hosts/gimp/shots_gimp.py`` runs inside one
``gimp-console`` start (gimp_harness) and grabs the plug-in's own windows: the Edit dialog, the
progress window with a streamed preview, Variants…, and History… / Settings… where the plug-in
has them. The PNGs are then reduced to a 256-colour palette (UI pictures stay sharp, a tenth of
the size). Not a test (no part of the default run): ``tests/test_screenshots_tool.py`` only
checks that the Krita half still produces its pictures. Holds ``/tmp/gpt-hosts.lock`` while the
hosts run, as the host suites do.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "tests" / "hosts", ROOT / "tests" / "hosts" / "krita"):
    sys.path.insert(0, str(_folder))
sys.path.insert(0, str(ROOT / "tests" / "hosts" / "gimp"))

KRITA_MODULE = "shots_krita.py"
GIMP_SCRIPT = "shots_gimp.py"


def landscape(width: int = 1200, height: int = 800) -> Image.Image:
    """A calm painted scene (sky, sun, hills, lake): the shots show a picture, not test noise."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    top, bottom = np.array([70, 120, 200]), np.array([250, 200, 150])
    sky = (top * (1 - y) + bottom * y) * np.ones((1, width, 1))
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((260, 170, 400, 310), fill=(255, 236, 170))
    xs = np.arange(0, width + 10, 10)
    for base, amp, phase, color in (
        (0.58, 60, 0.0, (120, 150, 170)),
        (0.66, 45, 1.7, (70, 120, 80)),
        (0.76, 30, 3.1, (50, 95, 55)),
    ):
        ys = base * height + amp * np.sin(xs / width * 5.0 + phase)
        outline = [*zip(xs.tolist(), ys.tolist(), strict=True), (width, height), (0, height)]
        draw.polygon(outline, fill=color)
    draw.rectangle((0, int(height * 0.86), width, height), fill=(60, 110, 150))
    return image.filter(ImageFilter.GaussianBlur(1.2))


def krita_shots(out: Path, host_id: str = "krita5.2", select: str = "") -> list[str]:
    """Run shots_krita.py in one Krita start; copy its PNGs to ``out``. Returns problems."""
    import kritarun

    host = kritarun.krita_host(host_id)
    root = Path(tempfile.mkdtemp(prefix="gpt-image-shots-"))
    standin, base_url = kritarun.start_standin(root)
    shots = root / "shots"  # beside "run", which run_krita makes afresh
    try:
        # a chroot Krita writes inside the chroot (run_krita moves its run folder there too)
        if host.chroot is not None:
            shots = host.chroot / "tmp" / f"gpt-image-shots-{root.name}"
        shots.mkdir(parents=True, exist_ok=True)
        landscape().save(shots / "meadow.png")
        inside = host.inside(shots)
        args = f"-o python_files={KRITA_MODULE} -k shot"
        if select:
            args += f" and {select}"
        run = kritarun.run_krita(
            root / "run",
            host=host,
            extra_env={**kritarun.standin_env(base_url), "GPT_IMAGE_SCREENSHOTS": inside},
            pytest_args=args,
            timeout_s=420,
        )
    finally:
        kritarun.stop_standin(standin)
    problems = [
        f"krita {name}: {outcome}\n{text[-1500:]}"
        for name, (outcome, text) in sorted(run.cases.items())
        if outcome != "passed"
    ]
    if not run.cases:
        problems.append(f"krita ran no shots (rc={run.returncode}):\n{run.logs()}")
    for path in sorted(shots.glob("krita-*")):
        shutil.copy(path, out / path.name)
    shutil.rmtree(shots, ignore_errors=True)
    print(f"Krita {host_id}: {len(run.cases)} shot run(s), {run.elapsed_s:.0f} s", flush=True)
    return problems


def gimp_shots(out: Path, host_id: str = "gimp3.2") -> list[str]:
    """Run shots_gimp.py in one gimp-console start; copy its PNGs to ``out``."""
    import gimp_harness

    scene = Path(tempfile.mkdtemp(prefix="gpt-image-shots-")) / "scene.png"
    landscape().save(scene)
    run = gimp_harness.run_gimp(["shots"], host=host_id, script=GIMP_SCRIPT, extra_files=(scene,))
    try:
        problems = []
        entries = run.summary.get("shots", {})
        if not entries:
            problems.append(f"gimp ran no shots (rc={run.returncode}):\n{run.log[-4000:]}")
        for name, entry in sorted(entries.items()):
            if entry.get("error"):
                problems.append(f"gimp {name}: {entry['error'][-1500:]}")
            elif entry.get("skipped"):
                print(f"  gimp {name}: skipped ({entry['skipped']})")
        for path in sorted(run.out.glob("gimp-*.png")):
            shutil.copy(path, out / path.name)
        print(f"GIMP {host_id}: {len(entries)} shot(s), {run.seconds:.0f} s", flush=True)
        return problems
    finally:
        gimp_harness.clean_up(run)


def shrink(path: Path) -> None:
    """A 256-colour palette PNG: UI screenshots keep their look at a fraction of the bytes."""
    with Image.open(path) as image:
        image.load()
    rgb = image.convert("RGB")
    small = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


@contextmanager
def host_lock(take: bool = True):
    """The machine-wide host lock of the test suites (``take=False``: the caller holds it)."""
    if not take:
        yield
        return
    with open("/tmp/gpt-hosts.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--krita-host", default="krita5.2")
    parser.add_argument("--gimp-host", default="gimp3.2")
    parser.add_argument("--only", choices=("krita", "gimp"))
    parser.add_argument("-k", default="", help="Krita: only shots matching this (pytest -k)")
    parser.add_argument("--no-shrink", action="store_true", help="keep the full-colour PNGs")
    parser.add_argument("--no-lock", action="store_true", help="the caller holds the host lock")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with host_lock(not args.no_lock):
        if args.only in (None, "krita"):
            problems += krita_shots(out, args.krita_host, args.k)
        if args.only in (None, "gimp"):
            problems += gimp_shots(out, args.gimp_host)
    for path in sorted(out.glob("*.png")):
        if not args.no_shrink:
            shrink(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
              f"  {path.stat().st_size // 1024} KB")  # fmt: skip
    report = out / "krita-window-1080.json"
    if report.exists():
        print("  Krita window at 1920x1080:", json.dumps(json.loads(report.read_text())))
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
