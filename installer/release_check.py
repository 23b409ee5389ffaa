"""Check a built release zip from the outside: layout, wheel tags, stray files, size.

Why a separate check: the zip is what an artist gets; it is read back as Krita's importer and
unzip see it, not trusted from the build steps. Every vendored wheel's tags must fit the zip's
platform and Python, compiled modules must carry that Python's suffix, and nothing from the test
tree or the build machine (``__pycache__``) may ride along.
"""

from __future__ import annotations

import configparser
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .release_build import TAGGED_SUFFIX, plugin_folder
from .release_targets import ABI_CPYTHON, ABI_LABELS, LINUX_GLIBC, MACOS_TARGET, ReleaseTarget

#: distributions every bundle must carry (requirements.txt's and the compiled ones under them)
REQUIRED_DISTS = ("openai", "pydantic", "pydantic_core", "pillow", "numpy")
#: Windows paths stop at 260 characters unless long paths are enabled; a profile folder
#: (%APPDATA%/krita/pykrita/ under C:/Users/<name>, or Krita's importer's temp folder)
#: takes up to ~100 of them.
WINDOWS_PATH_ROOM = 150
_TEST_TREE = re.compile(r"(^|/)(tests|conftest\.py|standin|harness|inner)(/|$)")
_MAC_ARCHS = {
    "macos-arm64": {"arm64", "universal2"},
    "macos-x86_64": {"x86_64", "intel", "universal", "universal2", "fat64", "fat3"},
}


@dataclass
class ZipReport:
    """What one zip holds and what is wrong with it (``problems`` empty: it is good)."""

    path: Path
    size: int = 0
    files: int = 0
    dists: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "zip": self.path.name,
            "bytes": self.size,
            "files": self.files,
            "vendored": self.dists,
            "problems": self.problems,
        }


def platform_fits(plat: str, target_platform: str) -> bool:
    """Does one wheel platform tag (``manylinux_2_17_x86_64``) run on the zip's platform?"""
    if plat == "any":
        return True
    if target_platform == "windows-x64":
        return plat == "win_amd64"
    if target_platform in _MAC_ARCHS:
        m = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", plat)
        newest = tuple(int(x) for x in MACOS_TARGET.split("_"))
        return bool(m) and m.group(3) in _MAC_ARCHS[target_platform] and (
            int(m.group(1)), int(m.group(2))) <= newest  # fmt: skip
    if target_platform == "linux-x86_64":
        if plat in ("manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"):
            return True
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", plat)
        return bool(m) and (int(m.group(1)), int(m.group(2))) <= LINUX_GLIBC
    return False


def tag_fits(tag: str, target: ReleaseTarget) -> bool:
    """Does a wheel tag (``cp313-cp313-win_amd64``, compressed sets allowed) fit the target?"""
    try:
        interps, abis, plats = (part.split(".") for part in tag.split("-"))
    except ValueError:
        return False
    xy = target.python.replace(".", "")
    major = target.python.split(".")[0]

    def interp_ok(i: str, abi: str) -> bool:
        if i in (f"py{major}", f"py{xy}", f"cp{xy}"):
            return True
        m = re.fullmatch(r"cp(\d)(\d+)", i)  # abi3: built for this Python or an older 3.x
        return abi == "abi3" and bool(m) and (m.group(1), int(m.group(2))) <= (
            major, int(target.python.split(".")[1]))  # fmt: skip

    def plat_ok(p: str) -> bool:
        if target.abi != ABI_CPYTHON:  # only wheels built for that ABI's own platform tag
            return p == "any" or p in target.wheel_platforms
        return platform_fits(p, target.platform)

    return any(
        interp_ok(i, a) and a in ("none", "abi3", f"cp{xy}") and plat_ok(p)
        for i in interps
        for a in abis
        for p in plats
    )


def _compiled_problem(name: str, target: ReleaseTarget) -> str | None:
    """A compiled module the target's Python would not load: its suffix is not one of the
    target's EXTENSION_SUFFIXES (another Python version, OS or ABI), or a library of another OS."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".dylib") and not target.platform.startswith("macos"):
        return f"{name} is a macOS library"
    if not base.endswith((".so", ".pyd")):
        return None
    m = TAGGED_SUFFIX.search(base)
    suffix = m.group(1) if m else "." + base.rsplit(".", 1)[-1]
    if suffix in target.extension_suffixes:
        return None
    return (
        f"{name} is a module for another Python or OS: its {suffix} is not among the "
        f"{', '.join(target.extension_suffixes)} that Python {target.python} on "
        f"{target.platform} ({ABI_LABELS[target.abi]}) loads"
    )


def _suffix_problems(data: dict, target: ReleaseTarget, name: str) -> list[str]:
    """bundle.json's extension_suffixes (what the load-time check compares) must all be
    suffixes the target's Python loads."""
    listed = data.get("extension_suffixes")
    if not isinstance(listed, list):
        return [f"{name}: extension_suffixes missing"]
    return [
        f"{name}: extension suffix {s} is not loaded by Python {target.python} on "
        f"{target.platform} ({ABI_LABELS[target.abi]})"
        for s in listed
        if s not in target.extension_suffixes
    ]


def _check_layout(names: set[str], zf: zipfile.ZipFile, target: ReleaseTarget) -> list[str]:
    folder = plugin_folder(target.host)
    need = [
        f"{folder}/",
        f"{folder}/core/__init__.py",
        f"{folder}/vendor/",
        f"{folder}/bundle.json",
    ]
    if target.host == "krita":
        need += [
            "gpt_image.desktop",
            "gpt_image.action",
            "README.txt",
            "gpt_image/__init__.py",
            "gpt_image/extension.py",
        ]
        allowed_top = {"gpt_image.desktop", "gpt_image.action", "README.txt", "gpt_image"}
    else:
        need += [
            "gpt-image/gpt-image.py",
            "gpt-image/gpt_image_gimp/plugin.py",
            "gpt-image/README.txt",
        ]
        allowed_top = {"gpt-image"}
    problems = [f"missing {n}" for n in need if n not in names]
    tops = {n.split("/")[0] for n in names}
    problems += [f"unexpected top-level entry {t}" for t in sorted(tops - allowed_top)]
    if target.host == "krita" and "gpt_image.desktop" in names:
        desktop = configparser.ConfigParser()
        desktop.read_string(zf.read("gpt_image.desktop").decode("utf-8"))
        entry = desktop["Desktop Entry"] if desktop.has_section("Desktop Entry") else {}
        if entry.get("X-KDE-Library") != "gpt_image" or "Krita/PythonPlugin" not in entry.get(
            "ServiceTypes", ""
        ):
            problems.append("gpt_image.desktop does not name the gpt_image Python plug-in")
    if target.host == "gimp" and "gpt-image/gpt-image.py" in names:
        mode = zf.getinfo("gpt-image/gpt-image.py").external_attr >> 16
        if mode & 0o111 != 0o111:
            problems.append(f"gpt-image/gpt-image.py is not executable (mode {oct(mode)})")
    return problems


def _check_bundle_json(zf: zipfile.ZipFile, target: ReleaseTarget, zip_name: str) -> list[str]:
    name = f"{plugin_folder(target.host)}/bundle.json"
    try:
        data = json.loads(zf.read(name))
    except (KeyError, ValueError) as exc:
        return [f"{name} unreadable ({exc})"]
    want = {"host": target.host, "platform": target.platform, "python": target.python}
    want["zip"] = zip_name
    return [
        f"{name}: {key} is {data.get(key)!r}, not {value!r}"
        for key, value in want.items()
        if data.get(key) != value
    ] + _suffix_problems(data, target, name)


def check_zip(path: Path, target: ReleaseTarget) -> ZipReport:
    """Read ``path`` back and list everything that does not fit ``target``."""
    report = ZipReport(path, size=path.stat().st_size)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a zip file ({exc})")
        return report
    with zf:
        names = set(zf.namelist())
        report.files = sum(1 for n in names if not n.endswith("/"))
        report.problems += _check_layout(names, zf, target)
        report.problems += _check_bundle_json(zf, target, path.name)
        for n in sorted(names):
            if target.platform.startswith("windows") and len(n) > WINDOWS_PATH_ROOM:
                report.problems.append(f"{n}: too long for Windows once unpacked into a profile")
            if "__pycache__" in n.split("/") or n.endswith((".pyc", ".pyo")):
                report.problems.append(f"{n}: compiled Python left in the zip")
            elif _TEST_TREE.search(n):
                report.problems.append(f"{n}: a file from a test tree")
            elif (p := _compiled_problem(n, target)) is not None:
                report.problems.append(p)
        vendor = f"{plugin_folder(target.host)}/vendor/"
        for n in sorted(names):
            if n.startswith(vendor) and n.endswith(".dist-info/WHEEL"):
                dist = n[len(vendor) :].split("/")[0]
                report.dists.append(dist.removesuffix(".dist-info"))
                tags = re.findall(r"^Tag:\s*(\S+)\s*$", zf.read(n).decode(errors="replace"), re.M)
                if not any(tag_fits(t, target) for t in tags):
                    report.problems.append(
                        f"{dist}: tags {', '.join(tags) or '(none)'} do not fit Python "
                        f"{target.python} on {target.platform}"
                    )
        have = {d.split("-")[0].lower() for d in report.dists}
        report.problems += [f"{d} is not vendored" for d in REQUIRED_DISTS if d not in have]
    return report
