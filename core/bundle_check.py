"""Does this release bundle fit the host that loads it? Stdlib only, imported before anything else.

Why: a release zip (tools/build_release.py) carries compiled packages (Pillow, pydantic-core,
numpy) in ``vendor/`` built for one Python version on one platform. Loaded by another host build
they fail with an ImportError deep inside a package, which tells an artist nothing. The builder
writes ``bundle.json`` beside ``vendor/``; the plug-ins call :func:`refusal` at load time and,
on a mismatch, show a message that names the zip that does fit, or, for a host build no zip
can serve (``no_zip``: GIMP's MSYS2 Python on Windows), why and what to use instead.

A plug-in installed by install.py has no ``bundle.json`` (its vendor/ was made for the host it was
installed into), so :func:`refusal` returns None there.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import platform
import re
import sys

BUNDLE_FILE = "bundle.json"
FORMAT = 1

#: platform id (the ``<platform>`` in a zip's name) -> words for people
PLATFORM_LABELS = {
    "windows-x64": "Windows x64",
    "windows-arm64": "Windows on ARM",
    "macos-arm64": "macOS on Apple silicon",
    "macos-x86_64": "macOS on Intel",
    "linux-x86_64": "Linux x86_64",
    "linux-aarch64": "Linux ARM64",
}

#: how a person installs a zip into each host (shown when the wrong one was installed)
HOW_TO_INSTALL = {
    "krita": "in Krita: Tools → Scripts → Import Python Plugin from File…, then restart Krita",
    "gimp": (
        "unzip it into GIMP's plug-ins folder (Edit → Preferences → Folders → Plug-ins), "
        "replacing the gpt-image folder, then restart GIMP"
    ),
}
HOST_NAMES = {"krita": "Krita", "gimp": "GIMP"}


def platform_id(system: str | None = None, machine: str | None = None) -> str:
    """This process's platform as a zip names it: the running interpreter's, not the OS's
    (an Intel Krita on Apple silicon runs under Rosetta and needs x86_64 packages)."""
    system = system if system is not None else sys.platform
    machine = (machine if machine is not None else platform.machine()).lower()
    arm = machine in ("arm64", "aarch64", "armv8", "armv8l")
    if system.startswith("win"):
        return "windows-arm64" if arm else "windows-x64"
    if system == "darwin":
        return "macos-arm64" if arm else "macos-x86_64"
    return f"{'linux' if system.startswith('linux') else system}-{'aarch64' if arm else machine}"


def python_id() -> str:
    return "{}.{}".format(*sys.version_info[:2])


def glibc_version() -> tuple[int, int] | None:
    """(major, minor) of the C library this process runs on, or None (musl, not Linux)."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return None
    m = re.match(r"glibc (\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def read_bundle(plugin_dir: str) -> dict | None:
    """The bundle description beside vendor/, None when there is none; ValueError if damaged."""
    path = os.path.join(plugin_dir, BUNDLE_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read ({exc})") from exc
    required = ("host", "zip", "platform", "python")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in required):
        raise ValueError(f"{path} does not describe a bundle")
    return data


def _label(platform_name: str) -> str:
    return PLATFORM_LABELS.get(platform_name, platform_name)


def _glibc_text(version: tuple[int, int] | None) -> str:
    return "no glibc" if version is None else "glibc {}.{}".format(*version)


def problems(
    bundle: dict,
    *,
    here_platform: str | None = None,
    here_python: str | None = None,
    here_glibc: tuple[int, int] | str | None = "detect",
    here_suffixes: list[str] | None = None,
) -> list[str]:
    """Why ``bundle`` cannot run in this process (empty when it can). Arguments fake the host."""
    here_platform = here_platform or platform_id()
    here_python = here_python or python_id()
    found = []
    if bundle["platform"] != here_platform:
        found.append(f"it is built for {_label(bundle['platform'])}, not {_label(here_platform)}")
    if bundle["python"] != here_python:
        found.append(f"it is built for Python {bundle['python']}, not Python {here_python}")
    if found:
        return found
    need = bundle.get("min_glibc")
    if need and here_platform.startswith("linux"):
        have = glibc_version() if here_glibc == "detect" else here_glibc
        wanted = tuple(int(x) for x in str(need).split("."))
        if have is None or have < wanted:
            found.append(f"it needs glibc {need} or newer, this system has {_glibc_text(have)}")
    suffixes = (
        here_suffixes if here_suffixes is not None else importlib.machinery.EXTENSION_SUFFIXES
    )
    foreign = [s for s in bundle.get("extension_suffixes", []) if s not in suffixes]
    if foreign:
        found.append(
            f"this Python ({sys.version.split()[0]}, {sys.platform}) cannot load its compiled "
            f"packages: they are {', '.join(foreign)} files and it loads only "
            f"{', '.join(suffixes)} (a Python built differently from python.org's)"
        )
    return found


def _right_bundle(bundle: dict, here_platform: str, here_python: str) -> dict | None:
    for other in bundle.get("bundles", []):
        if (
            isinstance(other, dict)
            and other.get("platform") == here_platform
            and other.get("python") == here_python
            and other.get("zip") != bundle["zip"]
        ):
            return other
    return None


_PYD_TAG = re.compile(r"^\.cp\d+[a-z]*-(.+)\.pyd$")


def _pyd_tags(suffixes: object) -> set[str]:
    """Windows platform tags in a list of extension suffixes (win_amd64, mingw_x86_64_ucrt_llvm)."""
    items = suffixes if isinstance(suffixes, list) else []
    return {m.group(1) for s in items if isinstance(s, str) and (m := _PYD_TAG.match(s))}


def _no_zip_for_here(
    bundle: dict, here_platform: str, here_python: str, here_suffixes: list[str]
) -> dict | None:
    """The bundle's record of a host build no zip can be made for, if this host is one: the same
    platform and Python, else a Python of the same non-python.org kind (an MSYS2 build's
    suffixes; then the newest such record)."""
    here_tags = _pyd_tags(here_suffixes)
    if here_tags & {"win_amd64", "win32", "win_arm64"}:
        return None  # a python.org-built Python: PyPI's wheels fit it
    same_os = [
        e
        for e in bundle.get("no_zip", [])
        if isinstance(e, dict) and e.get("platform") == here_platform
    ]
    exact = [e for e in same_os if e.get("python") == here_python]
    kind = [e for e in same_os if here_tags & _pyd_tags(e.get("extension_suffixes"))]
    return exact[0] if exact else (kind[-1] if kind else None)


def refusal(plugin_dir: str, **fake: object) -> str | None:
    """A message for a person when the bundle in ``plugin_dir`` does not fit this host, else None.

    ``fake`` passes ``here_*`` values to :func:`problems` (tests of other platforms).
    """
    try:
        bundle = read_bundle(plugin_dir)
    except ValueError as exc:
        return (
            f"GPT Image cannot start: its bundle is damaged: {exc}. Download the release zip "
            "again and install it once more."
        )
    if bundle is None:
        return None
    found = problems(bundle, **fake)  # type: ignore[arg-type]
    if not found:
        return None
    host = str(bundle["host"])
    name = HOST_NAMES.get(host, host)
    here_platform = str(fake.get("here_platform") or platform_id())
    here_python = str(fake.get("here_python") or python_id())
    text = (
        f"GPT Image cannot start: the installed bundle {bundle['zip']} does not fit this {name} "
        f"(Python {here_python} on {_label(here_platform)}): {'; '.join(found)}. "
    )
    right = _right_bundle(bundle, here_platform, here_python)
    suffixes = fake.get("here_suffixes")
    here_suffixes = (
        suffixes if isinstance(suffixes, list) else importlib.machinery.EXTENSION_SUFFIXES
    )
    no_zip = _no_zip_for_here(bundle, here_platform, here_python, here_suffixes)
    if no_zip is not None:
        builds = ", ".join(str(b) for b in no_zip.get("for_hosts", [])) or f"this {name}"
        text += f"No release zip can work in {builds}: {no_zip.get('why')}. "
        text += str(no_zip.get("instead") or "") + "."
    elif right is not None:
        text += f"Install {right['zip']} instead ({HOW_TO_INSTALL.get(host, 'then restart')})."
    else:
        text += (
            f"No release zip is built for this {name}. Install from the source instead: "
            f"`python3 install.py --host {host}` fetches packages built for this {name}'s own "
            "Python."
        )
    return text
