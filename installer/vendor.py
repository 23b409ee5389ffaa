"""Vendoring: pip-install the plug-ins' dependencies for a host's own Python into a folder.

Why pip with --target/--python-version/--platform: sandboxed and bundled hosts (Flatpak, the
Windows and macOS bundles, AppImage) have no pip and their Python is not the user's, so wheels are
chosen for the host's Python version and platform by whichever pip runs install.py.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import InstallError

# Newest manylinux first; a host whose glibc is older than a tag cannot load such wheels.
_MANYLINUX = [(2, 28), (2, 27), (2, 26), (2, 24), (2, 17)]


def _glibc() -> tuple | None:
    try:
        name = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return None
    m = re.match(r"glibc (\d+)\.(\d+)", name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _arch(machine: str) -> str:
    machine = machine.lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def default_platforms(
    system: str | None = None, machine: str | None = None, glibc: tuple | None = None
) -> list[str]:
    """pip --platform tags for hosts on this machine (the hosts share its OS and CPU).

    Linux: manylinux_2_28 down to manylinux2014, capped at this machine's glibc (Flatpak
    runtimes carry a newer glibc than any of these) or at ``glibc`` (release zips for other
    machines). pip itself widens manylinux2014 to manylinux2010/1 and a macosx tag to all
    older macOS versions and universal2.
    """
    system = system or platform.system()
    machine = machine or platform.machine()
    if system == "Windows":
        return ["win_arm64"] if machine.lower() in ("arm64", "aarch64") else ["win_amd64"]
    if system == "Darwin":
        arch = "arm64" if machine.lower() in ("arm64", "aarch64") else "x86_64"
        return [f"macosx_11_0_{arch}"]
    arch = _arch(machine)
    libc = glibc or (_glibc() if system == platform.system() else None)
    tags = []
    for major, minor in _MANYLINUX:
        if libc is None or (major, minor) <= libc:
            tags.append(f"manylinux_{major}_{minor}_{arch}")
    tags.append(f"manylinux2014_{arch}")
    return tags


def _target_options(python_version: str, platforms: list[str]) -> list[str]:
    opts = ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]
    for tag in platforms:
        opts += ["--platform", tag]
    # Not --quiet: pip tells why it could not reach the index (a certificate, no network) only
    # in its normal output, which is captured and read when it fails (see reach_failure).
    return [*opts, "--disable-pip-version-check", "--progress-bar", "off"]


def pip_commands(
    target: Path,
    requirements: Path,
    python_version: str,
    platforms: list[str],
    wheels: Path | None = None,
    download_dir: Path = Path("<tmp>/wheels"),
    downloaded: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """The two pip command lines (shown by --dry-run, run by vendor()).

    Why two steps: ``pip download`` resolves the requirements for the *host's* Python
    (Requires-Python included), while ``pip install --python-version`` checks Requires-Python
    against the Python running pip (pip <= 24 at least), e.g. it refuses numpy for a 3.13 host
    when run by 3.11. So resolve with download, then install exactly those wheels unchanged.
    Both run through ``_for_host`` so that environment markers see the host's Python too.
    """
    pip = [sys.executable, "-m", "pip"]
    download = [*pip, "download", "--dest", str(download_dir)]
    download += _target_options(python_version, platforms)
    if wheels is not None:
        download += ["--no-index", "--find-links", str(wheels)]
    download += ["-r", str(requirements)]
    install = [*pip, "install", "--target", str(target)]
    install += _target_options(python_version, platforms)
    install += ["--no-deps", "--no-index", "--find-links", str(download_dir)]
    install += [
        "--ignore-requires-python",
        "--no-compile",
        "--no-warn-script-location",
        "--upgrade",
    ]
    install += downloaded if downloaded is not None else ["<each downloaded name==version>"]
    return download, install


def _pip_env() -> dict:
    """The user's pip config must not turn --target into --user or demand a virtualenv."""
    env = dict(os.environ)
    env.update(PIP_USER="0", PIP_REQUIRE_VIRTUALENV="0", PIP_NO_INPUT="1")
    env.pop("PIP_TARGET", None)
    env.pop("PIP_PREFIX", None)
    return env


def check_pip() -> str:
    """pip's version string, or InstallError saying how to get pip."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "--version"],
            capture_output=True,
            text=True,
            env=_pip_env(),
            timeout=120,
        )
    except OSError as exc:
        out = None
        reason = str(exc)
    else:
        reason = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["unknown"]
        reason = reason[0]
    if out is not None and out.returncode == 0:
        return out.stdout.strip()
    raise InstallError(
        f"pip is not available for {sys.executable} ({reason}).",
        hint=(
            "install.py needs pip to fetch the dependencies for the host's Python. Install it "
            "(Debian/Ubuntu: 'sudo apt install python3-pip'; otherwise "
            f"'{Path(sys.executable).name} -m ensurepip --user'), or run install.py with a "
            "Python that has pip. --no-deps skips the dependencies (only if the host already "
            "has openai, pydantic, pillow and numpy)."
        ),
    )


_NO_MATCH = re.compile(
    r"(?:No matching distribution found for|"
    r"Could not find a version that satisfies the requirement)\s+([A-Za-z0-9_.\-]+)"
)


# Why pip could not reach the index, in the words pip (urllib3, ssl) uses; checked before "no
# matching distribution", which pip also prints when it never got an answer at all.
_REACH_FAILURES = (
    (
        re.compile(
            r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError|certificate verify failed"
            r"|problem confirming the ssl certificate",
            re.I,
        ),
        "the TLS certificate of {index} could not be verified",
        "A proxy or antivirus may be intercepting HTTPS: give pip its CA bundle (PIP_CERT=/path/to/ca.pem "
        "or 'pip config set global.cert ...'); verification is never turned off.",
    ),
    (
        re.compile(r"SSLError|SSL: |TLSV1_ALERT|WRONG_VERSION_NUMBER", re.I),
        "a TLS error while connecting to {index}",
        "Check a proxy or firewall that intercepts HTTPS (PIP_CERT, HTTPS_PROXY).",
    ),
    (
        re.compile(r"ProxyError|Cannot connect to proxy|407 Proxy Authentication", re.I),
        "the proxy refused or could not be reached on the way to {index}",
        "Check HTTPS_PROXY / pip's proxy setting.",
    ),
    (
        re.compile(
            r"Temporary failure in name resolution|Name or service not known|getaddrinfo failed"
            r"|nodename nor servname|No address associated with hostname|Failed to resolve",
            re.I,
        ),
        "no network: the name of {index} could not be resolved",
        "Check the internet connection (or use --wheels DIR with wheels fetched elsewhere).",
    ),
    (
        re.compile(
            r"Network is unreachable|Connection refused|No route to host"
            r"|Failed to establish a new connection|ConnectTimeoutError|timed out|ReadTimeoutError",
            re.I,
        ),
        "no network: {index} could not be reached",
        "Check the internet connection (or use --wheels DIR with wheels fetched elsewhere).",
    ),
    (
        re.compile(r"HTTP error (\d{3})|(\d{3}) Client Error|(\d{3}) Server Error", re.I),
        "{index} answered with an HTTP error",
        "Check pip's index URL (PIP_INDEX_URL) and try again later.",
    ),
)
_REACH_FAILURES_ANY = re.compile("|".join(p.pattern for p, _, _ in _REACH_FAILURES), re.I)
_INDEX_HOST = re.compile(
    r"(?:Could not fetch URL |Looking in indexes: |host=')(?:[a-z+]+://)?(?:[^@/\s]*@)?([\w.-]+)"
)


def reach_failure(output: str) -> tuple[str, str] | None:
    """(why pip could not reach its index, what to do), or None when it did reach it."""
    m = _INDEX_HOST.search(output)
    index = m.group(1) if m else "the package index"
    for pattern, why, hint in _REACH_FAILURES:
        if pattern.search(output):
            return why.format(index=index), hint
    return None


def _explain_failure(stderr: str, python_version: str, platforms: list[str], wheels) -> str:
    m = _NO_MATCH.search(stderr)
    tags = ", ".join(platforms)
    reach = None if wheels else reach_failure(stderr)
    if reach:
        detail = [ln.strip() for ln in stderr.splitlines() if _REACH_FAILURES_ANY.search(ln)]
        return f"pip could not download the dependencies: {reach[0]}" + (
            f"\n    pip: {detail[-1][:300]}" if detail else ""
        )
    if m:
        name = re.split(r"[<>=!~;\[ ]", m.group(1))[0]
        where = f"in {wheels}" if wheels else "on PyPI"
        return (
            f"no wheel of {name} for Python {python_version} on {tags} {where} "
            "(the host's Python cannot build packages itself, so a binary wheel is required)"
        )
    last = [ln for ln in stderr.strip().splitlines() if ln.strip()][-8:]
    return "pip failed:\n    " + "\n    ".join(last or ["(no output)"])


def vendor(
    target: Path,
    requirements: Path,
    python_version: str,
    platforms: list[str],
    wheels: Path | None = None,
) -> None:
    """Install the requirements into ``target`` (a fresh folder) for the given host Python."""
    with tempfile.TemporaryDirectory(prefix="gpt-image-wheels-") as tmp:
        download, _ = pip_commands(
            target, requirements, python_version, platforms, wheels, Path(tmp)
        )
        _run_pip(download, python_version, platforms, wheels)
        # Pinned names, not file paths: pip records a file path in direct_url.json, which
        # would leak a temporary path and make two identical installs differ.
        files = sorted(_pin(p.name) for p in Path(tmp).glob("*.whl"))
        if not files:
            raise InstallError(f"pip downloaded no wheels for {requirements}")
        _, install = pip_commands(
            target, requirements, python_version, platforms, wheels, Path(tmp), files
        )
        _run_pip(install, python_version, platforms, wheels)
    # Console scripts (openai, f2py, ...) carry this interpreter's shebang: useless to a host.
    shutil.rmtree(target / "bin", ignore_errors=True)


# pip evaluates environment markers (``exceptiongroup; python_version < "3.11"``) for the Python
# that runs pip, even with --python-version: a 3.11 installer would leave anyio without
# exceptiongroup on Krita's 3.10. This bootstrap makes pip's marker environment the host's.
_BOOTSTRAP = """\
import runpy, sys
v = sys.argv[1]
try:
    from pip._vendor.packaging import markers
    _default = markers.default_environment
    def _host_environment():
        env = _default()
        env.update(python_version=v, python_full_version=v + ".0",
                   implementation_version=v + ".0", implementation_name="cpython",
                   platform_python_implementation="CPython")
        return env
    markers.default_environment = _host_environment
except Exception as exc:
    sys.stderr.write("warning: markers are evaluated for this Python, not %s (%s)\\n" % (v, exc))
sys.argv = ["pip"] + sys.argv[2:]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def for_host(cmd: list[str], python_version: str) -> list[str]:
    """``[python, -m, pip, ...]`` rewritten to run pip with the host's marker environment."""
    assert cmd[1:3] == ["-m", "pip"], cmd
    return [cmd[0], "-c", _BOOTSTRAP, python_version, *cmd[3:]]


def _pin(wheel_filename: str) -> str:
    """``name==version`` from a wheel file name (PEP 427: name-version-...-tags.whl)."""
    name, version = wheel_filename.split("-")[:2]
    return f"{name}=={version}"


def _run_pip(cmd: list[str], python_version: str, platforms: list[str], wheels) -> None:
    try:
        proc = subprocess.run(
            for_host(cmd, python_version), capture_output=True, text=True, env=_pip_env()
        )
    except OSError as exc:
        raise InstallError(f"could not run pip: {exc}") from exc
    if proc.returncode != 0:
        output = proc.stderr + proc.stdout
        reach = None if wheels else reach_failure(output)
        hint = "Check the host's Python version (override with --python-version X.Y)"
        if reach:
            hint = reach[1]
        elif wheels:
            hint += f" and that {wheels} holds wheels for it (tools/wheelhouse.py builds one)."
        else:
            hint += " and your network connection to PyPI."
        raise InstallError(_explain_failure(output, python_version, platforms, wheels), hint=hint)
