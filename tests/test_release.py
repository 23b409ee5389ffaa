"""Release zips (tools/build_release.py): the target table, the load-time check, every built zip.

The build test runs the real command for every target (wheels from PyPI, cached in
~/.cache/gpt-image-tests/release-wheels) and reads each zip back. The Linux zips are installed
into the real Krita and GIMP by the host suites (tests/hosts/*, ``bundle`` runs).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core import bundle_check
from installer.release_check import check_zip, platform_fits, tag_fits
from installer.release_targets import (
    ABI_MSYS2_CLANG64,
    ReleaseTarget,
    all_targets,
    no_zip_targets,
    release_targets,
)

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "build_release.py"
VERSION = "9.8.7"
NAME = re.compile(
    r"^gpt-image-(krita|gimp)-9\.8\.7-(windows-x64|macos-arm64|macos-x86_64|linux-x86_64)"
    r"-py3(\d+)\.zip$"
)


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, cwd=ROOT, timeout=3000
    )


def target(key: str) -> ReleaseTarget:
    return next(t for t in all_targets() if t.key == key)


# ----------------------------------------------------------------------------- the target table


def test_table_has_a_zip_per_host_build_python() -> None:
    keys = {t.key for t in release_targets()}
    for plat in ("windows-x64", "macos-arm64", "macos-x86_64", "linux-x86_64"):
        assert {f"krita-{plat}-py310", f"krita-{plat}-py313"} <= keys  # Krita 5.2, 5.3/6
    # GIMP 3.0 / 3.2 on Windows: MSYS2 Pythons that PyPI's wheels do not load, so no zip
    assert {t.key for t in no_zip_targets()} == {"gimp-windows-x64-py312", "gimp-windows-x64-py314"}
    assert not {"gimp-windows-x64-py312", "gimp-windows-x64-py314"} & keys
    assert {"gimp-macos-arm64-py310", "gimp-macos-x86_64-py310"} <= keys
    assert {"gimp-linux-x86_64-py312", "gimp-linux-x86_64-py313"} <= keys  # Flatpak runtimes
    assert len(keys) == len(release_targets()), "two table rows make the same zip"
    for t in release_targets():
        assert NAME.match(t.zip_name(VERSION)), t.zip_name(VERSION)


def test_list_prints_the_table_and_builds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    proc = run_tool("--list", "--version", VERSION, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for t in release_targets():
        assert t.zip_name(VERSION) in proc.stdout
        assert t.builds[0] in proc.stdout
    assert "win_amd64" in proc.stdout and "manylinux_2_28_x86_64" in proc.stdout
    for gimp, py in (("3.0", "3.12"), ("3.2", "3.14")):
        assert f"no zip for GIMP {gimp} Windows installer (Python {py}): its Python is MSYS2" in (
            proc.stdout
        )
    assert "gpt-image-gimp-9.8.7-windows" not in proc.stdout
    assert not out.exists()


@pytest.mark.parametrize("only", ["gimp-windows-x64-py314", "gimp-windows-*"])
def test_a_zip_that_cannot_work_is_never_built(tmp_path: Path, only: str) -> None:
    """GIMP's Windows Python (MSYS2) loads none of PyPI's wheels: asking for its zip by name is
    refused with the reason and what to do instead, and nothing is written."""
    out = tmp_path / "out"
    proc = run_tool("--out", str(out), "--version", VERSION, "--only", only)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no zip for GIMP 3.2 Windows installer (Python 3.14)" in proc.stderr
    assert "mingw_x86_64_ucrt_llvm" in proc.stderr and "use GPT Image in Krita" in proc.stderr
    assert not out.exists()


def test_build_refuses_a_no_zip_target(tmp_path: Path) -> None:
    from installer.release_build import build

    with pytest.raises(ValueError, match=r"no zip is built for GIMP 3\.0 Windows installer"):
        build(target("gimp-windows-x64-py312"), VERSION, ROOT, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args",
    [
        ["--only", "nothing-like-this"],
        ["--version", "1 2"],
        ["--version", "../x"],
        [],  # neither --out nor --list
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "out"
    extra = [] if not args else ["--out", str(out)]
    proc = run_tool(*args, *extra)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error:" in proc.stderr
    assert not out.exists()


# ----------------------------------------------------------------------------- wheel tags


@pytest.mark.parametrize(
    ("tag", "key", "fits"),
    [
        ("py3-none-any", "krita-windows-x64-py310", True),
        ("cp310-cp310-win_amd64", "krita-windows-x64-py310", True),
        ("cp311-cp311-win_amd64", "krita-windows-x64-py310", False),
        ("cp310-cp310-win32", "krita-windows-x64-py310", False),
        (
            "cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "krita-linux-x86_64-py313",
            True,
        ),
        ("cp313-cp313-manylinux_2_34_x86_64", "krita-linux-x86_64-py313", False),
        ("cp313-cp313-musllinux_1_2_x86_64", "krita-linux-x86_64-py313", False),
        ("cp313-cp313-manylinux_2_28_aarch64", "krita-linux-x86_64-py313", False),
        ("cp39-abi3-manylinux_2_17_x86_64", "gimp-linux-x86_64-py312", True),
        ("cp314-abi3-manylinux_2_17_x86_64", "gimp-linux-x86_64-py312", False),
        ("cp310-cp310-macosx_11_0_arm64", "gimp-macos-arm64-py310", True),
        ("cp310-cp310-macosx_10_9_universal2", "gimp-macos-arm64-py310", True),
        ("cp310-cp310-macosx_14_0_arm64", "gimp-macos-arm64-py310", False),
        ("cp310-cp310-macosx_10_9_x86_64", "gimp-macos-arm64-py310", False),
        ("cp310-cp310-macosx_10_9_x86_64", "gimp-macos-x86_64-py310", True),
        ("cp313t-cp313t-win_amd64", "krita-windows-x64-py313", False),
        ("cp314-cp314-win_amd64", "gimp-windows-x64-py314", False),  # MSYS2 loads no MSVC builds
        ("cp39-abi3-win_amd64", "gimp-windows-x64-py314", False),
        ("cp314-cp314-mingw_x86_64_ucrt_llvm", "gimp-windows-x64-py314", True),
        ("py3-none-any", "gimp-windows-x64-py314", True),
        ("garbage", "krita-windows-x64-py313", False),
    ],
)
def test_wheel_tag_fits_target(tag: str, key: str, fits: bool) -> None:
    assert tag_fits(tag, target(key)) is fits


def test_long_paths_are_refused_for_windows(tmp_path: Path) -> None:
    t = target("krita-windows-x64-py313")
    path = tmp_path / t.zip_name(VERSION)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("gpt_image/vendor/" + "x" * 140 + ".py", b"")
    assert any("too long for Windows" in p for p in check_zip(path, t).problems)


@pytest.mark.parametrize(
    ("key", "suffixes"),
    [
        ("krita-windows-x64-py313", [".cp313-win_amd64.pyd", ".pyd"]),
        ("gimp-windows-x64-py314", [".cp314-mingw_x86_64_ucrt_llvm.pyd", ".pyd"]),
        ("gimp-macos-arm64-py310", [".cpython-310-darwin.so", ".abi3.so", ".so"]),
        ("krita-linux-x86_64-py310", [".cpython-310-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ],
)
def test_extension_suffixes_are_the_targets_pythons(key: str, suffixes: list[str]) -> None:
    assert target(key).extension_suffixes == suffixes
    assert (target(key).abi == ABI_MSYS2_CLANG64) is ("mingw" in suffixes[0])


MODULES = [
    "_imaging.cp313-win_amd64.pyd",  # python.org CPython 3.13 on Windows
    "_cffi.pyd",  # abi3 on Windows: untagged
    "_core.cp313-mingw_x86_64_ucrt_llvm.pyd",  # MSYS2 CLANG64 3.13
    "_x.cpython-313-x86_64-linux-gnu.so",
    "_y.abi3.so",
]


@pytest.mark.parametrize(
    ("key", "loadable"),
    [
        ("krita-windows-x64-py313", {"_imaging.cp313-win_amd64.pyd", "_cffi.pyd"}),
        ("krita-linux-x86_64-py313", {"_x.cpython-313-x86_64-linux-gnu.so", "_y.abi3.so"}),
    ],
)
def test_compiled_modules_must_carry_a_suffix_the_target_loads(
    tmp_path: Path, key: str, loadable: set[str]
) -> None:
    t = target(key)
    path = tmp_path / t.zip_name(VERSION)
    with zipfile.ZipFile(path, "w") as zf:
        for m in MODULES:
            zf.writestr(f"gpt_image/vendor/pkg/{m}", b"")
    problems = "\n".join(check_zip(path, t).problems)
    for m in MODULES:
        assert (f"pkg/{m} is a module for another Python or OS" in problems) is (m not in loadable)


def test_pypi_windows_modules_do_not_fit_gimps_msys2_python(tmp_path: Path) -> None:
    """What a GIMP-on-Windows zip made from PyPI's wheels would hold, and why it is never built."""
    t = target("gimp-windows-x64-py314")
    path = tmp_path / "gimp-windows.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("gpt-image/vendor/PIL/_imaging.cp314-win_amd64.pyd", b"")
        zf.writestr(
            "gpt-image/vendor/pillow-13.0.0.dist-info/WHEEL", b"Tag: cp314-cp314-win_amd64\n"
        )
        zf.writestr(
            "gpt-image/bundle.json",
            json.dumps({"host": "gimp", "platform": t.platform, "python": t.python,
                        "zip": path.name, "extension_suffixes": [".cp314-win_amd64.pyd"]}),
        )  # fmt: skip
    problems = "\n".join(check_zip(path, t).problems)
    assert "_imaging.cp314-win_amd64.pyd is a module for another Python or OS" in problems
    assert "MSYS2 CLANG64" in problems and ".cp314-mingw_x86_64_ucrt_llvm.pyd" in problems
    assert "pillow-13.0.0.dist-info: tags cp314-cp314-win_amd64 do not fit" in problems
    assert "extension suffix .cp314-win_amd64.pyd is not loaded" in problems


def test_platform_fits_rejects_unknown_platforms() -> None:
    assert not platform_fits("win_amd64", "haiku-x86_64")
    assert platform_fits("any", "haiku-x86_64")


# ----------------------------------------------------------------------------- load-time check


def write_bundle(folder: Path, **over: object) -> Path:
    siblings = [
        {"zip": t.zip_name(VERSION), "platform": t.platform, "python": t.python}
        for t in release_targets()
        if t.host == "krita"
    ]
    data = {
        "format": 1,
        "host": "krita",
        "zip": f"gpt-image-krita-{VERSION}-windows-x64-py310.zip",
        "platform": "windows-x64",
        "python": "3.10",
        "extension_suffixes": [".cp310-win_amd64.pyd"],
        "bundles": siblings,
        **over,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / bundle_check.BUNDLE_FILE).write_text(json.dumps(data), encoding="utf-8")
    return folder


WIN310 = {"here_platform": "windows-x64", "here_python": "3.10"}


def test_no_bundle_file_means_installed_by_install_py(tmp_path: Path) -> None:
    assert bundle_check.refusal(str(tmp_path)) is None


def test_matching_host_is_accepted(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path)
    assert (
        bundle_check.refusal(str(folder), **WIN310, here_suffixes=[".cp310-win_amd64.pyd"]) is None
    )


def test_other_python_names_the_right_zip(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path)
    text = bundle_check.refusal(str(folder), here_platform="windows-x64", here_python="3.13")
    assert text is not None
    assert "Python 3.10" in text and "Python 3.13" in text
    assert f"gpt-image-krita-{VERSION}-windows-x64-py313.zip" in text
    assert "Import Python Plugin from File" in text


def test_other_platform_names_the_right_zip(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path)
    text = bundle_check.refusal(str(folder), here_platform="macos-arm64", here_python="3.10")
    assert text is not None and "macOS on Apple silicon" in text
    assert f"gpt-image-krita-{VERSION}-macos-arm64-py310.zip" in text


def test_no_fitting_zip_points_to_install_py(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path)
    text = bundle_check.refusal(str(folder), here_platform="linux-x86_64", here_python="3.11")
    assert text is not None
    assert "No release zip" in text and "python3 install.py --host krita" in text


def test_python_that_cannot_load_the_modules_is_refused(tmp_path: Path) -> None:
    """E.g. a MinGW-built Python (MSYS2) of the right version: it loads other .pyd names."""
    folder = write_bundle(tmp_path)
    mingw = [".cp310-mingw_x86_64_ucrt_gnu.pyd", ".pyd"]
    text = bundle_check.refusal(str(folder), **WIN310, here_suffixes=mingw)
    assert text is not None and ".cp310-win_amd64.pyd" in text and "cannot load" in text
    assert "No release zip" in text  # the same zip again would not help


def gimp_bundle(folder: Path) -> Path:
    """bundle.json of the GIMP macOS arm64 zip, as release_build writes it."""
    from installer.release_build import bundle_description

    t = target("gimp-macos-arm64-py310")
    data = bundle_description(t, VERSION, release_targets(), folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / bundle_check.BUNDLE_FILE).write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("python", "suffixes", "builds"),
    [
        ("3.14", [".cp314-mingw_x86_64_ucrt_llvm.pyd", ".pyd"], "GIMP 3.2 Windows installer"),
        ("3.12", [".cp312-mingw_x86_64_ucrt_llvm.pyd", ".pyd"], "GIMP 3.0 Windows installer"),
        # a later GIMP whose MSYS2 Python is newer than the table: known by its suffixes
        ("3.15", [".cp315-mingw_x86_64_ucrt_llvm.pyd", ".pyd"], "GIMP 3.2 Windows installer"),
    ],
)
def test_gimp_on_windows_is_told_no_zip_works_and_what_to_do(
    tmp_path: Path, python: str, suffixes: list[str], builds: str
) -> None:
    """A GIMP zip unpacked into GIMP on Windows names no other zip (none can work there) and
    not install.py (its PyPI wheels would not load either), but says why and what to use."""
    folder = gimp_bundle(tmp_path / "gpt-image")
    here = {"here_platform": "windows-x64", "here_python": python, "here_suffixes": suffixes}
    text = bundle_check.refusal(str(folder), **here)
    assert text is not None
    assert f"No release zip can work in {builds}" in text
    assert "MSYS2" in text and "use GPT Image in Krita" in text
    assert "install.py" not in text and "Install gpt-image" not in text


@pytest.mark.parametrize("python", ["3.13", "3.14"])
def test_a_python_org_python_on_windows_is_not_mistaken_for_gimps(
    tmp_path: Path, python: str
) -> None:
    folder = gimp_bundle(tmp_path / "gpt-image")
    xy = python.replace(".", "")
    here = {"here_platform": "windows-x64", "here_python": python}
    text = bundle_check.refusal(str(folder), **here, here_suffixes=[f".cp{xy}-win_amd64.pyd"])
    assert text is not None and "No release zip is built" in text and "install.py" in text


def test_too_old_glibc_is_refused(tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path,
        platform="linux-x86_64",
        zip=f"gpt-image-krita-{VERSION}-linux-x86_64-py310.zip",
        min_glibc="2.28",
        extension_suffixes=[],
    )
    here = {"here_platform": "linux-x86_64", "here_python": "3.10"}
    assert bundle_check.refusal(str(folder), **here, here_glibc=(2, 31)) is None
    text = bundle_check.refusal(str(folder), **here, here_glibc=(2, 27))
    assert text is not None and "glibc 2.28 or newer" in text and "2.27" in text


@pytest.mark.parametrize("content", ["{not json", "[]", '{"host": "krita"}', ""])
def test_damaged_bundle_file_is_explained(tmp_path: Path, content: str) -> None:
    (tmp_path / bundle_check.BUNDLE_FILE).write_text(content, encoding="utf-8")
    text = bundle_check.refusal(str(tmp_path))
    assert text is not None and "damaged" in text and "Download the release zip again" in text


@pytest.mark.parametrize(
    ("system", "machine", "want"),
    [
        ("win32", "AMD64", "windows-x64"),
        ("win32", "ARM64", "windows-arm64"),
        ("darwin", "arm64", "macos-arm64"),
        ("darwin", "x86_64", "macos-x86_64"),
        ("linux", "x86_64", "linux-x86_64"),
        ("linux", "aarch64", "linux-aarch64"),
    ],
)
def test_platform_id(system: str, machine: str, want: str) -> None:
    assert bundle_check.platform_id(system, machine) == want


# ----------------------------------------------------------------------------- every zip, built


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("release")
    proc = run_tool("--out", str(out), "--version", VERSION)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


@pytest.mark.slow
def test_every_target_is_built_checked_and_summed(release: tuple[Path, str]) -> None:
    out, stdout = release
    zips = sorted(p.name for p in out.glob("*.zip"))
    assert zips == sorted(t.zip_name(VERSION) for t in release_targets())
    sums = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    assert sorted(sums) == zips
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
        assert re.search(rf"^ok  {re.escape(name)}  \d+\.\d MB", stdout, re.M), name
    for gimp, py in (("3.0", "3.12"), ("3.2", "3.14")):  # said, not built
        assert f"no zip for GIMP {gimp} Windows installer (Python {py})" in stdout


@pytest.mark.slow
@pytest.mark.parametrize("key", [t.key for t in release_targets()])
def test_zip_contents_fit_its_target(release: tuple[Path, str], key: str) -> None:
    out, _ = release
    t = target(key)
    path = out / t.zip_name(VERSION)
    report = check_zip(path, t)
    assert report.problems == []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        folder = "gpt_image" if t.host == "krita" else "gpt-image"
        bundle = json.loads(zf.read(f"{folder}/bundle.json"))
        compiled = [n for n in names if n.endswith((".so", ".pyd")) and "/numpy/" in n]
    assert bundle["python"] == t.python and bundle["platform"] == t.platform
    assert bundle["zip"] == path.name
    xy = t.python.replace(".", "")
    suffix = {
        "windows-x64": f".cp{xy}-win_amd64.pyd",
        "linux-x86_64": f".cpython-{xy}-x86_64-linux-gnu.so",
    }.get(t.platform, f".cpython-{xy}-darwin.so")
    assert compiled and all(n.endswith(suffix) for n in compiled), compiled[:3]
    assert bundle["extension_suffixes"] == [suffix]
    assert set(bundle["extension_suffixes"]) <= set(t.extension_suffixes)
    no_zip = {(e["platform"], e["python"]) for e in bundle["no_zip"]}
    want = {("windows-x64", "3.12"), ("windows-x64", "3.14")} if t.host == "gimp" else set()
    assert no_zip == want
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n]


@pytest.mark.slow
def test_check_zip_finds_what_is_wrong(release: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = release
    t = target("gimp-linux-x86_64-py313")
    good = out / t.zip_name(VERSION)
    bad = tmp_path / good.name
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "gpt-image/gpt-image.py":
                info.external_attr = 0o100644 << 16
            if info.filename.startswith("gpt-image/vendor/numpy-") and info.filename.endswith(
                "/WHEEL"
            ):
                data = re.sub(rb"Tag: cp313-cp313-", b"Tag: cp312-cp312-", data)
            if "pydantic_core-" in info.filename and info.filename.endswith(".dist-info/WHEEL"):
                continue  # a distribution without its WHEEL: not vendored as far as we know
            dst.writestr(info, data)
        dst.writestr("gpt-image/core/__pycache__/jobs.cpython-313.pyc", b"")
        dst.writestr("gpt-image/tests/standin/server.py", b"")
        dst.writestr("gpt-image/vendor/x/_y.cpython-312-x86_64-linux-gnu.so", b"")
    problems = "\n".join(check_zip(bad, t).problems)
    assert "gpt-image.py is not executable" in problems
    assert "numpy-" in problems and "do not fit Python 3.13" in problems
    assert "pydantic_core is not vendored" in problems
    assert "__pycache__" in problems and "test tree" in problems
    assert "_y.cpython-312" in problems


@pytest.mark.slow
def test_mismatched_zip_refuses_and_names_the_right_one(
    release: tuple[Path, str], tmp_path: Path
) -> None:
    """The bundle.json a real zip carries drives the refusal (host faked as Python 3.13)."""
    out, _ = release
    t = target("krita-linux-x86_64-py310")
    with zipfile.ZipFile(out / t.zip_name(VERSION)) as zf:
        zf.extractall(tmp_path)
    here = {"here_platform": "linux-x86_64", "here_python": "3.13"}
    text = bundle_check.refusal(str(tmp_path / "gpt_image"), **here)
    assert text is not None
    assert f"gpt-image-krita-{VERSION}-linux-x86_64-py313.zip" in text
    fits = {"here_python": "3.10", "here_suffixes": [".cpython-310-x86_64-linux-gnu.so"]}
    assert bundle_check.refusal(str(tmp_path / "gpt_image"), **fits) is None


def test_list_json_is_the_table() -> None:
    proc = run_tool("--list", "--json", "--version", VERSION, "--only", "krita-*")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["version"] == VERSION
    assert [r["zip"] for r in data["targets"]] == [
        t.zip_name(VERSION) for t in release_targets() if t.host == "krita"
    ]
    assert all(r["wheel_platforms"] for r in data["targets"])
    assert data["no_zip"] == []
    proc = run_tool("--list", "--json", "--version", VERSION, "--only", "gimp-*")
    none = json.loads(proc.stdout)["no_zip"]
    assert [(r["key"], r["abi"]) for r in none] == [
        ("gimp-windows-x64-py312", "msys2-clang64"),
        ("gimp-windows-x64-py314", "msys2-clang64"),
    ]
    assert all("PyPI carries no such wheels" in r["why"] and r["instead"] for r in none)


# ----------------------------------------------------------------------------- install.py


def test_install_py_refuses_gimp_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """install.py on Windows would vendor PyPI's win_amd64 wheels into GIMP's MSYS2 Python,
    where they cannot load: it says so (and what to use instead) and installs nothing."""
    from installer import cli, hosts, vendor

    gimp = tmp_path / "Program Files/GIMP 3"
    for name in ("bin/gimp-3.2.exe", "lib/python3.14/os.py"):
        (gimp / name).parent.mkdir(parents=True, exist_ok=True)
        (gimp / name).write_bytes(b"")
    env = {"APPDATA": str(tmp_path / "Roaming"), "ProgramFiles": str(tmp_path / "Program Files")}
    home = tmp_path / "home"
    home.mkdir()
    ctx = hosts.Context(system="Windows", env=env, home=home, which=lambda name: None)
    monkeypatch.setattr(hosts.Context, "current", classmethod(lambda cls: ctx))
    monkeypatch.setattr(vendor, "default_platforms", lambda *a, **k: ["win_amd64"])
    monkeypatch.setattr(vendor, "check_pip", lambda: "pip")
    assert cli.run(["--host", "gimp"], default_source=ROOT) == 1
    out, err = capsys.readouterr()
    assert "GPT Image cannot work in GIMP 3.2 (Windows): its Python is MSYS2's MinGW build" in err
    assert "use GPT Image in Krita" in err and "FAILED: GIMP 3.2 (Windows)" in out
    assert not (tmp_path / "Roaming/GIMP/3.2/plug-ins/gpt-image").exists()
    assert cli.run(["--host", "gimp", "--uninstall"], default_source=ROOT) == 0
