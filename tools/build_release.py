#!/usr/bin/env python3
"""Build the release zips: Krita "Import Python Plugin from File" zips and GIMP 3 plug-in zips.

    python3 tools/build_release.py --out dist/                 # every zip + SHA256SUMS
    python3 tools/build_release.py --out dist/ --version 1.2.0
    python3 tools/build_release.py --list                      # the target table, builds nothing
    python3 tools/build_release.py --out dist/ --only krita-linux-x86_64-py313

One zip per host, platform and embedded Python (installer/release_targets.py says which and why),
each with its dependencies inside (vendor/), downloaded as binary wheels for that Python with
pip's --platform/--python-version/--only-binary: nothing is compiled and nothing comes from this
machine's site-packages. Downloads are cached in ~/.cache/gpt-image-tests/release-wheels
(GPT_IMAGE_HOSTCACHE moves it; --cache DIR overrides), and so is each target's unpacked vendor/
(under vendor-trees/, keyed by everything it is made from; --fresh ignores it). Each zip is read back and checked
(installer/release_check.py) before SHA256SUMS is written; exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installer.deploy import source_version  # noqa: E402
from installer.release_build import build  # noqa: E402
from installer.release_check import ZipReport, check_zip  # noqa: E402
from installer.release_targets import ReleaseTarget, all_targets  # noqa: E402
from tools.wheelhouse import build_wheelhouse, hostcache_root  # noqa: E402

SUMS = "SHA256SUMS"


def selected(
    targets: list[ReleaseTarget], patterns: list[str], version: str
) -> list[ReleaseTarget]:
    """Targets whose key (``krita-linux-x86_64-py313``) or zip name matches a pattern."""
    if not patterns:
        return targets
    return [
        t
        for t in targets
        if any(
            fnmatch.fnmatch(t.key, p) or fnmatch.fnmatch(t.zip_name(version), p) for p in patterns
        )
    ]


def print_table(targets: list[ReleaseTarget], version: str) -> None:
    built = [t for t in targets if not t.no_zip]
    rows = [("zip", "for", "wheel platforms")]
    rows += [(t.zip_name(version), "; ".join(t.builds), " ".join(t.wheel_platforms)) for t in built]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for r in rows:
        print(f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]}")
    for t in targets:
        if t.no_zip:
            print(no_zip_line(t))


def no_zip_line(t: ReleaseTarget) -> str:
    """What --list and a build say of a host build that gets no zip."""
    return f"no zip for {'; '.join(t.builds)} (Python {t.python}): {t.no_zip}. {t.instead}."


def target_row(t: ReleaseTarget, version: str) -> dict:
    """One --list --json row."""
    row = {"key": t.key, "host": t.host, "platform": t.platform, "python": t.python,
           "abi": t.abi, "for_hosts": list(t.builds),
           "extension_suffixes": t.extension_suffixes}  # fmt: skip
    if t.no_zip:
        return {**row, "why": t.no_zip, "instead": t.instead}
    return {"zip": t.zip_name(version), **row, "wheel_platforms": t.wheel_platforms}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_sums(out: Path) -> Path:
    """SHA256SUMS for every zip in ``out`` (``sha256sum -c`` format)."""
    lines = [f"{sha256(p)}  {p.name}\n" for p in sorted(out.glob("gpt-image-*.zip"))]
    path = out / SUMS
    path.write_text("".join(lines), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the zips and SHA256SUMS")
    parser.add_argument("--version", help="plug-in version in the names (default: pyproject.toml)")
    parser.add_argument("--list", action="store_true", help="print the target table and stop")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="build only targets whose key (krita-linux-x86_64-py313) or zip name matches "
        "(shell pattern, repeatable)",
    )
    parser.add_argument("--cache", type=Path, help="wheel download cache (default: see above)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON report at the end (with --list: the table)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="zips built at once (default 2)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="install every vendor/ afresh from the wheels (default: reuse an unpacked vendor/ "
        "whose wheels, Python, platform, requirements and pip are the same)",
    )
    args = parser.parse_args(argv)

    version = args.version or source_version(ROOT)
    if not version or any(c in version for c in "/\\ ") or version == "unknown":
        parser.error(f"--version {version!r}: give a plain version such as 1.2.0")
    every = all_targets()
    everything = [t for t in every if not t.no_zip]
    chosen = selected(every, args.only, version)
    if not chosen:
        parser.error(f"--only {' '.join(args.only)} matches no target (see --list)")
    if args.list:
        if args.json:
            rows = [target_row(t, version) for t in chosen if not t.no_zip]
            none = [target_row(t, version) for t in chosen if t.no_zip]
            print(json.dumps({"version": version, "targets": rows, "no_zip": none}, indent=1))
        else:
            print_table(chosen, version)
        return 0
    targets = [t for t in chosen if not t.no_zip]
    if not targets:  # an unusable zip is never built, not even when asked for by name
        parser.error("; ".join(no_zip_line(t) for t in chosen))
    if args.out is None:
        parser.error("--out DIR is required (or --list)")
    cache = args.cache or hostcache_root() / "release-wheels"
    args.out.mkdir(parents=True, exist_ok=True)
    for t in chosen:
        if t.no_zip:
            print(no_zip_line(t), flush=True)
    failed = False
    reports = []

    def one(target: ReleaseTarget) -> tuple[ReleaseTarget, ZipReport | str, float]:
        t0 = time.monotonic()
        try:
            wheels = build_wheelhouse(target.python, target.wheel_platforms, cache=cache)
            trees = None if args.fresh else cache / "vendor-trees"
            path = build(target, version, ROOT, args.out, wheels, everything, trees)
        except Exception as exc:  # InstallError from pip, CalledProcessError, OSError
            return target, str(exc), time.monotonic() - t0
        return target, check_zip(path, target), time.monotonic() - t0

    # pip runs in subprocesses and zlib releases the GIL: threads keep both cores busy.
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for target, report, seconds in pool.map(one, targets):
            if isinstance(report, str):
                print(f"FAILED {target.zip_name(version)}: {report}", file=sys.stderr)
                failed = True
                continue
            reports.append(report)
            status = "ok" if not report.problems else "BAD"
            print(
                f"{status:3} {report.path.name}  {report.size / 1e6:.1f} MB, {report.files} "
                f"files, {len(report.dists)} packages, {seconds:.1f} s",
                flush=True,
            )
            for problem in report.problems:
                print(f"      {problem}")
            failed = failed or bool(report.problems)
    sums = write_sums(args.out)
    print(f"wrote {sums}")
    if args.json:
        print(json.dumps({"version": version, "zips": [r.as_dict() for r in reports]}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
