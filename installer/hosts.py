"""Find Krita and GIMP 3 profiles and the Python each host build embeds.

Every function takes a ``Context`` (OS name, environment, home folder, ``which``, system folders)
instead of reading the machine directly, so the Windows and macOS rules are tested on Linux.

The host Python table (what is detected, what is assumed) is at the top of install.py.
"""

from __future__ import annotations

import os
import platform
import plistlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

KRITA_FLATPAK = "org.kde.krita"
GIMP_FLATPAK = "org.gimp.GIMP"
KRITA_DEFAULT_PY = "3.10"
GIMP_DEFAULT_PY = "3.12"
#: What the Windows GIMP installer bundles when its files cannot be inspected: GIMP 3.0 Python
#: 3.12, GIMP 3.2 Python 3.14. (macOS bundles are inspected, else GIMP_DEFAULT_PY is assumed.)
GIMP_WINDOWS_PY = {"3.0": "3.12", "3.2": "3.14"}
#: The end of a GIMP target's ``python_source`` when its interpreter was found and ran.
GIMP_INTERPRETER = "(GIMP's Python interpreter)"
#: In a Krita target's ``python_source`` when a distribution package's Krita links libpython.
KRITA_LINKED = " linked by "


@dataclass
class Context:
    """What discovery may look at; ``Context.current()`` is the real machine."""

    system: str
    env: Mapping[str, str]
    home: Path
    which: Callable[[str], str | None] = shutil.which
    lib_dirs: tuple[Path, ...] = (Path("/usr/lib"), Path("/usr/lib64"), Path("/usr/local/lib"))
    run_python: Callable[[str], str | None] | None = None
    #: where macOS apps live (krita.app, GIMP.app)
    mac_apps: Path = Path("/Applications")
    #: where AppImages are kept besides the home folder's usual places (see ``krita_appimages``)
    system_app_dirs: tuple[Path, ...] = (Path("/opt"),)

    @classmethod
    def current(cls) -> Context:
        return cls(system=platform.system(), env=dict(os.environ), home=Path.home())

    def python_version_of(self, exe: str) -> str | None:
        """X.Y of the interpreter ``exe`` (the host's own, e.g. /usr/bin/python3), or None."""
        if self.run_python is not None:
            return self.run_python(exe)
        try:
            out = subprocess.run(
                [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        text = out.stdout.strip()
        return text if out.returncode == 0 and re.fullmatch(r"3\.\d+", text) else None


@dataclass
class Target:
    """One host installation to install into."""

    host: str  # "krita" | "gimp"
    kind: str  # e.g. "Linux package", "Flatpak", "Windows", "--krita-dir"
    profile: Path  # Krita resources folder (holds pykrita/) or GIMP profile (holds plug-ins/)
    python_version: str
    python_source: str  # why this version: shown in the report
    kritarc: Path | None = None
    platforms: list[str] = field(default_factory=list)
    #: The host's own Python as a program install.py can run (``host_python_program``), which
    #: byte-compiles the installed files; None where it can't be run from here.
    python_exe: str | None = None

    @property
    def label(self) -> str:
        if self.host == "krita":
            name = "Krita"
        else:
            version = self.profile.name
            name = f"GIMP {version}" if _GIMP_VERSION_DIR.match(version) else "GIMP 3"
        return f"{name} ({self.kind})"


# ----------------------------------------------------------------------------- inspection helpers


def _version_from_names(names: list[str]) -> str | None:
    """3.X from names like python3.12, libpython3.11.so.1.0, python310.dll."""
    found = []
    for name in names:
        m = re.match(r"^(?:lib)?python3\.(\d+)(?:$|[^0-9])", name) or re.match(
            r"^python3(\d{1,2})\.dll$", name, re.I
        )
        if m:
            found.append(int(m.group(1)))
    return f"3.{max(found)}" if found else None


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _python_in_dirs(dirs: list[Path]) -> tuple[str, Path] | None:
    for d in dirs:
        v = _version_from_names(_listdir(d))
        if v:
            return v, d
    return None


def _framework_python(versions: Path) -> tuple[str, Path] | None:
    """3.X from a macOS Python.framework/Versions folder (its entries are named "3.X")."""
    found = [int(m.group(1)) for n in _listdir(versions) if (m := re.match(r"^3\.(\d+)$", n))]
    return (f"3.{max(found)}", versions) if found else None


def _libpython_in_binary(path: Path) -> str | None:
    """The libpython3.X a shared library links, read from its bytes (no ldd needed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    m = re.findall(rb"libpython3\.(\d+)", data)
    return f"3.{max(int(x) for x in m)}" if m else None


def _flatpak_dirs(ctx: Context) -> list[Path]:
    # flatpak itself honours these two variables.
    user = ctx.env.get("FLATPAK_USER_DIR") or str(ctx.home / ".local/share/flatpak")
    system = ctx.env.get("FLATPAK_SYSTEM_DIR") or "/var/lib/flatpak"
    return [Path(user), Path(system)]


def flatpak_installed(ctx: Context, app_id: str) -> bool:
    return any((d / "app" / app_id).is_dir() for d in _flatpak_dirs(ctx))


def _flatpak_python(ctx: Context, app_id: str) -> tuple[str, str] | None:
    """Python version inside a Flatpak app (bundled) or its runtime, with where it was seen."""
    for base in _flatpak_dirs(ctx):
        active = base / "app" / app_id / "current" / "active"
        hit = _python_in_dirs([active / "files" / "lib", active / "files" / "lib64"])
        if hit:
            return hit[0], f"found {hit[1]}"
        try:
            meta = (active / "metadata").read_text(errors="replace")
        except OSError:
            continue
        m = re.search(r"^runtime=([^/\s]+)/([^/\s]+)/(\S+)$", meta, re.M)
        if not m:
            continue
        for rbase in _flatpak_dirs(ctx):
            files = rbase / "runtime" / m.group(1) / m.group(2) / m.group(3) / "active" / "files"
            hit = _python_in_dirs([files / "lib", files / "lib64"])
            if hit:
                return hit[0], f"runtime {m.group(1)}//{m.group(3)}"
    return None


def _xdg(ctx: Context, var: str, default: str) -> Path:
    value = ctx.env.get(var)
    return Path(value) if value else ctx.home / default


def _program_files(ctx: Context) -> list[Path]:
    names = ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)", "LOCALAPPDATA")
    out = []
    for n in names:
        if ctx.env.get(n):
            out.append(Path(ctx.env[n]) / "Programs" if n == "LOCALAPPDATA" else Path(ctx.env[n]))
    return out or [Path("C:/Program Files")]


# ----------------------------------------------------------------------------- Krita


def _krita_linux_python(ctx: Context) -> tuple[str, str]:
    for lib in ctx.lib_dirs:
        candidates = [lib / "kritaplugins" / "kritapykrita.so"]
        candidates += [Path(p) / "kritaplugins" / "kritapykrita.so" for p in _subdirs(lib)]
        for so in candidates:
            if so.is_file():
                v = _libpython_in_binary(so)
                if v:
                    return v, f"libpython{v}{KRITA_LINKED}{so}"
    for image in krita_appimages(ctx):
        v = appimage_python(image)
        if v:
            return v, f"libpython{v} inside {image}"
    return KRITA_DEFAULT_PY, "assumed: Krita 5.2 AppImage/bundle Python (no distro Krita found)"


APPIMAGE_HOME_DIRS = ("Applications", "AppImages", "Downloads", "Desktop", ".local/bin", "bin")
_APPIMAGE_MAGIC = b"AI\x02"  # bytes 8-10 of a type-2 AppImage


def _is_appimage(path: Path) -> bool:
    if path.name.lower().endswith(".appimage"):
        return path.is_file()
    try:
        with open(path, "rb") as file:
            head = file.read(11)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[8:11] == _APPIMAGE_MAGIC


def krita_appimages(ctx: Context) -> list[Path]:
    """Krita AppImages on this machine, the one ``krita`` runs first, then newest first.

    Looked for where people keep them: ~/Applications (AppImageLauncher), ~/AppImages,
    ~/Downloads, ~/Desktop, ~/.local/bin, ~/bin and /opt (one level down too).
    """
    found: list[Path] = []
    exe = ctx.which("krita")
    if exe and _is_appimage(Path(exe).resolve()):
        found.append(Path(exe).resolve())
    dirs = [ctx.home / d for d in APPIMAGE_HOME_DIRS]
    for top in ctx.system_app_dirs:
        dirs += [top, *_subdirs(top)]
    named = [
        d / name
        for d in dirs
        for name in _listdir(d)
        if name.lower().startswith("krita") and name.lower().endswith(".appimage")
    ]
    named.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
    found += [p for p in named if p.is_file() and p not in found]
    return found


def appimage_python(image: Path, timeout_s: float = 120) -> str | None:
    """3.X of the libpython inside an AppImage, or None.

    The AppImage runtime itself extracts just ``usr/lib/libpython3*`` (a few MB) into a
    temporary folder: no FUSE, no squashfs reader here, and Krita is never started.
    """
    with tempfile.TemporaryDirectory(prefix="gpt-image-appimage-") as folder:
        try:
            subprocess.run(
                [str(image), "--appimage-extract", "usr/lib/libpython3*"],
                cwd=folder,
                capture_output=True,
                timeout=timeout_s,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return _version_from_names(_listdir(Path(folder) / "squashfs-root" / "usr" / "lib"))


def _subdirs(path: Path) -> list[Path]:
    return [path / n for n in _listdir(path) if (path / n).is_dir()]


def krita_candidates(ctx: Context) -> list[tuple[Target, bool]]:
    """Every place a Krita profile may be, each with whether Krita looks present there."""
    out: list[tuple[Target, bool]] = []
    if ctx.system == "Windows":
        appdata = Path(ctx.env.get("APPDATA") or ctx.home / "AppData/Roaming")
        local = Path(ctx.env.get("LOCALAPPDATA") or ctx.home / "AppData/Local")
        installs = [p / "Krita (x64)" for p in _program_files(ctx)]
        hit = _python_in_dirs([d / "bin" for d in installs] + [d / "lib" for d in installs])
        py = (hit[0], f"found in {hit[1]}") if hit else (KRITA_DEFAULT_PY, "assumed: Krita 5.2")
        present = (appdata / "krita").is_dir() or any(d.is_dir() for d in installs)
        t = Target("krita", "Windows", appdata / "krita", py[0], py[1], local / "kritarc")
        out.append((t, present))
    elif ctx.system == "Darwin":
        app = ctx.mac_apps / "krita.app" / "Contents"
        fw = app / "Frameworks" / "Python.framework" / "Versions"
        hit = _framework_python(fw) or _python_in_dirs([fw, app / "Frameworks", app / "lib"])
        py = (hit[0], f"found in {hit[1]}") if hit else (KRITA_DEFAULT_PY, "assumed: Krita 5.2")
        prof = ctx.home / "Library/Application Support/krita"
        rc = ctx.home / "Library/Preferences/kritarc"
        out.append(
            (Target("krita", "macOS", prof, py[0], py[1], rc), prof.is_dir() or app.is_dir())
        )
    else:
        prof = _xdg(ctx, "XDG_DATA_HOME", ".local/share") / "krita"
        rc = _xdg(ctx, "XDG_CONFIG_HOME", ".config") / "kritarc"
        present = prof.is_dir() or bool(ctx.which("krita")) or bool(krita_appimages(ctx))
        if present:
            v, why = _krita_linux_python(ctx)
        else:
            v, why = KRITA_DEFAULT_PY, "assumed"
        kind = "Linux package" if KRITA_LINKED in why else "Linux"
        out.append((Target("krita", kind, prof, v, why, rc), present))
        var = ctx.home / ".var/app" / KRITA_FLATPAK
        present = var.is_dir() or flatpak_installed(ctx, KRITA_FLATPAK)
        hit = _flatpak_python(ctx, KRITA_FLATPAK) if present else None
        v, why = hit or (KRITA_DEFAULT_PY, "assumed: Krita 5.2 Flatpak")
        t = Target("krita", "Flatpak", var / "data/krita", v, why, var / "config/kritarc")
        out.append((t, present))
    return out


# ----------------------------------------------------------------------------- GIMP

_GIMP_VERSION_DIR = re.compile(r"^3\.\d+$")


def _gimp_versions(config_gimp: Path) -> list[Path]:
    """Every GIMP/3.* profile folder under a GIMP config folder (3.0, 3.2, ...)."""
    names = sorted(n for n in _listdir(config_gimp) if _GIMP_VERSION_DIR.match(n))
    return [config_gimp / n for n in names if (config_gimp / n).is_dir()]


def _gimp_linux_python(ctx: Context) -> tuple[str, str]:
    """GIMP runs Python plug-ins with the interpreter named in pygimp.interp."""
    exe = _gimp_linux_interpreter(ctx)
    v = ctx.python_version_of(exe)
    if v:
        return v, f"{exe} {GIMP_INTERPRETER}"
    return "3.13", "assumed: Debian trixie GIMP 3.0"


def _gimp_linux_interpreter(ctx: Context) -> str:
    """The interpreter pygimp.interp names (``/usr/bin/python3`` when none says)."""
    interps = []
    for lib in ctx.lib_dirs:
        for base in [lib, *_subdirs(lib)]:
            interps += sorted((base / "gimp").glob("3.*/interpreters/*.interp"))
    exe = "/usr/bin/python3"
    for f in interps:
        try:
            m = re.search(r"^python3?=(\S+)$", f.read_text(errors="replace"), re.M)
        except OSError:
            continue
        if m:
            exe = m.group(1)
            break
    return exe


def gimp_candidates(ctx: Context) -> list[tuple[Target, bool]]:
    """Every GIMP 3 profile folder found (they exist once GIMP has run) or implied."""
    out: list[tuple[Target, bool]] = []
    override = ctx.env.get("GIMP3_DIRECTORY")
    if override:
        py = _gimp_native_python(ctx)
        out.append((Target("gimp", "GIMP3_DIRECTORY", Path(override), py[0], py[1]), True))
        return out
    if ctx.system == "Windows":
        appdata = Path(ctx.env.get("APPDATA") or ctx.home / "AppData/Roaming")
        for prof in _gimp_profiles(ctx, appdata / "GIMP"):
            py = _gimp_native_python(ctx, prof.name)
            out.append((Target("gimp", "Windows", prof, *py), True))
    elif ctx.system == "Darwin":
        base = ctx.home / "Library/Application Support/GIMP"
        for prof in _gimp_profiles(ctx, base):
            py = _gimp_native_python(ctx, prof.name)
            out.append((Target("gimp", "macOS", prof, *py), True))
    else:
        base = _xdg(ctx, "XDG_CONFIG_HOME", ".config") / "GIMP"
        for prof in _gimp_profiles(ctx, base):
            out.append((Target("gimp", "Linux package", prof, *_gimp_native_python(ctx)), True))
        fbase = ctx.home / ".var/app" / GIMP_FLATPAK / "config/GIMP"
        profiles = _gimp_versions(fbase)
        if not profiles and flatpak_installed(ctx, GIMP_FLATPAK):
            profiles = [fbase / "3.0"]
        for prof in profiles:
            hit = _flatpak_python(ctx, GIMP_FLATPAK)
            default = "3.12" if prof.name == "3.0" else "3.13"
            v, why = hit or (default, f"assumed: GIMP {prof.name} Flatpak runtime")
            out.append((Target("gimp", "Flatpak", prof, v, why), True))
        for prof in _gimp_versions(ctx.home / "snap/gimp/current/.config/GIMP"):
            hit = _python_in_dirs([Path("/snap/gimp/current/usr/lib")])
            v, why = (hit[0], f"found in {hit[1]}") if hit else ("3.12", "assumed: GIMP Snap")
            out.append((Target("gimp", "Snap", prof, v, why), True))
    return out


def _gimp_profiles(ctx: Context, base: Path) -> list[Path]:
    """Existing GIMP/3.* folders, or the folder an installed but never started GIMP will use."""
    found = _gimp_versions(base)
    if found:
        return found
    if ctx.system not in ("Windows", "Darwin"):
        for minor in range(0, 10):
            if ctx.which(f"gimp-3.{minor}") or ctx.which(f"gimp-console-3.{minor}"):
                return [base / f"3.{minor}"]
    elif ctx.system == "Windows":
        for p in _program_files(ctx):
            if (p / "GIMP 3").is_dir():
                return [base / _windows_gimp_series(p / "GIMP 3")]
    elif (ctx.mac_apps / "GIMP.app").is_dir():
        return [base / _mac_gimp_series(ctx.mac_apps / "GIMP.app")]
    return []


_SERIES_IN_NAME = re.compile(r"^gimp(?:-console)?-(3\.\d+)(?:\.exe)?$", re.I)


def _windows_gimp_series(install: Path) -> str:
    """3.X of a Windows GIMP install, from its bin/gimp-3.X.exe (3.0 when nothing says)."""
    found = [m.group(1) for n in _listdir(install / "bin") if (m := _SERIES_IN_NAME.match(n))]
    return max(found, key=lambda v: int(v.split(".")[1])) if found else "3.0"


def _mac_gimp_series(app: Path) -> str:
    """3.X of GIMP.app, from its Info.plist (3.0 when it cannot be read)."""
    try:
        with open(app / "Contents" / "Info.plist", "rb") as handle:
            info = plistlib.load(handle)
    except (OSError, ValueError, plistlib.InvalidFileException):
        return "3.0"
    m = re.match(r"^(3\.\d+)", str(info.get("CFBundleShortVersionString", "")))
    return m.group(1) if m else "3.0"


def _gimp_windows_default(series: str | None) -> tuple[str, str]:
    """The assumed Python of a Windows GIMP install of ``series`` ("3.0", "3.2", ...)."""
    if series in GIMP_WINDOWS_PY:
        return GIMP_WINDOWS_PY[series], f"assumed: GIMP {series} Windows installer"
    newest = max(GIMP_WINDOWS_PY, key=lambda v: int(v.split(".")[1]))
    if series and _GIMP_VERSION_DIR.match(series) and int(series.split(".")[1]) > 2:
        return GIMP_WINDOWS_PY[newest], f"assumed: as GIMP {newest} Windows installer"
    return GIMP_DEFAULT_PY, "assumed: GIMP 3"


def _gimp_native_python(ctx: Context, series: str | None = None) -> tuple[str, str]:
    """The Python a non-Flatpak GIMP runs plug-ins with; ``series`` is the profile's 3.X."""
    if ctx.system == "Windows":
        dirs = [p / "GIMP 3" / d for p in _program_files(ctx) for d in ("lib", "bin")]
        hit = _python_in_dirs(dirs)
        return (hit[0], f"found in {hit[1]}") if hit else _gimp_windows_default(series)
    if ctx.system == "Darwin":
        res = ctx.mac_apps / "GIMP.app" / "Contents"
        hit = _python_in_dirs([res / "Resources/lib", res / "Frameworks", res / "lib"])
        return (hit[0], f"found in {hit[1]}") if hit else (GIMP_DEFAULT_PY, "assumed: GIMP 3")
    return _gimp_linux_python(ctx)


# ----------------------------------------------------------------------------- selection


def discover(ctx: Context, host: str) -> list[Target]:
    """Targets for ``host`` ("krita", "gimp" or "all") that look present on this machine."""
    found: list[Target] = []
    if host in ("krita", "all"):
        found += [t for t, present in krita_candidates(ctx) if present]
    if host in ("gimp", "all"):
        found += [t for t, present in gimp_candidates(ctx) if present]
    return found


def explicit_krita(ctx: Context, profile: Path, kritarc: Path | None) -> Target:
    """A Target for --krita-dir: inherits kritarc and Python from a matching known layout."""
    for cand, _ in krita_candidates(ctx):
        if _same(cand.profile, profile):
            if kritarc:
                cand.kritarc = kritarc
            if cand.python_source == "assumed" and ctx.system == "Linux":
                cand.python_version, cand.python_source = _krita_linux_python(ctx)
            return cand
    native = krita_candidates(ctx)[0][0]
    v, why = native.python_version, native.python_source
    if why == "assumed" and ctx.system == "Linux":
        v, why = _krita_linux_python(ctx)
    return Target("krita", "--krita-dir", profile, v, why, kritarc or native.kritarc)


def explicit_gimp(ctx: Context, profile: Path) -> Target:
    """A Target for --gimp-dir (a GIMP profile folder, the one that holds plug-ins/)."""
    if f"/.var/app/{GIMP_FLATPAK}/" in profile.as_posix() + "/":
        hit = _flatpak_python(ctx, GIMP_FLATPAK)
        v, why = hit or ("3.12", "assumed: GIMP Flatpak runtime")
        return Target("gimp", "--gimp-dir (Flatpak)", profile, v, why)
    v, why = _gimp_native_python(ctx, profile.name)
    return Target("gimp", "--gimp-dir", profile, v, why)


def host_python_program(ctx: Context, target: Target) -> str | None:
    """The host's own Python as a program this machine runs, when its version is the
    target's: a Linux distribution package's system Python (GIMP: the interpreter pygimp.interp
    names; Krita: the python3.X of the libpython its kritapykrita.so links, the same build).
    None for the Pythons bundled inside an AppImage, a Flatpak, a Snap or the Windows and macOS
    installers (none can be run from here as the host runs it), and for a Python version given
    with --python-version (then what the host runs is not known)."""
    if ctx.system != "Linux":
        return None
    if target.host == "gimp" and target.python_source.endswith(GIMP_INTERPRETER):
        exe: str | None = _gimp_linux_interpreter(ctx)
    elif target.host == "krita" and KRITA_LINKED in target.python_source:
        bin_dir = _beside_library(ctx, Path(target.python_source.split(KRITA_LINKED, 1)[1]))
        exe = str(bin_dir / f"python{target.python_version}") if bin_dir else None
    else:
        return None
    if exe and ctx.python_version_of(exe) == target.python_version:
        return exe
    return None


def _beside_library(ctx: Context, library: Path) -> Path | None:
    """The bin/ folder of the prefix whose lib folder holds ``library`` (/usr/lib/… → /usr/bin)."""
    for lib in ctx.lib_dirs:
        if lib in library.parents:
            return lib.parent / "bin"
    return None


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))
    except OSError:
        return False


def describe_search(ctx: Context, host: str) -> dict[str, list[str]]:
    """Where discovery looked, for the "no host found" message."""
    looked: dict[str, list[str]] = {}
    if host in ("krita", "all"):
        looked["Krita"] = [str(t.profile) for t, _ in krita_candidates(ctx)]
    if host in ("gimp", "all"):
        if ctx.system == "Windows":
            base = Path(ctx.env.get("APPDATA") or ctx.home / "AppData/Roaming") / "GIMP"
            looked["GIMP 3"] = [str(base / "3.*")]
        elif ctx.system == "Darwin":
            looked["GIMP 3"] = [str(ctx.home / "Library/Application Support/GIMP/3.*")]
        else:
            looked["GIMP 3"] = [
                str(_xdg(ctx, "XDG_CONFIG_HOME", ".config") / "GIMP/3.*"),
                str(ctx.home / ".var/app" / GIMP_FLATPAK / "config/GIMP/3.*"),
                str(ctx.home / "snap/gimp/current/.config/GIMP/3.*"),
            ]
    return looked
