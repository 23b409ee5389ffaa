"""Which release zips exist: one per host, platform and embedded Python (the owner of that table).

Why per Python: the plug-ins need compiled wheels (Pillow, pydantic-core, numpy, jiter) that load
only in the CPython version, platform and ABI they were built for, and each official host build
embeds its own Python. Sources for the table (checked 2026-12):

- Krita 5.2 (Windows installer, macOS dmg, AppImage): Python 3.10 (plug-in authors' 5.2 notes,
  e.g. github.com/Grum999/BuliNotes/issues/9 "PyQt 5.15/Python 3.10").
- Krita 5.3 and 6.0 (one release built with Qt5 and Qt6; same three packages): Python 3.13
  ("Krita recently switched from Python 3.10 to Python 3.13", github.com/Firstbober/krita-rpc/pull/14,
  2026-02). The Windows package deploys python.org's embeddable CPython (python3X.dll,
  vcruntime140.dll), the macOS and Linux ones build CPython from python.org's sources
  (KDE/krita 3rdparty/ext_python/CMakeLists.txt; newer Kritas keep that recipe in their deps
  repository): PyPI's win_amd64 / macosx / manylinux wheels load in all three.
- GIMP 3.0 and 3.2 on Windows: the installer bundles the Python of the MSYS2 environment GIMP is
  built in, CLANG64 on x64 (GNOME/gimp build/windows/1_build-deps-msys2.ps1: MSYSTEM_PREFIX
  'clang64', 'clangarm64' on ARM; 2_bundle-gimp-uni_base.py copies its bin/python.exe and
  lib/python3.*). GIMP 3.0.x: MSYS2's Python 3.12 (users' GIMP 3 paths ".../GIMP 3/lib/python3.12/
  site-packages", github.com/zquestz/dream-prompter/issues/2; GIMP 3.0.6 reports "3.12.11
  (MINGW)"). GIMP 3.2 (released 2026-03): 3.14 — inferred, not seen in a GIMP build: MSYS2 moved
  to 3.13 and then 3.14 in January 2026 (github.com/passagemath/passagemath/pull/1965,
  github.com/msys2/MINGW-packages/pull/27537 "Add Python 3.14", /pull/27737 3.14.3, 2026-02) and
  GIMP's Windows CI installs MSYS2's current packages (pacman -Suy) for each release.
  That Python is a MinGW build (sysconfig platform mingw_x86_64_ucrt_llvm, extension suffix
  .cp3XY-mingw_x86_64_ucrt_llvm.pyd, linked against libpython3.XY.dll; for MSYS2's MINGW64 the
  same scheme gives .cp312-mingw_x86_64_msvcrt_gnu.pyd and libpython3.12.dll:
  github.com/git-for-windows/git-sdk-64 mingw64/lib/python3.12/_sysconfigdata__win32_.py).
  It loads neither PyPI's .cp3XY-win_amd64.pyd names nor their python3XY.dll/MSVC runtime, and
  PyPI accepts no wheels with a mingw platform tag: no zip can be built for it from PyPI (see
  NO_ZIP_WHY); README's Install section says what Windows GIMP users can do instead.
- GIMP 3.0 and 3.2 on macOS: MacPorts Python 3.10, arm64 and x86_64 built separately, macOS 11.0
  deployment target (GNOME/gimp-macos-build, branches gimp-3-0 and gimp-3-2,
  scripts/macports0_install.sh: PYTHON_VERSION=3.10, DEPLOYMENT_TARGET_*='11.0').
- GIMP Flatpak (org.gimp.GIMP) uses its GNOME runtime's Python: GIMP 3.0 on GNOME 47/48, which
  share freedesktop-sdk 24.08 and its Python 3.12 (github.com/Shape-Machine/tusk-gnome/pull/308);
  GIMP 3.2 on GNOME 49/50 (freedesktop-sdk 25.08, Python 3.13: github.com/flathub/org.gimp.GIMP/
  pull/637, github.com/efroemling/ballistica/pull/861, Shape-Machine/tusk-gnome/issues/298).

Linux distribution packages (any Python) and Snap are served by install.py, not by zips.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vendor import default_platforms

PLUGIN_HOSTS = ("krita", "gimp")

#: Newest manylinux a Linux bundle may use: Krita's AppImage runs on the user's own glibc and
#: is built for distributions from 2020 on; Flatpak runtimes have glibc 2.38+.
LINUX_GLIBC = (2, 28)
#: Oldest macOS the macOS bundles support (GIMP's own deployment target; Krita 5.3 needs 11 too).
MACOS_TARGET = "11_0"

#: How a host build's Python loads compiled modules. "cpython": python.org's ABI (MSVC on
#: Windows), which PyPI's wheels are built for. "msys2-clang64": MSYS2's CLANG64 MinGW Python.
ABI_CPYTHON = "cpython"
ABI_MSYS2_CLANG64 = "msys2-clang64"
ABI_LABELS = {ABI_CPYTHON: "CPython", ABI_MSYS2_CLANG64: "MSYS2 CLANG64 (MinGW) Python"}

#: Why no zip is built for a host build of this ABI (None: zips are built). Shown by --list,
#: written into every zip's bundle.json (the load-time refusal quotes it) and by install.py.
NO_ZIP_WHY: dict[str, str | None] = {
    ABI_CPYTHON: None,
    ABI_MSYS2_CLANG64: (
        "its Python is MSYS2's MinGW build, which loads only compiled modules built for MSYS2 "
        "(.cp3XY-mingw_x86_64_ucrt_llvm.pyd, linked against libpython3.XY.dll); PyPI carries "
        "no such wheels, so Pillow, numpy, pydantic-core and jiter cannot be bundled for it"
    ),
}

#: What a user of such a host build can do instead (README's Install section says the same).
NO_ZIP_INSTEAD: dict[str, str | None] = {
    ABI_CPYTHON: None,
    ABI_MSYS2_CLANG64: (
        "On Windows, use GPT Image in Krita (its Windows zip), or the command line "
        "(python -m core, with a python.org Python) on an image exported from GIMP; the GIMP "
        "zips are for macOS and the Linux Flatpak"
    ),
}

#: (host, host versions, platform, Python, package, ABI) for every official build.
HOST_BUILDS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("krita", "5.2", "windows-x64", "3.10", "Windows installer", ABI_CPYTHON),
    ("krita", "5.2", "macos-arm64", "3.10", "macOS dmg, Apple silicon", ABI_CPYTHON),
    ("krita", "5.2", "macos-x86_64", "3.10", "macOS dmg, Intel", ABI_CPYTHON),
    ("krita", "5.2", "linux-x86_64", "3.10", "AppImage", ABI_CPYTHON),
    ("krita", "5.3 / 6", "windows-x64", "3.13", "Windows installer", ABI_CPYTHON),
    ("krita", "5.3 / 6", "macos-arm64", "3.13", "macOS dmg, Apple silicon", ABI_CPYTHON),
    ("krita", "5.3 / 6", "macos-x86_64", "3.13", "macOS dmg, Intel", ABI_CPYTHON),
    ("krita", "5.3 / 6", "linux-x86_64", "3.13", "AppImage", ABI_CPYTHON),
    ("gimp", "3.0", "windows-x64", "3.12", "Windows installer", ABI_MSYS2_CLANG64),
    ("gimp", "3.2", "windows-x64", "3.14", "Windows installer", ABI_MSYS2_CLANG64),
    ("gimp", "3.0 / 3.2", "macos-arm64", "3.10", "macOS dmg, Apple silicon", ABI_CPYTHON),
    ("gimp", "3.0 / 3.2", "macos-x86_64", "3.10", "macOS dmg, Intel", ABI_CPYTHON),
    ("gimp", "3.0", "linux-x86_64", "3.12", "Flatpak, GNOME 47/48 runtime", ABI_CPYTHON),
    ("gimp", "3.2", "linux-x86_64", "3.13", "Flatpak, GNOME 49/50 runtime", ABI_CPYTHON),
)


@dataclass(frozen=True)
class ReleaseTarget:
    """One zip: a plug-in for one platform, one embedded Python and its ABI."""

    host: str  # "krita" | "gimp"
    platform: str  # "windows-x64", "macos-arm64", "macos-x86_64", "linux-x86_64"
    python: str  # "3.13"
    builds: tuple[str, ...]  # the official host builds it is for, for people
    abi: str = ABI_CPYTHON

    @property
    def key(self) -> str:
        """``krita-linux-x86_64-py313``: what --only matches besides the zip name."""
        return f"{self.host}-{self.platform}-py{self.python.replace('.', '')}"

    def zip_name(self, version: str) -> str:
        return (
            f"gpt-image-{self.host}-{version}-{self.platform}-py{self.python.replace('.', '')}.zip"
        )

    @property
    def no_zip(self) -> str | None:
        """Why this target gets no zip (None: it gets one)."""
        return NO_ZIP_WHY[self.abi]

    @property
    def instead(self) -> str | None:
        """What a user of a no-zip host build can do instead."""
        return NO_ZIP_INSTEAD[self.abi]

    @property
    def wheel_platforms(self) -> list[str]:
        """pip --platform tags (pip widens them to older manylinux/macOS and universal2)."""
        if self.abi == ABI_MSYS2_CLANG64:
            return ["mingw_x86_64_ucrt_llvm"]
        return wheel_platforms(self.platform)

    @property
    def extension_suffixes(self) -> list[str]:
        """``importlib.machinery.EXTENSION_SUFFIXES`` of the target's Python: the only names its
        import system loads compiled modules by."""
        return extension_suffixes(self.platform, self.python, self.abi)


def wheel_platforms(platform: str) -> list[str]:
    """pip --platform tags for a zip's platform id."""
    if platform == "windows-x64":
        return ["win_amd64"]
    if platform == "macos-arm64":
        return [f"macosx_{MACOS_TARGET}_arm64"]
    if platform == "macos-x86_64":
        return [f"macosx_{MACOS_TARGET}_x86_64"]
    if platform == "linux-x86_64":
        return default_platforms("Linux", "x86_64", glibc=LINUX_GLIBC)
    raise ValueError(f"no wheel platforms known for {platform!r}")


def extension_suffixes(platform: str, python: str, abi: str = ABI_CPYTHON) -> list[str]:
    """EXTENSION_SUFFIXES of a CPython ``python`` on ``platform`` (CPython's own rules:
    Python/dynload_win.c and dynload_shlib.c; MSYS2 swaps the Windows platform tag)."""
    xy = python.replace(".", "")
    if platform == "windows-x64":
        tag = "mingw_x86_64_ucrt_llvm" if abi == ABI_MSYS2_CLANG64 else "win_amd64"
        return [f".cp{xy}-{tag}.pyd", ".pyd"]
    if platform.startswith("macos"):
        return [f".cpython-{xy}-darwin.so", ".abi3.so", ".so"]
    if platform == "linux-x86_64":
        return [f".cpython-{xy}-x86_64-linux-gnu.so", ".abi3.so", ".so"]
    raise ValueError(f"no extension suffixes known for {platform!r}")


def all_targets() -> list[ReleaseTarget]:
    """Every host build's target in table order, those that get no zip included
    (host builds sharing a Python and ABI share a zip)."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for host, versions, platform, python, package, abi in HOST_BUILDS:
        name = "Krita" if host == "krita" else "GIMP"
        grouped.setdefault((host, platform, python, abi), []).append(f"{name} {versions} {package}")
    return [ReleaseTarget(h, p, py, tuple(b), abi) for (h, p, py, abi), b in grouped.items()]


def release_targets() -> list[ReleaseTarget]:
    """The targets that get a zip, in table order."""
    return [t for t in all_targets() if t.no_zip is None]


def no_zip_targets() -> list[ReleaseTarget]:
    """The host builds no zip can be made for (``no_zip`` says why)."""
    return [t for t in all_targets() if t.no_zip is not None]
