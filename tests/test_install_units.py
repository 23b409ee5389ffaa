"""install.py's pure parts: kritarc line editing, host discovery rules, pip error mapping.

Discovery takes a ``Context`` (OS, environment, home, which, lib folders), so the Windows,
macOS, Flatpak and Snap rules run here on Linux against fake folder trees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installer import hosts, kritarc, vendor
from tests.install_helpers import ctx_for

KEY = "enable_gpt_image"


# ----------------------------------------------------------------------------- kritarc


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "[python]\nenable_gpt_image=true\n"),
        ("[General]\nA=1\n", "[General]\nA=1\n\n[python]\nenable_gpt_image=true\n"),
        ("[General]\nA=1", "[General]\nA=1\n\n[python]\nenable_gpt_image=true\n"),
        (
            "[python]\nenable_x=true\n\n[Other]\nB=2\n",
            "[python]\nenable_x=true\nenable_gpt_image=true\n\n[Other]\nB=2\n",
        ),
        (
            "[A]\nx=1\n[python]\nenable_gpt_image=false\n# note\n[B]\n",
            "[A]\nx=1\n[python]\nenable_gpt_image=true\n# note\n[B]\n",
        ),
        ("[python]\r\nenable_x=true\r\n", "[python]\r\nenable_x=true\r\nenable_gpt_image=true\r\n"),
        ("[python]\nenable_x=true", "[python]\nenable_x=true\nenable_gpt_image=true\n"),
        ("  [python]  \nenable_gpt_image = false\n", "  [python]  \nenable_gpt_image=true\n"),
        (
            "[other]\nenable_gpt_image=false\n",
            "[other]\nenable_gpt_image=false\n\n[python]\nenable_gpt_image=true\n",
        ),
    ],
)
def test_kritarc_enable_changes_only_that_line(before, after):
    assert kritarc.set_value(before, "python", KEY, "true") == after


def test_kritarc_revert_restores_previous_value_or_removes_key():
    original = "[python]\nenable_x=true\nenable_gpt_image=false\n\n[B]\nb=1\n"
    enabled = kritarc.set_value(original, "python", KEY, "true")
    assert kritarc.get_value(enabled, "python", KEY) == "true"
    assert kritarc.set_value(enabled, "python", KEY, "false") == original

    original = "[General]\nA=1\n"
    enabled = kritarc.set_value(original, "python", KEY, "true")
    reverted = kritarc.set_value(enabled, "python", KEY, None, drop_empty_section=True)
    assert reverted == original

    original = "[python]\n\n[B]\nb=1\n"  # an empty section that was already there stays
    enabled = kritarc.set_value(original, "python", KEY, "true")
    assert kritarc.set_value(enabled, "python", KEY, None) == original


def test_kritarc_revert_keeps_what_krita_added_meanwhile():
    enabled = kritarc.set_value("[General]\nA=1\n", "python", KEY, "true")
    krita_rewrote = enabled + "\n[MainWindow]\nState=xyz\n"  # Krita saves on quit
    reverted = kritarc.set_value(krita_rewrote, "python", KEY, None, drop_empty_section=True)
    assert reverted == "[General]\nA=1\n\n[MainWindow]\nState=xyz\n"


def test_kritarc_round_trips_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "kritarc"
    raw = b"[General]\nName=caf\xe9\n"
    path.write_bytes(raw)
    text = kritarc.read(path)
    kritarc.write(path, kritarc.set_value(text, "python", KEY, "true"))
    assert path.read_bytes() == raw + b"\n[python]\nenable_gpt_image=true\n"
    assert kritarc.read(tmp_path / "missing") is None


# ----------------------------------------------------------------------------- discovery


def mk(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_linux_distro_krita_python_from_libpython_in_kritapykrita(tmp_path):
    lib = tmp_path / "usr/lib"
    mk(lib / "x86_64-linux-gnu/kritaplugins/kritapykrita.so", b"\0ELF..libpython3.12.so.1.0\0")
    ctx = ctx_for(tmp_path, "Linux", which={"krita"}, lib_dirs=[lib])
    [t] = hosts.discover(ctx, "krita")
    assert (t.kind, t.python_version) == ("Linux package", "3.12")
    assert t.profile == ctx.home / ".local/share/krita"
    assert t.kritarc == ctx.home / ".config/kritarc"


def test_linux_krita_without_distro_package_assumes_appimage_python(tmp_path):
    ctx = ctx_for(tmp_path, "Linux", env={"XDG_DATA_HOME": str(tmp_path / "data")})
    (tmp_path / "data/krita").mkdir(parents=True)
    [t] = hosts.discover(ctx, "krita")
    assert t.python_version == "3.10" and "assumed" in t.python_source
    assert t.profile == tmp_path / "data/krita"


def fake_appimage(path: Path, python: str) -> Path:
    """An executable that answers ``--appimage-extract PATTERN`` like an AppImage runtime."""
    script = f"""#!/bin/sh
[ "$1" = --appimage-extract ] && [ "$2" = 'usr/lib/libpython3*' ] || exit 2
mkdir -p squashfs-root/usr/lib && : > squashfs-root/usr/lib/libpython{python}.so.1.0
"""
    mk(path, script.encode()).chmod(0o755)
    return path


def test_linux_krita_appimage_python_is_read_from_the_appimage(tmp_path):
    ctx = ctx_for(tmp_path, "Linux")
    image = fake_appimage(ctx.home / "Applications/krita-5.1.5-x86_64.appimage", "3.8")
    [t] = hosts.discover(ctx, "krita")  # no profile yet: the AppImage alone makes Krita present
    assert t.python_version == "3.8"
    assert t.python_source == f"libpython3.8 inside {image}"
    assert t.profile == ctx.home / ".local/share/krita"


def test_linux_krita_appimage_on_path_wins_over_other_copies(tmp_path):
    older = fake_appimage(tmp_path / "apps/Krita-6.0.1-x86_64.AppImage", "3.13")
    fake_appimage(tmp_path / "opt/krita/krita-5.2.9-x86_64.appimage", "3.10")
    ctx = ctx_for(tmp_path, "Linux")
    ctx.which = lambda name: str(older) if name == "krita" else None
    [t] = hosts.discover(ctx, "krita")
    assert t.python_version == "3.13" and str(older) in t.python_source
    ctx.which = lambda name: None
    [t] = hosts.discover(ctx, "krita")  # /opt, one level down
    assert t.python_version == "3.10"


def test_appimage_recognised_by_its_magic_bytes_too(tmp_path):
    elf = mk(tmp_path / "krita", b"\x7fELF\x02\x01\x01\x00AI\x02" + bytes(40))
    other = mk(tmp_path / "not-krita", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00" + bytes(40))
    assert hosts._is_appimage(elf) and not hosts._is_appimage(other)


def test_linux_flatpak_krita_python_from_app_files(tmp_path):
    ctx = ctx_for(tmp_path, "Linux")
    (ctx.home / ".var/app/org.kde.krita").mkdir(parents=True)
    (tmp_path / "fs/app/org.kde.krita/current/active/files/lib/python3.10").mkdir(parents=True)
    [t] = hosts.discover(ctx, "krita")
    assert t.kind == "Flatpak" and t.python_version == "3.10"
    assert t.profile == ctx.home / ".var/app/org.kde.krita/data/krita"
    assert t.kritarc == ctx.home / ".var/app/org.kde.krita/config/kritarc"


def test_linux_gimp_profiles_30_32_flatpak_runtime_and_snap(tmp_path):
    lib = tmp_path / "usr/lib"
    mk(lib / "gimp/3.0/interpreters/pygimp.interp", b"python=/opt/py/bin/python3\n")
    ctx = ctx_for(tmp_path, "Linux", lib_dirs=[lib], versions={"/opt/py/bin/python3": "3.13"})
    for d in ["GIMP/3.0", "GIMP/3.2", "GIMP/2.10"]:
        (ctx.home / ".config" / d).mkdir(parents=True)
    (ctx.home / ".var/app/org.gimp.GIMP/config/GIMP/3.2").mkdir(parents=True)
    app = tmp_path / "fu/app/org.gimp.GIMP/current/active"
    mk(
        app / "metadata",
        b"[Application]\nname=org.gimp.GIMP\nruntime=org.gnome.Platform/x86_64/49\n",
    )
    (tmp_path / "fs/runtime/org.gnome.Platform/x86_64/49/active/files/lib/python3.13").mkdir(
        parents=True
    )
    (ctx.home / "snap/gimp/current/.config/GIMP/3.0").mkdir(parents=True)
    found = [(t.kind, t.profile.name, t.python_version) for t in hosts.discover(ctx, "gimp")]
    assert found == [
        ("Linux package", "3.0", "3.13"),
        ("Linux package", "3.2", "3.13"),
        ("Flatpak", "3.2", "3.13"),
        ("Snap", "3.0", "3.12"),
    ]


def test_gimp_installed_but_never_started_gets_its_version_folder(tmp_path):
    ctx = ctx_for(tmp_path, "Linux", which={"gimp-3.2"}, versions={"/usr/bin/python3": "3.13"})
    [t] = hosts.discover(ctx, "gimp")
    assert t.profile == ctx.home / ".config/GIMP/3.2" and t.python_version == "3.13"


def test_gimp3_directory_wins(tmp_path):
    ctx = ctx_for(tmp_path, "Linux", env={"GIMP3_DIRECTORY": str(tmp_path / "p")})
    (ctx.home / ".config/GIMP/3.0").mkdir(parents=True)
    [t] = hosts.discover(ctx, "gimp")
    assert t.profile == tmp_path / "p" and t.kind == "GIMP3_DIRECTORY"


def test_windows_profiles_and_bundled_pythons(tmp_path):
    pf = tmp_path / "Program Files"
    mk(pf / "Krita (x64)/bin/python310.dll")
    (pf / "GIMP 3/lib/python3.12").mkdir(parents=True)
    env = {
        "APPDATA": str(tmp_path / "Roaming"),
        "LOCALAPPDATA": str(tmp_path / "Local"),
        "ProgramFiles": str(pf),
    }
    ctx = ctx_for(tmp_path, "Windows", env=env)
    (tmp_path / "Roaming/GIMP/3.0").mkdir(parents=True)
    (tmp_path / "Roaming/GIMP/3.2").mkdir(parents=True)
    targets = hosts.discover(ctx, "all")
    k = targets[0]
    assert (k.host, k.profile, k.kritarc, k.python_version) == (
        "krita",
        tmp_path / "Roaming/krita",
        tmp_path / "Local/kritarc",
        "3.10",
    )
    assert [(t.profile.name, t.python_version) for t in targets[1:]] == [
        ("3.0", "3.12"),
        ("3.2", "3.12"),
    ]


def test_macos_profiles_and_assumed_pythons(tmp_path):
    ctx = ctx_for(tmp_path, "Darwin")
    (ctx.home / "Library/Application Support/krita").mkdir(parents=True)
    (ctx.home / "Library/Application Support/GIMP/3.0").mkdir(parents=True)
    k, g = hosts.discover(ctx, "all")
    assert k.kritarc == ctx.home / "Library/Preferences/kritarc"
    if not Path("/Applications").exists():
        assert (k.python_version, g.python_version) == ("3.10", "3.12")


def test_nothing_found_and_where_it_looked(tmp_path):
    ctx = ctx_for(tmp_path, "Linux")
    assert hosts.discover(ctx, "all") == []
    looked = hosts.describe_search(ctx, "all")
    assert str(ctx.home / ".local/share/krita") in looked["Krita"]
    assert str(ctx.home / ".config/GIMP/3.*") in looked["GIMP 3"]


def test_explicit_krita_dir_inherits_flatpak_kritarc(tmp_path):
    ctx = ctx_for(tmp_path, "Linux")
    prof = ctx.home / ".var/app/org.kde.krita/data/krita"
    t = hosts.explicit_krita(ctx, prof, None)
    assert t.kritarc == ctx.home / ".var/app/org.kde.krita/config/kritarc"
    t = hosts.explicit_krita(ctx, tmp_path / "elsewhere", tmp_path / "rc")
    assert t.kritarc == tmp_path / "rc" and t.kind == "--krita-dir"


# ----------------------------------------------------------------------------- pip


def test_platform_tags_per_os():
    assert vendor.default_platforms("Windows", "AMD64") == ["win_amd64"]
    assert vendor.default_platforms("Darwin", "arm64") == ["macosx_11_0_arm64"]
    assert vendor.default_platforms("Darwin", "x86_64") == ["macosx_11_0_x86_64"]
    tags = vendor.default_platforms("Linux", "aarch64")
    assert tags[-1] == "manylinux2014_aarch64" and all(t.endswith("_aarch64") for t in tags)


def test_no_matching_distribution_is_explained():
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement pydantic-core==2.50.4 "
        "(from versions: none)\nERROR: No matching distribution found for pydantic-core==2.50.4\n"
    )
    msg = vendor._explain_failure(stderr, "3.14", ["manylinux2014_x86_64"], Path("/w"))
    assert msg.startswith("no wheel of pydantic-core for Python 3.14 on manylinux2014_x86_64")
    assert "in /w" in msg
    other = vendor._explain_failure("ERROR: disk full\n", "3.11", ["x"], None)
    assert other.startswith("pip failed") and "disk full" in other
