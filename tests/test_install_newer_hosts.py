"""install.py discovery for the newer hosts: GIMP 3.2 on every platform, Krita 5.3 / 6 and their
Python 3.14, on fake machine layouts (installer/hosts.py reads a Context, never this machine).

The real installs into GIMP 3.2.6 and Krita 5.3 / 6.0 (Python 3.14, manylinux_2_28 wheels) run in
tests/hosts/.
"""

from __future__ import annotations

import dataclasses
import plistlib
import subprocess
import sys
from pathlib import Path

from installer import hosts, vendor
from tests.install_helpers import ctx_for

ROOT = Path(__file__).resolve().parent.parent


def mk(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def windows(tmp_path: Path) -> hosts.Context:
    env = {
        "APPDATA": str(tmp_path / "Roaming"),
        "LOCALAPPDATA": str(tmp_path / "Local"),
        "ProgramFiles": str(tmp_path / "Program Files"),
    }
    return ctx_for(tmp_path, "Windows", env=env)


def test_windows_gimp32_never_started_gets_its_32_folder_and_bundled_python(tmp_path):
    gimp = tmp_path / "Program Files/GIMP 3"
    mk(gimp / "bin/gimp-3.2.exe")
    mk(gimp / "bin/gimp-console-3.2.exe")
    (gimp / "lib/python3.14").mkdir(parents=True)
    [t] = hosts.discover(windows(tmp_path), "gimp")
    assert t.profile == tmp_path / "Roaming/GIMP/3.2"
    assert (t.python_version, t.label) == ("3.14", "GIMP 3.2 (Windows)")
    assert "found" in t.python_source


def test_windows_gimp32_python_assumed_314_when_the_bundle_says_nothing(tmp_path):
    mk(tmp_path / "Program Files/GIMP 3/bin/gimp-3.2.exe")
    (tmp_path / "Roaming/GIMP/3.0").mkdir(parents=True)
    (tmp_path / "Roaming/GIMP/3.2").mkdir(parents=True)
    found = [(t.profile.name, t.python_version) for t in hosts.discover(windows(tmp_path), "gimp")]
    assert found == [("3.0", "3.12"), ("3.2", "3.14")]


def test_windows_gimp30_install_still_gets_30(tmp_path):
    mk(tmp_path / "Program Files/GIMP 3/bin/gimp-3.0.exe")
    [t] = hosts.discover(windows(tmp_path), "gimp")
    assert t.profile.name == "3.0" and t.python_version == "3.12"


def test_macos_gimp32_from_info_plist(tmp_path):
    ctx = ctx_for(tmp_path, "Darwin")
    app = tmp_path / "Applications/GIMP.app/Contents"
    mk(app / "Info.plist", plistlib.dumps({"CFBundleShortVersionString": "3.2.6"}))
    [t] = hosts.discover(ctx, "gimp")
    assert t.profile == ctx.home / "Library/Application Support/GIMP/3.2"
    assert "assumed" in t.python_source
    (app / "Resources/lib/python3.10").mkdir(parents=True)
    [t] = hosts.discover(ctx, "gimp")
    assert t.python_version == "3.10" and "found" in t.python_source  # the bundle's own Python


def test_linux_gimp32_package_and_flatpak(tmp_path):
    lib = tmp_path / "usr/lib"
    mk(lib / "gimp/3.0/interpreters/pygimp.interp", b"python=/usr/bin/python3\n")
    ctx = ctx_for(
        tmp_path, "Linux", which={"gimp-3.2"}, lib_dirs=[lib], versions={"/usr/bin/python3": "3.14"}
    )
    [t] = hosts.discover(ctx, "gimp")
    assert (t.profile, t.python_version) == (ctx.home / ".config/GIMP/3.2", "3.14")
    (ctx.home / ".var/app/org.gimp.GIMP/config/GIMP/3.2").mkdir(parents=True)
    kinds = [(t.kind, t.profile.name) for t in hosts.discover(ctx, "gimp")]
    assert ("Flatpak", "3.2") in kinds


def test_explicit_gimp32_dir_on_windows_assumes_its_bundle(tmp_path):
    t = hosts.explicit_gimp(windows(tmp_path), tmp_path / "Roaming/GIMP/3.2")
    assert t.python_version == "3.14"


def test_krita6_linux_package_python_314_and_manylinux_2_28_wheels(tmp_path):
    lib = tmp_path / "usr/lib"
    so = lib / "x86_64-linux-gnu/kritaplugins/kritapykrita.so"
    mk(so, b"\0ELF..libpython3.14.so.1.0\0")
    ctx = ctx_for(tmp_path, "Linux", which={"krita"}, lib_dirs=[lib])
    [t] = hosts.discover(ctx, "krita")
    assert (t.kind, t.python_version) == ("Linux package", "3.14")
    assert t.profile == ctx.home / ".local/share/krita"
    # numpy's cp314 wheels are manylinux_2_28 only: every glibc >= 2.28 machine asks for them
    assert "manylinux_2_28_x86_64" in vendor.default_platforms("Linux", "x86_64")


def test_krita_53_and_6_windows_bundled_python_found(tmp_path):
    ctx = windows(tmp_path)
    mk(tmp_path / "Program Files/Krita (x64)/bin/python314.dll")
    [t] = hosts.discover(ctx, "krita")
    assert (t.profile, t.kritarc, t.python_version) == (
        tmp_path / "Roaming/krita",
        tmp_path / "Local/kritarc",
        "3.14",
    )


def test_krita6_macos_bundle_python(tmp_path):
    ctx = ctx_for(tmp_path, "Darwin")
    fw = tmp_path / "Applications/krita.app/Contents/Frameworks/Python.framework/Versions"
    (fw / "3.14").mkdir(parents=True)
    [t] = hosts.discover(ctx, "krita")
    assert t.python_version == "3.14" and t.profile.name == "krita"


def test_dry_run_for_gimp32_on_windows_tags(tmp_path):
    """--platform for a Windows GIMP 3.2 (Python 3.14) reaches pip as given."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "install.py"), "--host", "gimp", "--gimp-dir",
         str(tmp_path / "GIMP/3.2"), "--python-version", "3.14", "--platform", "win_amd64",
         "--dry-run"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "GIMP 3.2" in proc.stdout
    assert "--python-version 3.14" in proc.stdout and "--platform win_amd64" in proc.stdout
    assert not (tmp_path / "GIMP").exists()


def test_series_parsing_is_tolerant(tmp_path):
    assert hosts._windows_gimp_series(tmp_path / "missing") == "3.0"
    assert hosts._mac_gimp_series(tmp_path / "missing.app") == "3.0"
    mk(tmp_path / "bad.app/Contents/Info.plist", b"not a plist")
    assert hosts._mac_gimp_series(tmp_path / "bad.app") == "3.0"
    assert dataclasses.is_dataclass(hosts.Context)
