"""Install / uninstall one plug-in into one host profile, recorded in a manifest.

Why a manifest: an upgrade must replace exactly what the last install put there, uninstall must
remove exactly that, and neither may touch a file some other tool or the user put there.

Layout (relative to the plug-in's parent folder, ``<profile>/pykrita`` or ``<profile>/plug-ins``):

    Krita:  gpt_image.desktop, gpt_image/{krita_plugin/*, core/, vendor/, .install-manifest.json}
    GIMP:   gpt-image/{gpt-image.py (0755), gimp_plugin/*, core/, vendor/, .install-manifest.json}

The new plug-in folder is assembled next to the old one (``.gpt_image.staging-PID``), complete
with its vendored dependencies, and only then swapped in with two renames: a failed pip run or
a copy error leaves the previous install untouched.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import kritarc
from .errors import InstallError
from .hosts import Target

MANIFEST = ".install-manifest.json"
KRITA_NAME = "gpt_image"
GIMP_NAME = "gpt-image"
KRITARC_SECTION = "python"
KRITARC_KEY = f"enable_{KRITA_NAME}"
_SKIP_NAMES = {"__pycache__", ".DS_Store", ".git", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_GENERATED = {"__pycache__"}  # created by the host's Python at run time, never user data


@dataclass
class Layout:
    """Where one plug-in goes inside one profile and which source files make it up."""

    host: str
    name: str  # plug-in folder name
    parent: Path  # <profile>/pykrita or <profile>/plug-ins
    files: dict[str, Path]  # destination (relative to parent, posix) -> source file
    executable: tuple[str, ...] = ()  # destinations that get mode 0755
    kritarc: Path | None = None

    @property
    def folder(self) -> Path:
        return self.parent / self.name

    def outside(self) -> list[str]:
        """Installed paths outside the plug-in folder (Krita's .desktop file)."""
        return sorted(p for p in self.files if not p.startswith(self.name + "/"))


@dataclass
class Result:
    """What happened to one target, for the final report."""

    target: Target
    action: str  # "installed", "upgraded", "removed", "would install", ...
    folder: Path
    files: int = 0
    packages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- source tree


def _walk(src: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_NAMES)
        for f in sorted(files):
            if f in _SKIP_NAMES or f.endswith(_SKIP_SUFFIXES):
                continue
            out.append(Path(root) / f)
    return out


def _require(path: Path, what: str) -> None:
    if not path.is_file():
        raise InstallError(
            f"the source tree is incomplete: {path} ({what}) is missing",
            hint="Run install.py from a complete checkout or release, or pass --source DIR.",
        )


def layout_for(target: Target, source: Path) -> Layout:
    """The files to install for ``target`` from the source tree ``source``."""
    files: dict[str, Path] = {}
    if target.host == "krita":
        plug, name = source / "krita_plugin", KRITA_NAME
        _require(plug / f"{name}.desktop", "Krita's plug-in description")
        _require(plug / "__init__.py", "the Krita plug-in package")
        parent = target.profile / "pykrita"
        for f in _walk(plug):
            rel = f.relative_to(plug).as_posix()
            if rel == f"{name}.desktop":
                files[rel] = f
            elif rel.split("/")[0] not in ("core", "vendor"):
                files[f"{name}/{rel}"] = f
        executable: tuple[str, ...] = ()
    else:
        plug, name = source / "gimp_plugin", GIMP_NAME
        _require(plug / f"{name}.py", "the GIMP plug-in's entry file")
        parent = target.profile / "plug-ins"
        for f in _walk(plug):
            rel = f.relative_to(plug).as_posix()
            if rel.split("/")[0] not in ("core", "vendor"):
                files[f"{name}/{rel}"] = f
        executable = (f"{name}/{name}.py",)
    _require(source / "core" / "__init__.py", "the shared core package")
    for f in _walk(source / "core"):
        files[f"{name}/core/{f.relative_to(source / 'core').as_posix()}"] = f
    return Layout(target.host, name, parent, files, executable, target.kritarc)


def source_version(source: Path) -> str:
    """The project version from pyproject.toml (no tomllib: must run on Python 3.8)."""
    import re

    try:
        text = (source / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    return m.group(1) if m else "unknown"


# ----------------------------------------------------------------------------- manifest


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an install by this installer in ``folder``, or None if there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("files"), list):
            raise ValueError("no file list")
        return data
    except (OSError, ValueError) as exc:
        raise InstallError(
            f"{path} is unreadable ({exc})",
            hint="Remove that plug-in folder by hand, then run install.py again.",
        ) from exc


def _tree_files(folder: Path) -> list[str]:
    """Files under ``folder`` as posix paths relative to its parent, skipping __pycache__."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _GENERATED]
        for f in files:
            out.append((Path(root) / f).relative_to(folder.parent).as_posix())
    return sorted(out)


# ----------------------------------------------------------------------------- checks


def check_ownership(layout: Layout, old: dict | None) -> list[str]:
    """Refuse to overwrite what this installer did not install; returns user-added files.

    Files the user added inside our folder after installing are carried over to the new
    install (they are not ours to delete) unless the new version ships the same path.
    """
    owned = set(old["files"]) if old else set()
    folder = layout.folder
    if folder.exists() and not folder.is_dir():
        raise _foreign(folder)
    present = _tree_files(folder) if folder.is_dir() else []
    if folder.is_dir() and old is None and present:
        raise _foreign(folder)
    for rel in layout.outside():
        p = layout.parent / rel
        if (p.exists() or p.is_symlink()) and rel not in owned:
            raise _foreign(p)
    extra = [p for p in present if p not in owned]
    clash = [p for p in extra if p in layout.files or p == f"{layout.name}/{MANIFEST}"]
    vendor_prefix = f"{layout.name}/vendor/"
    clash += [p for p in extra if p.startswith(vendor_prefix)]
    if clash:
        raise InstallError(
            f"{layout.parent / clash[0]} was not installed by install.py and would be replaced",
            hint="Move it out of the plug-in folder, then run install.py again.",
        )
    return extra


def _foreign(path: Path) -> InstallError:
    return InstallError(
        f"{path} already exists and was not installed by install.py; not overwriting it",
        hint=(
            "It is probably another copy of the plug-in installed by hand. Move it away (or "
            "delete it if you do not need it), then run install.py again."
        ),
    )


def check_writable(path: Path, dry_run: bool) -> None:
    """Fail early with a clear message if ``path`` (a folder, maybe not yet existing) is not
    writable: probes for real, since permission bits do not tell (root, read-only mounts)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InstallError(
            f"cannot write to {path}: {probe} is not a folder",
            hint="Pass the right profile folder with --krita-dir / --gimp-dir.",
        )
    try:
        if dry_run:
            if not os.access(probe, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied", str(probe))
            return
        path.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".gpt-image-probe-", dir=path)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise InstallError(
            f"cannot write to {path} ({exc.strerror or exc})",
            hint=(
                "Check the folder's owner and permissions (do not run the host's installer "
                "folders as the target), or choose another folder with --krita-dir / --gimp-dir."
            ),
        ) from exc


# ----------------------------------------------------------------------------- install


def _created_dirs(path: Path) -> list[str]:
    """Missing folders from ``path`` upwards (deepest first): uninstall removes them again."""
    out = []
    p = path
    while not p.exists() and p.parent != p:
        out.append(str(p))
        p = p.parent
    return out


def _copy(src: Path, dst: Path, mode: int | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)  # fresh mtime: GIMP re-registers a plug-in whose file changed
    if mode is not None:
        os.chmod(dst, mode)


def _write_atomic(dst: Path, src: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.gpt-image-tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def install(
    target: Target,
    layout: Layout,
    *,
    version: str,
    vendor_into: Callable[[Path], list[str]] | None,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> Result:
    """Install or upgrade ``layout`` for ``target``. ``vendor_into(dir)`` fills vendor/ and
    returns the installed distributions (None = --no-deps)."""
    folder = layout.folder
    old = read_manifest(folder) if folder.is_dir() else None
    extra = check_ownership(layout, old)
    action = "upgraded" if old else "installed"
    if dry_run:
        return _dry_run_install(target, layout, old, extra, vendor_into is not None, say)
    created = old.get("created_dirs", []) if old else _created_dirs(layout.parent)
    if layout.kritarc is not None and not old:
        created += _created_dirs(layout.kritarc.parent)
    check_writable(layout.parent, dry_run=False)
    if layout.kritarc is not None:
        check_writable(layout.kritarc.parent, dry_run=False)

    for kind in ("staging", "old"):  # left by an interrupted run
        for leftover in layout.parent.glob(f".{layout.name}.{kind}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    stage = layout.parent / f".{layout.name}.staging-{os.getpid()}"
    retired = layout.parent / f".{layout.name}.old-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        inside = {rel: src for rel, src in layout.files.items() if rel not in layout.outside()}
        for rel, src in inside.items():
            mode = 0o755 if rel in layout.executable else None
            _copy(src, stage / rel.split("/", 1)[1], mode)
        packages: list[str] = []
        if vendor_into is not None:
            packages = vendor_into(stage / "vendor")
        for rel in extra:  # the user's own files inside our folder stay where they were
            _copy(layout.parent / rel, stage / rel.split("/", 1)[1], None)
        compiled = byte_compile(target, stage, folder)
        shipped = set(_stage_files(stage, layout.name)) - set(extra)
        installed = sorted(shipped | set(layout.outside()))
        installed.append(f"{layout.name}/{MANIFEST}")
        manifest = _manifest(target, layout, version, packages, installed, created, old, extra)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        _swap(stage, folder, retired)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    notes = [compiled] if compiled else []
    if retired.exists():  # Windows keeps loaded .pyd files locked while the host runs
        notes.append(f"could not delete the old copy {retired}: delete it after quitting the host")

    for rel in layout.outside():
        _write_atomic(layout.parent / rel, layout.files[rel])
    for rel in (old or {}).get("files", []):  # outside files the new version no longer ships
        if not rel.startswith(layout.name + "/") and rel not in layout.files:
            _unlink(layout.parent / rel)
    old_rc = (old or {}).get("kritarc")
    if old_rc and old_rc.get("path") != str(layout.kritarc):  # enabled elsewhere last time
        notes += _restore_kritarc(old_rc)
    if layout.kritarc is not None:
        _enable_in_kritarc(layout.kritarc)
        notes.append(f"enabled in {layout.kritarc} ([{KRITARC_SECTION}] {KRITARC_KEY}=true)")
    if target.host == "gimp":
        notes += _refresh_gimp(target.profile, layout)
    if extra:
        notes.append(f"kept {len(extra)} file(s) you added inside {folder}")
    return Result(target, action, folder, len(installed), packages, notes)


#: Run by the host's own Python (``Target.python_exe``): byte-compiles the staged plug-in for
#: the folder it becomes. Exit 3: some files did not compile (the host compiles those itself).
_COMPILE = """\
import compileall, sys
want, folder, final = sys.argv[1:4]
have = "%d.%d" % sys.version_info[:2]
if have != want:
    sys.exit("it is Python %s, not %s" % (have, want))
try:
    ok = compileall.compile_dir(folder, ddir=final, quiet=2, workers=0)
except Exception:  # no process pool here: one process
    ok = compileall.compile_dir(folder, ddir=final, quiet=2)
sys.exit(0 if ok else 3)
"""
COMPILE_TIMEOUT_S = 600


def byte_compile(target: Target, stage: Path, final: Path) -> str:
    """Byte-compile the staged plug-in (its code, core/ and vendor/) with the host's own Python,
    so the first job does not compile the SDK on the host's worker thread (seconds, holding the
    GIL a module at a time: the host's UI freezes). Tracebacks name ``final``, the folder the
    stage becomes. Only where that Python is a program this machine runs
    (``hosts.host_python_program``); never fatal: the host compiles what is missing itself.
    Returns a note for the report ("" when it all compiled, or nothing was tried).

    Release zips get none: Krita's "Import Python Plugin from File" only unzips, so nothing of
    the host's runs at install time, and a zip holds no byte code (installer/release_check.py).
    """
    if not target.python_exe:
        return ""
    command = [target.python_exe, "-I", "-c", _COMPILE, target.python_version, str(stage)]
    try:
        proc = subprocess.run(
            [*command, str(final)],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"byte code not written ({exc}); the host compiles it on first use"
    if proc.returncode == 0:
        return ""
    if proc.returncode == 3:
        return "some files did not byte-compile; the host compiles those on first use"
    why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return (
        f"byte code not written by {target.python_exe} ({why}); the host compiles it on first use"
    )


def _stage_files(stage: Path, name: str) -> list[str]:
    """Files in the staging folder, named as they will be once it is renamed to ``name``."""
    return [f"{name}/{p.split('/', 1)[1]}" for p in _tree_files(stage)]


def _swap(stage: Path, folder: Path, retired: Path) -> None:
    """Replace ``folder`` by ``stage`` with two renames; restore the old one if the second fails."""
    shutil.rmtree(retired, ignore_errors=True)
    had_old = folder.exists()
    if had_old:
        os.rename(folder, retired)
    try:
        os.rename(stage, folder)
    except OSError:
        if had_old:
            os.rename(retired, folder)
        raise


def _manifest(target, layout, version, packages, installed, created, old, extra) -> dict:
    data = {
        "format": 1,
        "plugin": layout.name,
        "host": target.host,
        "version": version,
        "installed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python_version": target.python_version,
        "python_source": target.python_source,
        "platforms": target.platforms,
        "vendored": packages,
        "deps": "vendored" if packages else "none (--no-deps)",
        "created_dirs": created,
        "user_files": extra,
        "files": installed,
    }
    if layout.kritarc is not None:
        prev = (old or {}).get("kritarc")
        if prev and prev.get("path") == str(layout.kritarc):
            data["kritarc"] = prev  # keep what was there before the *first* install
        else:
            text = kritarc.read(layout.kritarc)
            had_section = text is not None and f"[{KRITARC_SECTION}]" in (
                ln.strip() for ln in text.splitlines()
            )
            data["kritarc"] = {
                "path": str(layout.kritarc),
                "section": KRITARC_SECTION,
                "key": KRITARC_KEY,
                "previous": None
                if text is None
                else kritarc.get_value(text, KRITARC_SECTION, KRITARC_KEY),
                "file_created": text is None,
                "section_created": not had_section,
            }
    return data


def _enable_in_kritarc(path: Path) -> None:
    text = kritarc.read(path) or ""
    new = kritarc.set_value(text, KRITARC_SECTION, KRITARC_KEY, "true")
    if new != text or not path.exists():
        kritarc.write(path, new)


def _refresh_gimp(profile: Path, layout: Layout) -> list[str]:
    """GIMP caches plug-in registrations in pluginrc by mtime: drop it so GIMP re-queries."""
    notes = []
    rc = profile / "pluginrc"
    if rc.exists():
        _unlink(rc)
        notes.append(f"removed {rc} (GIMP rebuilds it at start)")
    for rel in layout.executable:
        os.utime(layout.parent / rel)
    return notes


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _dry_run_install(target, layout, old, extra, deps, say) -> Result:
    check_writable(layout.parent, dry_run=True)
    if layout.kritarc is not None:
        check_writable(layout.kritarc.parent, dry_run=True)
    verb = "replace" if old else "create"
    say(f"  would {verb} {layout.folder} ({len(layout.files)} files from the source tree)")
    for rel in layout.outside():
        say(f"  would write {layout.parent / rel}")
    if deps:
        say(f"  would vendor dependencies for Python {target.python_version} into vendor/")
    if target.python_exe:
        say(f"  would byte-compile it with {target.python_exe}")
    if layout.kritarc is not None:
        say(f"  would set [{KRITARC_SECTION}] {KRITARC_KEY}=true in {layout.kritarc}")
    if target.host == "gimp" and (target.profile / "pluginrc").exists():
        say(f"  would remove {target.profile / 'pluginrc'} (GIMP rebuilds it)")
    notes = [f"would keep {len(extra)} file(s) you added"] if extra else []
    return Result(
        target,
        "would upgrade" if old else "would install",
        layout.folder,
        len(layout.files),
        [],
        notes,
    )


# ----------------------------------------------------------------------------- uninstall


def uninstall(
    target: Target, layout: Layout, *, dry_run: bool = False, say: Callable[[str], None] = print
) -> Result | None:
    """Remove exactly what the manifest lists; None if nothing was installed here."""
    folder = layout.folder
    if not folder.exists():
        return None
    old = read_manifest(folder) if folder.is_dir() else None
    if old is None:
        raise _foreign(folder)
    files = list(old["files"])
    if dry_run:
        say(f"  would remove {len(files)} files from {layout.parent}")
        if old.get("kritarc"):
            say(f"  would restore {old['kritarc']['key']} in {old['kritarc']['path']}")
        return Result(target, "would remove", folder, len(files))
    check_writable(layout.parent, dry_run=False)
    for rel in files:
        _unlink(layout.parent / rel)
    for root, dirs, _ in os.walk(folder, topdown=False):
        for d in dirs:
            if d in _GENERATED:
                shutil.rmtree(Path(root) / d, ignore_errors=True)
    _remove_empty_dirs(folder)
    notes = []
    left = _tree_files(folder) if folder.exists() else []
    if left:
        notes.append(f"left {len(left)} file(s) not installed by install.py in {folder}")
    record = old.get("kritarc")
    if record:
        notes += _restore_kritarc(record)
    if target.host == "gimp":
        _unlink(target.profile / "pluginrc")
    for d in old.get("created_dirs", []):
        with contextlib.suppress(OSError):
            Path(d).rmdir()
    return Result(target, "removed", folder, len(files), [], notes)


def _remove_empty_dirs(folder: Path) -> None:
    for root, dirs, _ in os.walk(folder, topdown=False):
        for d in dirs:
            with contextlib.suppress(OSError):
                (Path(root) / d).rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def _restore_kritarc(record: dict) -> list[str]:
    path = Path(record["path"])
    text = kritarc.read(path)
    if text is None:
        return []
    prev = record.get("previous")
    new = kritarc.set_value(
        text,
        record["section"],
        record["key"],
        prev,
        drop_empty_section=record.get("section_created", False),
    )
    if record.get("file_created") and not new.strip():
        _unlink(path)
        return [f"removed {path} (install.py had created it)"]
    if new != text:
        kritarc.write(path, new)
    what = "removed" if prev is None else f"restored to {prev}"
    return [f"{record['key']} {what} in {path}"]
