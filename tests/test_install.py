"""install.py end to end: real subprocess runs into throw-away profiles, no host programs needed.

Dependencies come from a local wheelhouse (tools/wheelhouse.py, cached in
~/.cache/gpt-image-tests/), so each run is offline. Runs with dependencies take ~5 s each; most tests use --no-deps because the
logic under test (layout, manifest, kritarc, ownership) does not depend on vendor/.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "install.py"
HOST_PYTHON_311 = Path("/usr/bin/python3.11")  # bookworm's python3 = Krita's embedded Python

KRITARC_BEFORE = (
    "[General]\n"
    "# a comment Krita would keep\n"
    "LastPreset=b) Basic-5 Size\n"
    "\n"
    "[python]\n"
    "enable_kritapykrita_scripter=true\n"
    "enable_other_plugin=false\n"
    "\n"
    "[MainWindow]\n"
    "State=AAAA/wAAAAD9\xe9\n"
)


# ----------------------------------------------------------------------------- fixtures


def _wheelhouse(version: str) -> Path:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools/wheelhouse.py"), version],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def wheels311() -> Path:
    return _wheelhouse("3.11")


@pytest.fixture(scope="session")
def wheels313() -> Path:
    return _wheelhouse("3.13")


@pytest.fixture(scope="session")
def wheels310() -> Path:
    return _wheelhouse("3.10")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small fake project tree shaped like the real one."""
    src = tmp_path / "src"
    files = {
        "krita_plugin/gpt_image.desktop": "[Desktop Entry]\nX-KDE-Library=gpt_image\n",
        "krita_plugin/__init__.py": "from .docker import *  # noqa\n",
        "krita_plugin/docker.py": "VERSION = 1\n",
        "krita_plugin/gpt_image.action": "<ActionCollection/>\n",
        "krita_plugin/__pycache__/docker.cpython-311.pyc": "junk",
        "gimp_plugin/gpt-image.py": "#!/usr/bin/env python3\nprint('gpt-image')\n",
        "gimp_plugin/gpt_image_gimp/__init__.py": "",
        "gimp_plugin/gpt_image_gimp/plugin.py": "VERSION = 1\n",
        "core/__init__.py": "",
        "core/geometry.py": "VERSION = 1\n",
        "core/data/pricing.json": "{}\n",
        "core/__pycache__/geometry.cpython-311.pyc": "junk",
        "pyproject.toml": '[project]\nname = "x"\nversion = "9.8.7"\n',
    }
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    shutil.copy(ROOT / "requirements.txt", src / "requirements.txt")
    return src


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / ".config").mkdir(parents=True)
    return h


def host_env(home: Path, **extra: str) -> dict:
    """An environment that sees only the throw-away HOME (no real profiles, no Flatpaks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GIMP3_", "GPT_IMAGE"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        FLATPAK_USER_DIR=str(home / "no-flatpak-user"),
        FLATPAK_SYSTEM_DIR=str(home / "no-flatpak-system"),
        PATH=str(Path(sys.executable).parent),  # no krita / gimp on PATH
    )
    env.update(extra)
    return env


def run(source: Path, home: Path, *args: str, env: dict | None = None, python=None):
    cmd = [str(python or sys.executable), str(INSTALL), "--source", str(source), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env or host_env(home), timeout=600
    )


def ok(proc) -> str:
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def snapshot(root: Path) -> dict:
    """Every file under root: relative path -> (sha256, mode); the manifest's timestamp and the
    source times in byte code dropped."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == ".install-manifest.json":
                m = json.loads(data)
                m.pop("installed_at")
                data = json.dumps(m, sort_keys=True).encode()
            if p.suffix == ".pyc":  # byte code written at install: its source's new mtime dropped
                data = data[:8] + data[12:]
            out[p.relative_to(root).as_posix()] = (
                hashlib.sha256(data).hexdigest(),
                stat.S_IMODE(p.stat().st_mode),
            )
    return out


def profiles(home: Path) -> tuple[Path, Path, Path]:
    """(Krita resources dir, kritarc, GIMP 3.0 profile) of the fake user."""
    return home / ".local/share/krita", home / ".config/kritarc", home / ".config/GIMP/3.0"


def explicit(home: Path) -> list[str]:
    krita, rc, gimp = profiles(home)
    return ["--krita-dir", str(krita), "--kritarc", str(rc), "--gimp-dir", str(gimp)]


# ----------------------------------------------------------------------------- layout + deps


@pytest.mark.slow
def test_installs_both_hosts_with_deps_importable_by_host_python(source, home, wheels311):
    krita, rc, gimp = profiles(home)
    gimp.mkdir(parents=True)
    (gimp / "pluginrc").write_text("(plug-in-def stale)\n")
    rc.write_text(KRITARC_BEFORE, encoding="latin-1")
    out = ok(
        run(source, home, *explicit(home), "--python-version", "3.11", "--wheels", str(wheels311))
    )

    kp = krita / "pykrita"
    assert (kp / "gpt_image.desktop").read_text().startswith("[Desktop Entry]")
    for rel in [
        "__init__.py",
        "docker.py",
        "gpt_image.action",
        "core/geometry.py",
        "core/data/pricing.json",
    ]:
        assert (kp / "gpt_image" / rel).is_file(), rel
    assert not (kp / "gpt_image/gpt_image.desktop").exists()
    assert not list(kp.rglob("*.pyc")), "no bytecode copied, none compiled by pip"
    gp = gimp / "plug-ins/gpt-image"
    assert stat.S_IMODE((gp / "gpt-image.py").stat().st_mode) == 0o755
    assert (gp / "gpt_image_gimp/plugin.py").is_file() and (gp / "core/geometry.py").is_file()
    assert not (gimp / "pluginrc").exists(), "GIMP must re-query its plug-ins"

    for folder in (kp / "gpt_image", gp):
        m = json.loads((folder / ".install-manifest.json").read_text())
        assert m["version"] == "9.8.7" and m["python_version"] == "3.11"
        names = {n.split("-")[0].lower() for n in m["vendored"]}
        assert {"openai", "pydantic", "pydantic_core", "pillow", "numpy"} <= names
        assert not (folder / "vendor/bin").exists()
        listed = set(m["files"])
        on_disk = {
            p.relative_to(folder.parent).as_posix() for p in folder.rglob("*") if p.is_file()
        }
        assert on_disk <= listed
    km = json.loads((kp / "gpt_image/.install-manifest.json").read_text())
    assert "gpt_image.desktop" in km["files"]
    assert km["kritarc"]["key"] == "enable_gpt_image" and km["kritarc"]["previous"] is None

    expected = KRITARC_BEFORE.replace(
        "enable_other_plugin=false\n", "enable_other_plugin=false\nenable_gpt_image=true\n"
    )
    assert rc.read_bytes() == expected.encode("latin-1"), "only the one key may change"
    assert "Next:" in out and "API key" in out

    installed = snapshot(home)  # a second run (dependencies included) changes nothing
    again = run(
        source, home, *explicit(home), "--python-version", "3.11", "--wheels", str(wheels311)
    )
    assert "upgraded" in ok(again)
    assert snapshot(home) == installed

    if HOST_PYTHON_311.exists():  # Krita's own interpreter; -I -S: no site-packages at all
        code = (
            "import sys; sys.path[:0] = [sys.argv[1]]; "
            "import openai, pydantic, pydantic_core, PIL.Image, numpy; "
            "print(openai.__file__.startswith(sys.argv[1]), numpy.__version__)"
        )
        for folder in (kp / "gpt_image", gp):
            res = subprocess.run(
                [str(HOST_PYTHON_311), "-I", "-S", "-c", code, str(folder / "vendor")],
                capture_output=True,
                text=True,
            )
            assert res.returncode == 0, res.stderr
            assert res.stdout.startswith("True")


@pytest.mark.slow
def test_other_host_python_gets_its_own_wheels(source, home, wheels313):
    """The installer runs on 3.11; GIMP's trixie Python is 3.13: vendor must be cp313."""
    _, _, gimp = profiles(home)
    ok(run(source, home, "--host", "gimp", "--gimp-dir", str(gimp), "--python-version", "3.13",
           "--wheels", str(wheels313)))  # fmt: skip
    vendor = gimp / "plug-ins/gpt-image/vendor"
    core_so = [p.name for p in (vendor / "pydantic_core").glob("_pydantic_core*.so")]
    assert core_so and all("cpython-313" in n for n in core_so), core_so
    assert list((vendor / "numpy").rglob("*cpython-313*.so"))
    m = json.loads((vendor.parent / ".install-manifest.json").read_text())
    assert m["python_version"] == "3.13" and m["python_source"] == "--python-version"
    py313 = Path("/root/.pyenv/versions/3.13.0/bin/python3.13")  # a real CPython 3.13
    if py313.exists():
        code = (
            "import sys; sys.path[:0]=[sys.argv[1]]; import pydantic_core, numpy, PIL.Image, openai"
        )
        res = subprocess.run(
            [str(py313), "-I", "-S", "-c", code, str(vendor)], capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr


@pytest.mark.slow
def test_krita_52_python_310_gets_its_marker_dependencies(source, home, wheels310):
    """Krita 5.2 bundles 3.10: anyio needs exceptiongroup there (a python_version < "3.11"
    marker) although this installer runs on 3.11, where pip alone would leave it out."""
    krita, rc, _ = profiles(home)
    ok(run(source, home, "--host", "krita", "--krita-dir", str(krita), "--kritarc", str(rc),
           "--python-version", "3.10", "--wheels", str(wheels310)))  # fmt: skip
    vendor = krita / "pykrita/gpt_image/vendor"
    assert (vendor / "exceptiongroup").is_dir()
    assert list((vendor / "pydantic_core").glob("*cpython-310*.so"))
    py310 = Path("/root/.pyenv/versions/3.10.13/bin/python3.10")  # a real CPython 3.10
    if py310.exists():
        code = "import sys; sys.path[:0]=[sys.argv[1]]; import openai, anyio, numpy, PIL.Image"
        res = subprocess.run([str(py310), "-I", "-S", "-c", code, str(vendor)],
                             capture_output=True, text=True)  # fmt: skip
        assert res.returncode == 0, res.stderr


def test_no_matching_wheel_is_a_clear_error_and_keeps_previous_install(source, home, wheels311):
    krita, rc, _ = profiles(home)
    args = ["--host", "krita", "--krita-dir", str(krita), "--kritarc", str(rc)]
    ok(run(source, home, *args, "--no-deps"))
    before = snapshot(home)
    (source / "core/geometry.py").write_text("VERSION = 2\n")
    proc = run(source, home, *args, "--python-version", "3.13", "--wheels", str(wheels311))
    assert proc.returncode == 1
    assert "no wheel of" in proc.stderr and "for Python 3.13" in proc.stderr, proc.stderr
    assert "manylinux" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(home) == before, "a failed pip run must leave the old install untouched"
    assert not list((krita / "pykrita").glob(".gpt_image.*")), "staging folder cleaned up"


def test_pip_missing_is_a_clear_error(source, home, tmp_path):
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    krita, rc, _ = profiles(home)
    proc = run(source, home, "--krita-dir", str(krita), "--kritarc", str(rc),
               python=venv / "bin/python")  # fmt: skip
    assert proc.returncode == 1
    assert "pip is not available" in proc.stderr and "--no-deps" in proc.stderr
    assert not krita.exists()


# ----------------------------------------------------------------------------- lifecycle


def test_second_run_is_idempotent(source, home):
    ok(run(source, home, *explicit(home), "--no-deps"))
    first = snapshot(home)
    out = ok(run(source, home, *explicit(home), "--no-deps"))
    assert "upgraded" in out
    assert snapshot(home) == first


def test_leftovers_of_an_interrupted_run_are_cleaned(source, home):
    _, _, gimp = profiles(home)
    stale = gimp / "plug-ins/.gpt-image.staging-99999"
    (stale / "core").mkdir(parents=True)
    (gimp / "plug-ins/.gpt-image.old-99998").mkdir()
    ok(run(source, home, *explicit(home), "--host", "gimp", "--no-deps"))
    assert sorted(p.name for p in (gimp / "plug-ins").iterdir()) == ["gpt-image"]


def test_upgrade_replaces_code_keeps_settings_and_history(source, home):
    config = home / ".config/gpt-image"
    data = home / ".local/share/gpt-image/history/job-1"
    config.mkdir(parents=True)
    data.mkdir(parents=True)
    (config / "settings.json").write_text('{"model": "gpt-image-2"}')
    (data / "job.json").write_text("{}")
    kept = {**snapshot(config), **{"h/" + k: v for k, v in snapshot(data).items()}}

    ok(run(source, home, *explicit(home), "--no-deps"))
    krita, _rc, gimp = profiles(home)
    (source / "core/geometry.py").write_text("VERSION = 2\n")
    (source / "krita_plugin/docker.py").unlink()  # dropped by the new version
    (source / "core/new_module.py").write_text("")
    out = ok(run(source, home, *explicit(home), "--no-deps"))
    assert "upgraded" in out
    for folder in (krita / "pykrita/gpt_image", gimp / "plug-ins/gpt-image"):
        assert (folder / "core/geometry.py").read_text() == "VERSION = 2\n"
        assert (folder / "core/new_module.py").exists()
    assert not (krita / "pykrita/gpt_image/docker.py").exists()
    ok(run(source, home, *explicit(home), "--uninstall"))
    assert {**snapshot(config), **{"h/" + k: v for k, v in snapshot(data).items()}} == kept


def test_uninstall_leaves_exactly_what_was_there(source, home):
    krita, rc, gimp = profiles(home)
    (krita / "pykrita").mkdir(parents=True)
    (krita / "pykrita/other_plugin.desktop").write_text("x")
    (krita / "pykrita/other_plugin").mkdir()
    (krita / "pykrita/other_plugin/__init__.py").write_text("")
    (gimp / "plug-ins/other").mkdir(parents=True)
    (gimp / "plug-ins/other/other.py").write_text("")
    rc.write_text(KRITARC_BEFORE.replace("enable_other_plugin=false", "enable_gpt_image=false"))
    before = snapshot(home)
    dirs_before = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_dir())

    ok(run(source, home, *explicit(home), "--no-deps"))
    assert "enable_gpt_image=true" in rc.read_text()
    ok(run(source, home, *explicit(home), "--no-deps"))  # upgrade must keep the original value
    # Krita ran in between and compiled our modules: uninstall removes its __pycache__ too.
    pyc = krita / "pykrita/gpt_image/core/__pycache__"
    pyc.mkdir(exist_ok=True)  # or install.py did, with the host's Python
    (pyc / "geometry.cpython-311.pyc").write_text("x")
    out = ok(run(source, home, *explicit(home), "--uninstall"))
    assert "removed" in out
    assert snapshot(home) == before
    dirs_after = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_dir())
    assert dirs_after == dirs_before
    out = ok(run(source, home, *explicit(home), "--uninstall"))
    assert "nothing installed here" in out


def test_uninstall_from_fresh_profile_removes_created_folders_and_kritarc(source, home):
    before = snapshot(home)
    ok(run(source, home, *explicit(home), "--no-deps"))
    ok(run(source, home, *explicit(home), "--uninstall"))
    assert snapshot(home) == before
    assert sorted(p.name for p in home.rglob("*")) == [".config"]


def test_upgrade_with_another_kritarc_moves_the_key(source, home, tmp_path):
    krita, rc, _ = profiles(home)
    rc.write_text(KRITARC_BEFORE)
    ok(run(source, home, "--krita-dir", str(krita), "--kritarc", str(rc), "--no-deps"))
    other = tmp_path / "other-kritarc"
    ok(run(source, home, "--krita-dir", str(krita), "--kritarc", str(other), "--no-deps"))
    assert rc.read_text() == KRITARC_BEFORE
    assert other.read_text() == "[python]\nenable_gpt_image=true\n"
    ok(run(source, home, "--krita-dir", str(krita), "--uninstall"))
    assert not other.exists() and rc.read_text() == KRITARC_BEFORE


def test_files_added_by_user_inside_plugin_folder_survive(source, home):
    ok(run(source, home, *explicit(home), "--no-deps"))
    krita, _, _ = profiles(home)
    mine = krita / "pykrita/gpt_image/my_notes.txt"
    mine.write_text("mine")
    ok(run(source, home, *explicit(home), "--no-deps"))
    assert mine.read_text() == "mine"
    out = ok(run(source, home, *explicit(home), "--uninstall"))
    assert mine.read_text() == "mine" and "not installed by install.py" in out
    assert sorted(p.name for p in mine.parent.iterdir()) == ["my_notes.txt"]


# ----------------------------------------------------------------------------- refusals


def test_refuses_to_overwrite_a_foreign_plugin(source, home):
    krita, _rc, gimp = profiles(home)
    (krita / "pykrita/gpt_image").mkdir(parents=True)
    (krita / "pykrita/gpt_image/__init__.py").write_text("hand-installed")
    (gimp / "plug-ins").mkdir(parents=True)
    before = snapshot(home)
    proc = run(source, home, *explicit(home), "--no-deps")
    assert proc.returncode == 1
    assert "not installed by install.py" in proc.stderr and "gpt_image" in proc.stderr
    assert "FAILED: Krita" in proc.stdout
    assert (krita / "pykrita/gpt_image/__init__.py").read_text() == "hand-installed"
    assert (gimp / "plug-ins/gpt-image/gpt-image.py").exists(), "GIMP still installed"
    assert {k: v for k, v in snapshot(home).items() if "GIMP" not in k} == before
    proc = run(source, home, *explicit(home), "--uninstall")
    assert proc.returncode == 1 and "not installed by install.py" in proc.stderr
    assert (krita / "pykrita/gpt_image/__init__.py").exists()


def test_refuses_to_overwrite_a_foreign_desktop_file(source, home):
    krita, _, _ = profiles(home)
    (krita / "pykrita").mkdir(parents=True)
    (krita / "pykrita/gpt_image.desktop").write_text("someone else's")
    proc = run(source, home, *explicit(home), "--host", "krita", "--no-deps")
    assert proc.returncode == 1 and "gpt_image.desktop" in proc.stderr
    assert (krita / "pykrita/gpt_image.desktop").read_text() == "someone else's"
    assert not (krita / "pykrita/gpt_image").exists()


def test_unwritable_folder_is_a_clear_error(source, home):
    if not shutil.which("chattr"):
        pytest.fail("chattr is needed to make a folder unwritable for root")
    krita, rc, _ = profiles(home)
    pykrita = krita / "pykrita"
    pykrita.mkdir(parents=True)
    subprocess.run(["chattr", "+i", str(pykrita)], check=True)  # even root cannot write
    try:
        proc = run(source, home, "--host", "krita", "--krita-dir", str(krita), "--kritarc",
                   str(rc), "--no-deps")  # fmt: skip
    finally:
        subprocess.run(["chattr", "-i", str(pykrita)], check=True)
    assert proc.returncode == 1
    assert f"cannot write to {pykrita}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(pykrita.iterdir()) == [] and not rc.exists()


def test_no_host_found_exits_2_and_says_where_it_looked(source, home):
    proc = run(source, home)
    assert proc.returncode == 2
    assert "no Krita or GIMP 3 installation found" in proc.stderr
    assert str(home / ".local/share/krita") in proc.stderr and "--krita-dir" in proc.stderr
    assert list(home.iterdir()) == [home / ".config"]


def test_bad_usage_exits_2(source, home):
    assert run(source, home, "--host", "photoshop").returncode == 2
    assert run(source, home, "--python-version", "311").returncode == 2
    assert run(source, home, "--wheels", str(home / "missing")).returncode == 2


def test_incomplete_source_tree_is_reported(source, home):
    (source / "gimp_plugin/gpt-image.py").unlink()
    proc = run(source, home, *explicit(home), "--host", "gimp", "--no-deps")
    assert proc.returncode == 1 and "gpt-image.py" in proc.stderr and "missing" in proc.stderr


# ----------------------------------------------------------------------------- discovery, dry run


def test_discovers_profiles_and_gimp_32(source, home):
    """Native GIMP 3.0 and 3.2 profiles, a Flatpak GIMP and a Krita profile, all found."""
    krita = home / ".local/share/krita"
    krita.mkdir(parents=True)
    for d in [".config/GIMP/3.0", ".config/GIMP/3.2", ".config/GIMP/2.10",
              ".var/app/org.gimp.GIMP/config/GIMP/3.0"]:  # fmt: skip
        (home / d).mkdir(parents=True)
    out = ok(run(source, home, "--no-deps"))
    assert (krita / "pykrita/gpt_image/__init__.py").exists()
    assert (home / ".config/kritarc").read_text() == "[python]\nenable_gpt_image=true\n"
    for d in [".config/GIMP/3.0", ".config/GIMP/3.2", ".var/app/org.gimp.GIMP/config/GIMP/3.0"]:
        assert (home / d / "plug-ins/gpt-image/gpt-image.py").exists(), d
    assert not (home / ".config/GIMP/2.10/plug-ins").exists()
    assert "GIMP 3.2" in out and "Flatpak" in out
    gimp_only = ok(run(source, home, "--host", "gimp", "--uninstall"))
    assert "Krita" not in gimp_only
    assert (krita / "pykrita/gpt_image").exists()
    assert not (home / ".config/GIMP/3.2/plug-ins/gpt-image").exists()


def test_gimp3_directory_env_overrides_discovery(source, home, tmp_path):
    prof = tmp_path / "gimp-profile"
    (home / ".config/GIMP/3.0").mkdir(parents=True)
    env = host_env(home, GIMP3_DIRECTORY=str(prof))
    ok(run(source, home, "--host", "gimp", "--no-deps", env=env))
    assert (prof / "plug-ins/gpt-image/gpt-image.py").exists()
    assert not (home / ".config/GIMP/3.0/plug-ins").exists()


def test_dry_run_changes_nothing(source, home):
    krita, rc, gimp = profiles(home)
    (gimp / "plug-ins").mkdir(parents=True)
    (gimp / "pluginrc").write_text("x")
    rc.write_text(KRITARC_BEFORE)
    before = snapshot(home)
    out = ok(run(source, home, *explicit(home), "--dry-run", "--python-version", "3.12"))
    assert snapshot(home) == before and not krita.exists()
    assert "would create" in out and "would set [python] enable_gpt_image=true" in out
    assert "--python-version 3.12" in out and "would remove" in out
    ok(run(source, home, *explicit(home), "--no-deps"))
    before = snapshot(home)
    out = ok(run(source, home, *explicit(home), "--dry-run", "--uninstall"))
    assert snapshot(home) == before and "would remove" in out


@pytest.mark.slow
def test_runs_on_python_38(source, home, wheels311):
    """Users run install.py with whatever python3 they have: 3.8 must work (stdlib only)."""
    py38 = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")
    if not py38.exists():
        pytest.fail("this test needs a Python 3.8 interpreter (pyenv 3.8.18)")
    krita, rc, _ = profiles(home)
    args = ["--krita-dir", str(krita), "--kritarc", str(rc), "--python-version", "3.11"]
    # From the cp311 wheelhouse: pip on 3.8 alone would also demand exceptiongroup (a
    # python_version < "3.11" marker of anyio), which Krita's 3.11 does not need.
    ok(run(source, home, *args, "--wheels", str(wheels311), python=py38))
    assert (krita / "pykrita/gpt_image/core/geometry.py").exists()
    vendor = krita / "pykrita/gpt_image/vendor"
    assert (vendor / "openai").is_dir() and not (vendor / "exceptiongroup").exists()
    ok(
        run(
            source,
            home,
            "--krita-dir",
            str(krita),
            "--kritarc",
            str(rc),
            "--uninstall",
            python=py38,
        )
    )
    assert not (krita / "pykrita/gpt_image").exists()


# ----------------------------------------------------------------------------- the real tree


@pytest.mark.slow
def test_installs_the_real_project_tree(home, wheels311, tmp_path):
    """The repo's own krita_plugin/, gimp_plugin/ and core/ install, and core imports under
    Krita's Python with nothing but vendor/ on the path. (A snapshot of the tree is installed:
    other engineers edit it while this runs.)"""
    real = tmp_path / "repo"
    for name in ("krita_plugin", "gimp_plugin", "core"):
        shutil.copytree(ROOT / name, real / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, real / name)
    krita, _rc, gimp = profiles(home)
    ok(run(real, home, *explicit(home), "--python-version", "3.11", "--wheels", str(wheels311)))
    kfolder, gfolder = krita / "pykrita/gpt_image", gimp / "plug-ins/gpt-image"
    for src, folder in ((real / "krita_plugin", kfolder), (real / "gimp_plugin", gfolder)):
        for f in src.rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts and f.name != "gpt_image.desktop":
                assert (folder / f.relative_to(src)).read_bytes() == f.read_bytes()
    for f in (real / "core").rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            assert (kfolder / "core" / f.relative_to(real / "core")).exists()
            assert (gfolder / "core" / f.relative_to(real / "core")).exists()
    assert (krita / "pykrita/gpt_image.desktop").read_bytes() == (
        real / "krita_plugin/gpt_image.desktop"
    ).read_bytes()
    if HOST_PYTHON_311.exists():
        modules = sorted(p.stem for p in (kfolder / "core").glob("*.py") if p.stem != "__main__")
        code = (
            "import importlib, sys; sys.path[:0] = sys.argv[1:3]; "
            "[importlib.import_module('core.' + m if m != '__init__' else 'core') for m in sys.argv[3:]]"
        )
        res = subprocess.run(
            [
                str(HOST_PYTHON_311),
                "-I",
                "-S",
                "-c",
                code,
                str(kfolder / "vendor"),
                str(kfolder),
                *modules,
            ],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
    ok(run(real, home, *explicit(home), "--uninstall"))
    assert not kfolder.exists() and not gfolder.exists()


@pytest.mark.slow
@pytest.mark.gimp
def test_vendor_for_trixie_python_313_imports_in_the_gimp_chroot(home, wheels313):
    """install.py on this 3.11 machine -> a profile inside the trixie chroot; the chroot's own
    /usr/bin/python3 (3.13, the one GIMP runs plug-ins with) imports vendor/ and core/."""
    from tools.wheelhouse import hostcache_root

    root = Path(os.environ.get("GIMP3_ROOT", hostcache_root() / "gimp3root"))
    assert (root / "usr/bin/python3.13").exists(), f"no GIMP chroot at {root}: run tools/setup.sh"
    inside = f"/tmp/install-test-{os.getpid()}"
    profile = root / inside.lstrip("/") / "GIMP/3.0"
    try:
        ok(run(ROOT, home, "--host", "gimp", "--gimp-dir", str(profile), "--python-version",
               "3.13", "--wheels", str(wheels313)))  # fmt: skip
        plugin = f"{inside}/GIMP/3.0/plug-ins/gpt-image"
        code = (
            "import sys; sys.path[:0] = [sys.argv[1] + '/vendor', sys.argv[1]]; "
            "import openai, numpy, PIL.Image, pydantic, core.settings, core.pipeline; "
            "print('%d.%d' % sys.version_info[:2], openai.__file__)"
        )
        res = subprocess.run(
            [
                "chroot",
                str(root),
                "/usr/bin/env",
                "-i",
                "PATH=/usr/bin:/bin",
                "/usr/bin/python3",
                "-I",
                "-S",
                "-c",
                code,
                plugin,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith(f"3.13 {plugin}/vendor/openai/")
    finally:
        shutil.rmtree(root / inside.lstrip("/"), ignore_errors=True)
