"""Command line of install.py: pick targets, install or uninstall each, print a short report.

Output is plain ASCII on purpose: Windows consoles with legacy code pages crash on anything else.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from . import deploy, hosts, vendor
from .errors import InstallError
from .release_targets import ABI_MSYS2_CLANG64, NO_ZIP_INSTEAD, NO_ZIP_WHY

USAGE_EXAMPLES = """\
examples:
  python install.py                         install into every Krita and GIMP 3 found
  python install.py --host gimp --dry-run   show what would happen for GIMP only
  python install.py --uninstall             remove everything install.py installed
  python install.py --krita-dir D --kritarc F --python-version 3.11 --wheels WHEELS

--no-deps skips vendoring openai/pydantic/pillow/numpy: only for development, when the
host's Python already has them (e.g. a distro Krita with python3-openai installed).
Explicit --krita-dir / --gimp-dir turn automatic discovery off.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="install.py",
        description="Install the gpt-image plug-ins into Krita and GIMP 3, with their "
        "dependencies built for each host's own Python.",
        epilog=USAGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", choices=("krita", "gimp", "all"), default="all")
    p.add_argument("--krita-dir", type=Path, help="Krita resources folder (holds pykrita/)")
    p.add_argument("--kritarc", type=Path, help="Krita's kritarc (default: derived)")
    p.add_argument("--gimp-dir", type=Path, help="GIMP profile folder (holds plug-ins/)")
    p.add_argument("--python-version", help="host Python X.Y (default: detected per host)")
    p.add_argument(
        "--platform", action="append", help="wheel platform tag, repeatable (default: this OS)"
    )
    p.add_argument("--wheels", type=Path, help="install dependencies from this wheel folder only")
    p.add_argument("--source", type=Path, help="project tree to install from (default: here)")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be done, change nothing"
    )
    p.add_argument("--uninstall", action="store_true", help="remove what install.py installed")
    p.add_argument("--no-deps", action="store_true", help="do not vendor dependencies (dev only)")
    args = p.parse_args(argv)
    if args.python_version and not re.fullmatch(r"3\.\d{1,2}", args.python_version):
        p.error(f"--python-version must look like 3.11, not {args.python_version!r}")
    if args.wheels and not args.wheels.is_dir():
        p.error(f"--wheels {args.wheels}: no such folder")
    return args


def select_targets(args: argparse.Namespace, ctx: hosts.Context) -> list[hosts.Target]:
    """Explicit folders if given (no discovery then), otherwise every host found."""
    explicit = args.krita_dir is not None or args.gimp_dir is not None
    targets: list[hosts.Target] = []
    if explicit:
        if args.krita_dir is not None and args.host in ("krita", "all"):
            targets.append(hosts.explicit_krita(ctx, args.krita_dir, args.kritarc))
        if args.gimp_dir is not None and args.host in ("gimp", "all"):
            targets.append(hosts.explicit_gimp(ctx, args.gimp_dir))
    else:
        targets = hosts.discover(ctx, args.host)
        if args.kritarc is not None:
            kritas = [t for t in targets if t.host == "krita"]
            if len(kritas) > 1:
                raise InstallError(
                    "--kritarc is ambiguous: several Krita installs were found",
                    hint="Give --krita-dir too.",
                    exit_code=2,
                )
            for t in kritas:
                t.kritarc = args.kritarc
    if not targets:
        raise InstallError(_no_host_message(args, ctx), hint=_no_host_hint(), exit_code=2)
    for t in targets:
        if args.python_version:
            t.python_version, t.python_source = args.python_version, "--python-version"
        t.platforms = list(args.platform) if args.platform else vendor.default_platforms()
        if not args.platform:  # wheels for another machine: its Python does not run here
            t.python_exe = hosts.host_python_program(ctx, t)
    return targets


def _no_host_message(args, ctx) -> str:
    if args.krita_dir is not None or args.gimp_dir is not None:
        return f"--host {args.host} does not match the folders given (--krita-dir/--gimp-dir)"
    lines = [f"no {'Krita or GIMP 3' if args.host == 'all' else args.host} installation found."]
    for name, places in hosts.describe_search(ctx, args.host).items():
        lines.append(f"  looked for {name} in: " + ", ".join(places))
    return "\n".join(lines)


def _no_host_hint() -> str:
    return (
        "Start the host once (it creates its profile folder), or name the folder: "
        "--krita-dir DIR (the one holding pykrita/) or --gimp-dir DIR (the one holding plug-ins/)."
    )


class VendorCache:
    """Runs pip once per (Python version, platforms): straight into the first target's staging
    folder (no copy), then later targets copy that target's installed vendor/."""

    def __init__(self, requirements: Path, wheels: Path | None) -> None:
        self.requirements = requirements
        self.wheels = wheels
        self.built: dict[tuple[str, tuple[str, ...]], Path] = {}

    @staticmethod
    def _key(target: hosts.Target) -> tuple[str, tuple[str, ...]]:
        return (target.python_version, tuple(target.platforms))

    def filler(self, target: hosts.Target):
        def fill(dest: Path) -> list[str]:
            done = self.built.get(self._key(target))
            if done is not None and done.is_dir():
                shutil.copytree(done, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                self._build(target, dest)
            return sorted(
                p.name[: -len(".dist-info")]
                for p in dest.iterdir()
                if p.name.endswith(".dist-info")
            )

        return fill

    def installed(self, target: hosts.Target, vendor_dir: Path) -> None:
        """``vendor_dir`` now holds a finished vendor/ for ``target``'s Python and platforms."""
        self.built[self._key(target)] = vendor_dir

    def _build(self, target: hosts.Target, dest: Path) -> None:
        try:
            vendor.vendor(
                dest, self.requirements, target.python_version, target.platforms, self.wheels
            )
        except InstallError as exc:
            if all(t.startswith("manylinux2014") for t in target.platforms):
                exc.hint = (exc.hint or "") + (
                    " Recent numpy/pillow wheels are manylinux_2_28 only: omit --platform "
                    "(the default covers manylinux_2_28 down to manylinux2014)."
                )
            raise


def run(argv: list[str] | None = None, default_source: Path | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a non-ASCII path must not crash a cp1252 console
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for bad usage, 0 for --help
        return int(exc.code or 0)
    source = (args.source or default_source or Path.cwd()).resolve()
    version = deploy.source_version(source)
    ctx = hosts.Context.current()
    say = print
    try:
        targets = select_targets(args, ctx)
        if not args.uninstall and not args.no_deps:
            vendor.check_pip()
            requirements = source / "requirements.txt"
            if not requirements.is_file():
                raise InstallError(f"{requirements} is missing", hint="Pass --source DIR.")
    except InstallError as exc:
        _error(exc)
        return exc.exit_code

    mode = "uninstall" if args.uninstall else "install"
    say(f"gpt-image {version}: {mode}{' (dry run)' if args.dry_run else ''} from {source}")
    cache = (
        None
        if (args.uninstall or args.no_deps or args.dry_run)
        else VendorCache(source / "requirements.txt", args.wheels)
    )
    results: list[deploy.Result] = []
    failures: list[tuple[hosts.Target, InstallError]] = []
    for t in targets:
        say(f"- {t.label}: {t.profile} (Python {t.python_version}: {t.python_source})")
        try:
            res = _one_target(t, args, source, version, cache, say)
        except InstallError as exc:
            failures.append((t, exc))
            _error(exc, indent="  ")
        except OSError as exc:
            err = InstallError(
                f"{exc}", hint="If the host is running, quit it and run install.py again."
            )
            failures.append((t, err))
            _error(err, indent="  ")
        else:
            if res is not None:
                results.append(res)
    report(results, failures, args, say)
    return 1 if failures else 0


def _one_target(t, args, source, version, cache, say) -> deploy.Result | None:
    """Install into / uninstall from one target; None if there was nothing to uninstall."""
    layout = deploy.layout_for(t, source)
    if args.uninstall:
        res = deploy.uninstall(t, layout, dry_run=args.dry_run, say=say)
        if res is None:
            say("  nothing installed here")
        return res
    if not args.no_deps and not args.platform and _msys2_gimp(t):
        why, instead = NO_ZIP_WHY[ABI_MSYS2_CLANG64], NO_ZIP_INSTEAD[ABI_MSYS2_CLANG64]
        raise InstallError(f"GPT Image cannot work in {t.label}: {why}.", hint=f"{instead}.")
    if args.dry_run and not args.no_deps:
        requirements = source / "requirements.txt"
        for cmd in vendor.pip_commands(
            Path("<tmp>/vendor"), requirements, t.python_version, t.platforms, args.wheels
        ):
            say("  pip: " + " ".join(cmd))
        say(f"  (pip evaluates environment markers for Python {t.python_version})")
    res = deploy.install(
        t,
        layout,
        version=version,
        vendor_into=cache.filler(t) if cache else None,
        dry_run=args.dry_run,
        say=say,
    )
    if cache:
        cache.installed(t, res.folder / "vendor")
    return res


def _msys2_gimp(t: hosts.Target) -> bool:
    """GIMP on Windows: its Python is MSYS2's, which loads none of PyPI's win_amd64 wheels
    (installer/release_targets.py has the sources)."""
    return t.host == "gimp" and t.platforms == ["win_amd64"]


def _error(exc: InstallError, indent: str = "") -> None:
    text = str(exc).replace("\n", "\n" + indent)
    print(f"{indent}error: {text}", file=sys.stderr)


def report(results, failures, args, say) -> None:
    """The short summary at the end: what went where, what to do next."""
    say("")
    say("Summary:")
    for r in results:
        deps = (
            f", {len(r.packages)} packages for Python {r.target.python_version}"
            if r.packages
            else ""
        )
        say(f"  {r.action}: {r.target.label} -> {r.folder} ({r.files} files{deps})")
        for n in r.notes:
            say(f"      {n}")
    for t, exc in failures:
        say(f"  FAILED: {t.label} -> {t.profile}: {exc.message.splitlines()[0]}")
    if args.dry_run or not results:
        if not results and not failures:
            say("  nothing to do")
        return
    say("")
    say("Next:")
    hosts_done = {r.target.host for r in results}
    if args.uninstall:
        say("  Restart " + " and ".join(_names(hosts_done)) + ". Your settings, API key and")
        say("  history were left in place (see the README to delete them too).")
        return
    if "krita" in hosts_done:
        say("  Krita: quit and restart it. The plug-in is enabled (Settings > Configure Krita >")
        say("         Python Plugin Manager lists it); open it from Settings > Dockers.")
    if "gimp" in hosts_done:
        say("  GIMP:  quit and restart it (it registers plug-ins while starting), then use")
        say("         Filters > GPT Image.")
    say("  Then enter your OpenAI API key in the plug-in's settings (or set OPENAI_API_KEY).")
    say("  Re-run this command to upgrade; 'python install.py --uninstall' removes it.")


def _names(hosts_done) -> list[str]:
    return [n for h, n in (("krita", "Krita"), ("gimp", "GIMP")) if h in hosts_done]
