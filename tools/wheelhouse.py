#!/usr/bin/env python3
"""Build (once) a local wheelhouse of the plug-ins' dependencies for one host Python.

Why: tests and the host suites install with ``install.py --wheels DIR`` so that every run is
offline, fast and reproducible. The wheelhouse is cached under ``~/.cache/gpt-image-tests/wheels-cpXY`` (
ignored) and rebuilt only when requirements.txt or the platform tags change.

    python tools/wheelhouse.py 3.11            # prints the wheelhouse directory
    python tools/wheelhouse.py 3.13 --platform manylinux2014_x86_64

The platform tags default to the ones install.py uses for this machine, so a wheelhouse built
here always satisfies a default ``install.py --wheels`` run on this machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no concurrent runs expected there
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installer.vendor import default_platforms, for_host  # noqa: E402


def hostcache_root() -> Path:
    """Where the test hosts and wheelhouses are cached: outside the checkout, so a fresh clone
    on the same machine (CI) finds them warm. ``GPT_IMAGE_HOSTCACHE`` overrides."""
    env = os.environ.get("GPT_IMAGE_HOSTCACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gpt-image-tests"


def wheelhouse_dir(python_version: str, cache: Path | None = None) -> Path:
    """Where the wheelhouse for ``python_version`` ("3.13") lives."""
    base = cache or hostcache_root()
    return base / f"wheels-cp{python_version.replace('.', '')}"


def build_wheelhouse(
    python_version: str,
    platforms: list[str] | None = None,
    requirements: Path = ROOT / "requirements.txt",
    cache: Path | None = None,
) -> Path:
    """Download binary wheels for ``python_version`` unless an identical set is already cached."""
    platforms = platforms or default_platforms()
    dest = wheelhouse_dir(python_version, cache)
    dest.parent.mkdir(parents=True, exist_ok=True)
    req_hash = hashlib.sha256(requirements.read_bytes()).hexdigest()
    want = [python_version, sorted(platforms)]
    # Host suites and tests may build the same wheelhouse at once: serialise on a lock file.
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = dest / ".stamp.json"
        try:
            state = json.loads(stamp.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("requirements") != req_hash:  # new requirements: start from scratch
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()  # only under the lock: another build making it at once failed here
            state = {"requirements": req_hash, "done": []}
        state.setdefault("done", [])
        if want in state["done"]:  # the folder only grows, so an earlier download still holds
            return dest
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q"]
        cmd += ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]
        for tag in platforms:
            cmd += ["--platform", tag]
        cmd += ["-d", str(dest), "-r", str(requirements)]
        subprocess.run(for_host(cmd, python_version), check=True)  # markers for the host
        state["done"].append(want)
        stamp.write_text(json.dumps(state))
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python_version", help="host Python X.Y, e.g. 3.13")
    parser.add_argument("--platform", action="append", help="wheel platform tag (repeatable)")
    parser.add_argument(
        "--cache",
        type=Path,
        help="cache root (default: ~/.cache/gpt-image-tests, or $GPT_IMAGE_HOSTCACHE)",
    )
    args = parser.parse_args()
    print(build_wheelhouse(args.python_version, args.platform, cache=args.cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
