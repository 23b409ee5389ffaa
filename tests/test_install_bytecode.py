"""install.py byte-compiles the plug-in with the host's own Python where it can run it.

Why: without byte code the first job compiles the SDK's modules on the host's worker thread
(2.7-3.3 s from the click to the request instead of 0.7 s, and the GIL held 150-180 ms a module,
which freezes Krita's UI). Only a Linux distribution package's Python is a program install.py
can run as the host runs it; bundled and sandboxed ones are left to compile on first use.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import subprocess
import sys
from pathlib import Path

from installer import cli, deploy, hosts
from tests.install_helpers import ctx_for

THIS = "{}.{}".format(*sys.version_info[:2])


def mk(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def source_tree(root: Path, broken: bool = False) -> Path:
    files = {
        "krita_plugin/gpt_image.desktop": "[Desktop Entry]\nX-KDE-Library=gpt_image\n",
        "krita_plugin/__init__.py": "from .docker import VERSION\n",
        "krita_plugin/docker.py": "VERSION = 1\n",
        "core/__init__.py": "",
        "core/geometry.py": "def f():\n    raise ValueError('where')\n",
        "pyproject.toml": '[project]\nname = "x"\nversion = "1.0"\n',
    }
    if broken:
        files["core/broken.py"] = "def (:\n"
    for rel, text in files.items():
        mk(root / rel, text.encode())
    return root


def fake_vendor(dest: Path) -> list[str]:
    """vendor_into: a small package standing in for the SDK."""
    mk(dest / "sdk/__init__.py", b"from .models import Model\n")
    mk(dest / "sdk/models.py", b"class Model:\n    pass\n")
    mk(dest / "sdk-1.0.dist-info/METADATA", b"Name: sdk\n")
    return ["sdk-1.0"]


def install(tmp_path: Path, exe: str | None, version: str = THIS, broken: bool = False):
    target = hosts.Target(
        "krita", "Linux package", tmp_path / "profile", version, "test", python_exe=exe
    )
    layout = deploy.layout_for(target, source_tree(tmp_path / "src", broken))
    res = deploy.install(target, layout, version="1.0", vendor_into=fake_vendor, say=lambda _: None)
    return res, layout.folder


#: Run by the interpreter itself (-I: no PYTHONPYCACHEPREFIX), for each source file: where it
#: looks for byte code (importlib.util.cache_from_source) and whether that file is valid for
#: the source as it is on disk (magic number, then the source's mtime and size), i.e. used
#: without compiling.
VALID = """
import importlib.util, json, os, sys
out = {}
for path in json.loads(sys.argv[1]):
    cached = importlib.util.cache_from_source(path)
    try:
        head = open(cached, "rb").read(16)
    except OSError:
        out[path] = "missing " + cached
        continue
    st = os.stat(path)
    ok = head[:4] == importlib.util.MAGIC_NUMBER and head[4:8] == bytes(4)
    ok = ok and int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
    ok = ok and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF
    out[path] = "valid" if ok else "stale " + cached
print(json.dumps(out))
"""


def state_key(folder: Path, rel: str) -> str:
    """The byte code file of ``rel`` for this interpreter (no pycache prefix: -I ignores it)."""
    return importlib.util.cache_from_source(str(folder / rel))


def byte_code_state(exe: str, folder: Path) -> dict[str, str]:
    sources = sorted(str(p) for p in folder.rglob("*.py"))
    assert sources
    proc = subprocess.run(
        [exe, "-I", "-c", VALID, json.dumps(sources)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def test_install_leaves_byte_code_the_host_python_uses(tmp_path):
    res, folder = install(tmp_path, sys.executable)
    assert not [n for n in res.notes if "byte" in n]
    state = byte_code_state(sys.executable, folder)
    assert set(state.values()) == {"valid"}, state
    assert any("/vendor/sdk/" in path for path in state)  # the dependencies too
    # compiled in the staging folder, for the installed files (what a traceback names)
    cached = folder / "core/__pycache__" / Path(state_key(folder, "core/geometry.py")).name
    code = marshal.loads(cached.read_bytes()[16:])
    assert code.co_filename == str(folder / "core/geometry.py")
    manifest = json.loads((folder / deploy.MANIFEST).read_text())
    assert not [f for f in manifest["files"] if "__pycache__" in f]  # generated, not listed

    deploy.uninstall(res.target, deploy.layout_for(res.target, tmp_path / "src"))
    assert not folder.exists()  # the byte code goes with the plug-in


def test_no_host_python_no_byte_code(tmp_path):
    _, folder = install(tmp_path, None)
    assert not list(folder.rglob("*.pyc")) and not list(folder.rglob("__pycache__"))


def test_a_python_of_another_version_writes_none_and_says_so(tmp_path):
    res, folder = install(tmp_path, sys.executable, version="3.99")
    assert not list(folder.rglob("*.pyc"))
    [note] = [n for n in res.notes if "byte code" in n]
    assert f"it is Python {THIS}, not 3.99" in note and "first use" in note


def test_a_file_that_does_not_compile_is_not_fatal(tmp_path):
    res, folder = install(tmp_path, sys.executable, broken=True)
    assert (folder / "core/broken.py").is_file()
    state = byte_code_state(sys.executable, folder)
    assert state.pop(str(folder / "core/broken.py")).startswith("missing")
    assert set(state.values()) == {"valid"}
    assert [n for n in res.notes if "did not byte-compile" in n]


def test_an_interpreter_that_cannot_run_is_not_fatal(tmp_path):
    res, folder = install(tmp_path, str(tmp_path / "no-such-python"))
    assert (folder / "core/geometry.py").is_file() and not list(folder.rglob("*.pyc"))
    assert [n for n in res.notes if "byte code not written" in n]


# ----------------------------------------------------------------------------- which Python


def test_host_python_program_is_a_linux_package_python_only(tmp_path):
    lib = tmp_path / "usr/lib"
    mk(lib / "x86_64-linux-gnu/kritaplugins/kritapykrita.so", b"\0ELF..libpython3.12.so.1.0\0")
    mk(lib / "gimp/3.0/interpreters/pygimp.interp", b"python=/opt/py/bin/python3\n")
    krita_python = str(tmp_path / "usr/bin/python3.12")
    versions = {"/opt/py/bin/python3": "3.13", krita_python: "3.12"}
    ctx = ctx_for(tmp_path, "Linux", which={"krita"}, lib_dirs=[lib], versions=versions)
    (ctx.home / ".config/GIMP/3.0").mkdir(parents=True)
    (ctx.home / "snap/gimp/current/.config/GIMP/3.0").mkdir(parents=True)
    (ctx.home / ".var/app/org.kde.krita").mkdir(parents=True)
    found = {
        (t.host, t.kind): hosts.host_python_program(ctx, t) for t in hosts.discover(ctx, "all")
    }
    assert found == {
        ("krita", "Linux package"): krita_python,  # the python3.12 beside its libpython
        ("krita", "Flatpak"): None,
        ("gimp", "Linux package"): "/opt/py/bin/python3",  # what pygimp.interp names
        ("gimp", "Snap"): None,
    }
    versions[krita_python] = "3.11"  # not the version Krita links: not its Python
    [krita] = [t for t in hosts.discover(ctx, "krita") if t.kind == "Linux package"]
    assert hosts.host_python_program(ctx, krita) is None
    windows = ctx_for(tmp_path, "Windows", versions=versions)
    assert all(
        hosts.host_python_program(windows, t) is None for t in hosts.discover(windows, "all")
    )


def test_select_targets_keeps_the_program_unless_the_python_is_overridden(tmp_path):
    lib = tmp_path / "usr/lib"
    mk(lib / "gimp/3.0/interpreters/pygimp.interp", b"python=/opt/py/bin/python3\n")
    ctx = ctx_for(tmp_path, "Linux", lib_dirs=[lib], versions={"/opt/py/bin/python3": "3.13"})
    (ctx.home / ".config/GIMP/3.0").mkdir(parents=True)
    [t] = cli.select_targets(cli.parse_args(["--host", "gimp"]), ctx)
    assert t.python_exe == "/opt/py/bin/python3"
    for extra in (["--python-version", "3.13"], ["--platform", "manylinux_2_28_x86_64"]):
        [t] = cli.select_targets(cli.parse_args(["--host", "gimp", *extra]), ctx)
        assert t.python_exe is None, extra
