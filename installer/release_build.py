"""Build one release zip: the plug-in's files (as install.py lays them out) + vendor/ + bundle.json.

Why reuse install.py's pieces: ``deploy.layout_for`` already decides which source files make up
each plug-in and ``vendor.vendor`` already installs wheels for a foreign Python with pip's
--platform/--python-version/--only-binary; a zip is that same folder, packed the way each host's
own installer unpacks it:

    Krita:  gpt_image.desktop, gpt_image.action, README.txt, gpt_image/{..., core/, vendor/,
            bundle.json}   (Tools → Scripts → Import Python Plugin from File…)
    GIMP:   gpt-image/{gpt-image.py (0755), gpt_image_gimp/, core/, vendor/, bundle.json,
            README.txt}    (unzipped into the profile's plug-ins folder)

Zips are reproducible: sorted entries, fixed time stamps, explicit folder entries (Krita's
importer finds a plug-in's folder by its folder entry).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from pathlib import Path

from core.bundle_check import BUNDLE_FILE, FORMAT, PLATFORM_LABELS

from .deploy import GIMP_NAME, KRITA_NAME, layout_for
from .hosts import Target
from .release_targets import ReleaseTarget, no_zip_targets
from .vendor import vendor

ZIP_DATE = (2020, 1, 1, 0, 0, 0)
#: bump when the way a vendor/ tree is made changes in a way its cache key does not see
VENDOR_TREE_FORMAT = 1
#: vendored test suites (numpy's) are never imported and only make the zip bigger
_PRUNE_DIRS = {"__pycache__", "tests"}
_PRUNE_FILES = {"conftest.py"}
#: a compiled module's tagged suffix (.cpython-313-x86_64-linux-gnu.so, .cp313-win_amd64.pyd,
#: .abi3.so); untagged .so / .pyd names carry none
TAGGED_SUFFIX = re.compile(
    r"(\.cpython-\d+[a-z]*-[A-Za-z0-9_\-]+\.so|\.cp\d+[a-z]*-[a-z0-9_]+\.pyd|\.abi3\.so)$"
)


def plugin_folder(host: str) -> str:
    return KRITA_NAME if host == "krita" else GIMP_NAME


def _source_files(target: ReleaseTarget, source: Path) -> tuple[dict[str, Path], tuple[str, ...]]:
    """Zip path -> source file, and the paths that must be executable."""
    where = Target(target.host, "release zip", Path("/release"), target.python, "release target")
    layout = layout_for(where, source)
    files = dict(layout.files)
    if target.host == "krita":  # Krita's importer copies a top-level <name>.action into actions/
        files[f"{KRITA_NAME}.action"] = source / "krita_plugin" / f"{KRITA_NAME}.action"
    return files, layout.executable


def readme_text(target: ReleaseTarget, version: str) -> str:
    """The short README inside each zip: which host it fits and how to install it."""
    name = target.zip_name(version)
    fits = "\n".join(f"  - {b}" for b in target.builds)
    where = PLATFORM_LABELS.get(target.platform, target.platform)
    if target.host == "krita":
        steps = (
            "1. In Krita: Tools → Scripts → Import Python Plugin from File…, choose this zip.\n"
            '2. Answer Yes to "Enable plugins now?", then restart Krita.\n'
            "3. Settings → Dockers → GPT Image. Enter your OpenAI API key with the docker's\n"
            "   Settings button."
        )
    else:
        steps = (
            "1. In GIMP: Edit → Preferences → Folders → Plug-ins shows your plug-ins folder\n"
            "   (macOS: ~/Library/Application Support/GIMP/3.0/plug-ins, Flatpak:\n"
            "   ~/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins; 3.2 for GIMP 3.2).\n"
            "2. Unzip this file there, so that plug-ins/gpt-image/gpt-image.py exists\n"
            "   (not plug-ins/gpt-image-gimp-…/gpt-image/…).\n"
            "3. Restart GIMP: Filters → GPT Image → Edit… / Generate…. Enter your OpenAI API key\n"
            "   in the dialog's settings."
        )
    return (
        f"GPT Image {version} for {'Krita' if target.host == 'krita' else 'GIMP 3'}\n"
        f"{name}\n\n"
        f"Built for {where} with Python {target.python}, for:\n{fits}\n\n"
        f"Install:\n{steps}\n\n"
        "Everything it needs is inside: no network at install or first start. A host whose\n"
        "Python does not match this zip says so and names the zip to use instead.\n"
    )


def _prune(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for d in [d for d in dirs if d in _PRUNE_DIRS]:
            shutil.rmtree(Path(root) / d)
            dirs.remove(d)
        for f in files:
            if f in _PRUNE_FILES or f.endswith((".pyc", ".pyo")):
                (Path(root) / f).unlink()


def extension_suffixes(vendor_dir: Path) -> list[str]:
    """The tagged suffixes of the compiled modules in vendor/ (what a host must accept)."""
    found = set()
    for path in vendor_dir.rglob("*"):
        m = TAGGED_SUFFIX.search(path.name)
        if m and path.is_file():
            found.add(m.group(1))
    return sorted(found)


def wheel_tags(vendor_dir: Path) -> dict[str, list[str]]:
    """``{dist-info folder: [tags from its WHEEL file]}`` for every vendored distribution."""
    out = {}
    for wheel in sorted(vendor_dir.glob("*.dist-info/WHEEL")):
        text = wheel.read_text(encoding="utf-8", errors="replace")
        out[wheel.parent.name] = re.findall(r"^Tag:\s*(\S+)\s*$", text, re.M)
    return out


def min_glibc(tags_by_dist: dict[str, list[str]]) -> str | None:
    """The oldest glibc every vendored wheel runs on (None: nothing needs glibc)."""
    need = None
    for tags in tags_by_dist.values():
        versions = [v for v in (_manylinux_glibc(t.split("-")[-1]) for t in tags) if v]
        if versions:
            dist_min = min(versions)
            need = dist_min if need is None else max(need, dist_min)
    return None if need is None else "{}.{}".format(*need)


def _manylinux_glibc(plat: str) -> tuple[int, int] | None:
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    found = []
    for p in plat.split("."):
        m = re.match(r"manylinux_(\d+)_(\d+)_", p)
        if m:
            found.append((int(m.group(1)), int(m.group(2))))
        for name, v in legacy.items():
            if p.startswith(name + "_"):
                found.append(v)
    return min(found) if found else None


def bundle_description(
    target: ReleaseTarget, version: str, siblings: Iterable[ReleaseTarget], vendor_dir: Path
) -> dict:
    """bundle.json: what core.bundle_check compares with the host at load time."""
    tags = wheel_tags(vendor_dir)
    return {
        "format": FORMAT,
        "host": target.host,
        "version": version,
        "zip": target.zip_name(version),
        "platform": target.platform,
        "python": target.python,
        "for_hosts": list(target.builds),
        "min_glibc": min_glibc(tags) if target.platform.startswith("linux") else None,
        "extension_suffixes": extension_suffixes(vendor_dir),
        "vendored": sorted(tags),
        "bundles": [
            {
                "zip": s.zip_name(version),
                "platform": s.platform,
                "python": s.python,
                "for_hosts": list(s.builds),
            }
            for s in siblings
            if s.host == target.host
        ],
        "no_zip": [
            {
                "platform": n.platform,
                "python": n.python,
                "for_hosts": list(n.builds),
                "why": n.no_zip,
                "instead": n.instead,
                "extension_suffixes": n.extension_suffixes,
            }
            for n in no_zip_targets()
            if n.host == target.host
        ],
    }


def _vendor_key(target: ReleaseTarget, source: Path, wheels: Path | None) -> str:
    """Everything a vendor/ tree is made from: same key, same tree (pip is deterministic here)."""
    parts = {
        "format": VENDOR_TREE_FORMAT,
        "python": target.python,
        "platforms": target.wheel_platforms,
        "requirements": (source / "requirements.txt").read_text(encoding="utf-8"),
        "vendor.py": Path(vendor.__code__.co_filename).read_text(encoding="utf-8"),
        "pip": _pip_version(),
        "wheels": sorted((p.name, p.stat().st_size) for p in wheels.glob("*.whl")) if wheels else 0,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def _pip_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def vendor_tree(
    target: ReleaseTarget, source: Path, wheels: Path | None, cache: Path | None
) -> Path:
    """The target's vendor/ tree (pip --target for its Python and platform, test suites pruned),
    kept in ``cache`` under a key of everything it is made from; None cache: always fresh."""
    requirements = source / "requirements.txt"
    if cache is None:
        fresh = Path(tempfile.mkdtemp(prefix="gpt-image-vendor-")) / "vendor"
        vendor(fresh, requirements, target.python, target.wheel_platforms, wheels)
        _prune(fresh)
        return fresh
    cache.mkdir(parents=True, exist_ok=True)
    done = cache / f"{target.key}-{_vendor_key(target, source, wheels)}"
    if done.is_dir():
        return done
    tmp = cache / f".{done.name}.{os.getpid()}.{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    vendor(tmp, requirements, target.python, target.wheel_platforms, wheels)
    _prune(tmp)
    try:
        os.rename(tmp, done)
    except OSError:  # built at the same time by another run: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    for old in cache.glob(f"{target.key}-*"):  # older trees of this target
        if old != done:
            shutil.rmtree(old, ignore_errors=True)
    return done


def stage(
    target: ReleaseTarget,
    version: str,
    source: Path,
    dest: Path,
    wheels: Path | None,
    siblings: Iterable[ReleaseTarget],
    vendor_cache: Path | None = None,
) -> tuple[str, ...]:
    """Assemble the zip's tree in ``dest``; returns the paths that must be executable."""
    files, executable = _source_files(target, source)
    for rel, src in files.items():
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
    folder = dest / plugin_folder(target.host)
    vendor_dir = folder / "vendor"
    tree = vendor_tree(target, source, wheels, vendor_cache)
    shutil.copytree(tree, vendor_dir)
    if vendor_cache is None:
        shutil.rmtree(tree.parent, ignore_errors=True)
    _prune(folder)
    description = bundle_description(target, version, siblings, vendor_dir)
    (folder / BUNDLE_FILE).write_text(json.dumps(description, indent=1) + "\n", encoding="utf-8")
    readme = dest / "README.txt" if target.host == "krita" else folder / "README.txt"
    readme.write_text(readme_text(target, version), encoding="utf-8")
    return executable


def write_zip(tree: Path, path: Path, executable: Iterable[str] = ()) -> None:
    """Pack ``tree`` into ``path`` reproducibly, folder entries included, modes kept."""
    run = set(executable)
    files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    dirs = sorted({"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)})
    tmp = path.with_name(f".{path.name}.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted([d + "/" for d in dirs] + files):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.create_system = 3  # unix: unzip and macOS restore the modes below
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                mode = 0o100755 if name in run else 0o100644
                info.external_attr = mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, (tree / name).read_bytes())
    os.replace(tmp, path)


def build(
    target: ReleaseTarget,
    version: str,
    source: Path,
    out_dir: Path,
    wheels: Path | None = None,
    siblings: Iterable[ReleaseTarget] = (),
    vendor_cache: Path | None = None,
) -> Path:
    """Build ``target``'s zip into ``out_dir`` (replacing an older one); returns its path."""
    if target.no_zip:
        raise ValueError(f"no zip is built for {', '.join(target.builds)}: {target.no_zip}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpt-image-release-") as tmp:
        tree = Path(tmp) / "tree"
        everything = list(siblings) or [target]
        executable = stage(target, version, source, tree, wheels, everything, vendor_cache)
        path = out_dir / target.zip_name(version)
        write_zip(tree, path, executable)
    return path
