"""Make the README's screenshots in the real Krita and GIMP with the project's own test runs.

    python3 tools/screenshots.py [--out docs/screenshots] [--skip-gimp]

Krita: the inner tests that show the docker, a job's progress with a streamed preview and the
result strip save ``QWidget.grab()`` images when ``GPT_IMAGE_SCREENSHOTS`` names a folder.
GIMP: the Variants… window case saves a grab of its window, which the outer test copies there.
Runs under the same host lock as the test suites (``/tmp/gpt-hosts.lock``), against the stand-in.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KRITA_TESTS = "flip_in_place or docker_fits or cancel_resets"


def krita_shots(out: Path, host_name: str = "bookworm", tests: str = KRITA_TESTS) -> int:
    sys.path.insert(0, str(ROOT / "tests" / "hosts" / "krita"))
    sys.path.insert(0, str(ROOT))
    import kritarun

    host = kritarun.trixie_host() if host_name == "trixie" else kritarun.BOOKWORM
    shots = out
    if host.chroot is not None:  # Krita in a chroot writes inside it; copied out below
        shots = host.chroot / "tmp" / "gpt-image-shots"
        shots.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gpt-image-shots-"))
    standin, base_url = kritarun.start_standin(root)
    try:
        run = kritarun.run_krita(
            root / "run",
            host=host,
            extra_env={
                **kritarun.standin_env(base_url),
                "GPT_IMAGE_SCREENSHOTS": host.inside(shots),
            },
            pytest_args=f"-k '{tests}'" if tests else "",
            timeout_s=600,
        )
    finally:
        kritarun.stop_standin(standin)
    if shots != out:
        for path in shots.glob("*.png"):
            shutil.copy(path, out / path.name)
    for name, (outcome, _text) in sorted(run.cases.items()):
        if outcome != "passed":
            print(f"  {outcome}: {name}")
    print(f"Krita: rc={run.returncode}, inner pytest rc={run.result.get('pytest_rc')}")
    return 0 if run.result.get("pytest_rc") == 0 else 1


def gimp_shots(out: Path) -> int:
    env = {**os.environ, "GPT_IMAGE_SCREENSHOTS": str(out)}
    cmd = [sys.executable, "-m", "pytest", "-m", "gimp", "tests/hosts/gimp", "-q",
           "-p", "no:cacheprovider", "-k", "variants_window and install"]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--skip-gimp", action="store_true")
    parser.add_argument("--krita-host", choices=("bookworm", "trixie"), default="bookworm")
    parser.add_argument(
        "--krita-tests", default=KRITA_TESTS, help="pytest -k for the inner suite ('' = all)"
    )
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with open("/tmp/gpt-hosts.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        code = krita_shots(out, args.krita_host, args.krita_tests)
        if not args.skip_gimp:
            code |= gimp_shots(out)
    for path in sorted(out.glob("*.png")):
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return code


if __name__ == "__main__":
    sys.exit(main())
