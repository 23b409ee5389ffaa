"""Which release zips exist: one per host, platform and embedded Python (the owner of that table).

Why per Python: the plug-ins need compiled wheels (Pillow, pydantic-core, numpy) that load only
in the CPython version and platform they were built for, and each official host build embeds its
own Python. Sources for the table (checked 2026-12):

- Krita 5.2 (Windows installer, macOS dmg, AppImage): Python 3.10 (plug-in authors' 5.2 notes,
  e.g. github.com/Grum999/BuliNotes/issues/9 "PyQt 5.15/Python 3.10").
- Krita 5.3 and 6.0 (one release built with Qt5 and Qt6; same three packages): Python 3.13
  ("Krita recently switched from Python 3.10 to Python 3.13", github.com/Firstbober/krita-rpc/pull/14).
- GIMP 3.0 on Windows: 3.12, the MSYS2 Python the installer bundles (GNOME/gimp
  build/windows/2_bundle-gimp-uni_base.py bundles MSYSTEM_PREFIX/bin/python.exe and lib/python*;
  3.12 seen by users, github.com/zquestz/dream-prompter/issues/2). GIMP 3.2 on Windows: 3.14.
- GIMP 3.0 and 3.2 on macOS: MacPorts Python 3.10, arm64 and x86_64 built separately, macOS 11.0
  deployment target (GNOME/gimp-macos-build, branches gimp-3-0 and gimp-3-2,
  scripts/macports0_install.sh: PYTHON_VERSION=3.10, DEPLOYMENT_TARGET_*='11.0').
- GIMP Flatpak (org.gimp.GIMP) uses its GNOME runtime's Python: GIMP 3.0 on GNOME 47/48
  (freedesktop-sdk 24.08, Python 3.12); GIMP 3.2 on GNOME 49/50 (freedesktop-sdk 25.08, Python
  3.13: github.com/flathub/org.gimp.GIMP/pull/637, github.com/efroemling/ballistica/pull/861).

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

#: (host, host versions, platform, Python, package) for every official build that gets a zip.
HOST_BUILDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("krita", "5.2", "windows-x64", "3.10", "Windows installer"),
    ("krita", "5.2", "macos-arm64", "3.10", "macOS dmg, Apple silicon"),
    ("krita", "5.2", "macos-x86_64", "3.10", "macOS dmg, Intel"),
    ("krita", "5.2", "linux-x86_64", "3.10", "AppImage"),
    ("krita", "5.3 / 6", "windows-x64", "3.13", "Windows installer"),
    ("krita", "5.3 / 6", "macos-arm64", "3.13", "macOS dmg, Apple silicon"),
    ("krita", "5.3 / 6", "macos-x86_64", "3.13", "macOS dmg, Intel"),
    ("krita", "5.3 / 6", "linux-x86_64", "3.13", "AppImage"),
    ("gimp", "3.0", "windows-x64", "3.12", "Windows installer"),
    ("gimp", "3.2", "windows-x64", "3.14", "Windows installer"),
    ("gimp", "3.0 / 3.2", "macos-arm64", "3.10", "macOS dmg, Apple silicon"),
    ("gimp", "3.0 / 3.2", "macos-x86_64", "3.10", "macOS dmg, Intel"),
    ("gimp", "3.0", "linux-x86_64", "3.12", "Flatpak, GNOME 47/48 runtime"),
    ("gimp", "3.2", "linux-x86_64", "3.13", "Flatpak, GNOME 49/50 runtime"),
)


@dataclass(frozen=True)
class ReleaseTarget:
    """One zip: a plug-in for one platform and one embedded Python."""

    host: str  # "krita" | "gimp"
    platform: str  # "windows-x64", "macos-arm64", "macos-x86_64", "linux-x86_64"
    python: str  # "3.13"
    builds: tuple[str, ...]  # the official host builds it is for, for people

    @property
    def key(self) -> str:
        """``krita-linux-x86_64-py313``: what --only matches besides the zip name."""
        return f"{self.host}-{self.platform}-py{self.python.replace('.', '')}"

    def zip_name(self, version: str) -> str:
        return (
            f"gpt-image-{self.host}-{version}-{self.platform}-py{self.python.replace('.', '')}.zip"
        )

    @property
    def wheel_platforms(self) -> list[str]:
        """pip --platform tags (pip widens them to older manylinux/macOS and universal2)."""
        return wheel_platforms(self.platform)


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


def release_targets() -> list[ReleaseTarget]:
    """Every zip of a release, in table order; host builds sharing a Python share a zip."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for host, versions, platform, python, package in HOST_BUILDS:
        name = "Krita" if host == "krita" else "GIMP"
        grouped.setdefault((host, platform, python), []).append(f"{name} {versions} {package}")
    return [ReleaseTarget(h, p, py, tuple(b)) for (h, p, py), b in grouped.items()]
