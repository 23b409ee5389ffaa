"""The real hosts the suite runs in, where each comes from, and how a program runs inside one.

One table (``HOSTS``) owns the facts: which Krita and GIMP versions are tested, on which Debian
suite, built by which set-up script. ``kritarun``, ``gimp_harness``, the background runner in
``conftest.py`` and README's host table all follow it.

Chroot runs go through ``chroot_command``: ``unshare`` gives each run its own mount namespace, so
proc, devpts and /dev/shm are mounted for that run only and vanish with it. Two runs in one
chroot (Krita 5.3 and GIMP 3.2 share forky's) can then overlap without one unmounting what the
other still uses, and a killed run leaves no mount behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.wheelhouse import hostcache_root  # noqa: E402

try:
    import fcntl
except ImportError:  # pragma: no cover - the host suites need Linux anyway
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class TestHost:
    """One host version under test. ``suite`` "bookworm" is this machine itself (no chroot)."""

    __test__ = False  # not a pytest class

    id: str  # "krita5.3": what GPT_IMAGE_HOSTS and -k select
    app: str  # "krita" | "gimp"
    series: str  # "5.3": the version the packaged host must start with
    suite: str  # the Debian suite it comes from
    setup: tuple[str, ...]  # the set-up script (relative to tests/hosts) and its arguments


HOSTS: tuple[TestHost, ...] = (
    TestHost("krita5.1", "krita", "5.1", "bookworm", ("krita/setup.sh",)),
    TestHost("krita5.2", "krita", "5.2", "trixie", ("krita/setup_trixie.sh",)),
    TestHost("krita5.3", "krita", "5.3", "forky", ("debian.sh", "forky")),
    TestHost("krita6.0", "krita", "6.0", "experimental", ("debian.sh", "experimental")),
    TestHost("gimp3.0", "gimp", "3.0", "trixie", ("gimp/setup.sh",)),
    TestHost("gimp3.2", "gimp", "3.2", "forky", ("debian.sh", "forky")),
)


def selected(app: str) -> list[TestHost]:
    """The hosts of ``app`` this run tests: all, or those ``GPT_IMAGE_HOSTS`` names.

    ``GPT_IMAGE_HOSTS=krita5.3,gimp3.2`` (ids), ``=krita`` (an app) or ``=none``; the older
    ``KRITA_TRIXIE=0`` still leaves out Krita 5.2.
    """
    wanted = [w.strip() for w in os.environ.get("GPT_IMAGE_HOSTS", "").split(",") if w.strip()]
    hosts = [h for h in HOSTS if h.app == app]
    if wanted:
        hosts = [h for h in hosts if h.id in wanted or h.app in wanted]
    if os.environ.get("KRITA_TRIXIE") == "0":
        hosts = [h for h in hosts if h.id != "krita5.2"]
    return hosts


def by_id(host_id: str) -> TestHost:
    for host in HOSTS:
        if host.id == host_id:
            return host
    raise KeyError(f"no test host {host_id!r}; known: {', '.join(h.id for h in HOSTS)}")


# --- set-up: once per process, one at a time per script --------------------------------------

_setup_lock = threading.Lock()
_setup_done: dict[tuple[str, ...], str] = {}


@contextlib.contextmanager
def file_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared with every process on this machine (flock on the host cache)."""
    root = hostcache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_setup(host: TestHost) -> str:
    """Run the host's set-up script (cheap when cached) and return its last output line.

    Scripts that share a resource (the host's apt, one chroot) never run at once: a process-wide
    lock plus a machine-wide one, and each script runs at most once per test session.
    """
    key = host.setup
    with _setup_lock:
        if key in _setup_done:
            return _setup_done[key]
    with file_lock("setup-" + "-".join(key).replace("/", "_")):
        with _setup_lock:
            if key in _setup_done:
                return _setup_done[key]
        proc = subprocess.run(
            ["bash", str(HERE / key[0]), *key[1:]],
            capture_output=True,
            text=True,
            check=False,
            timeout=2400,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(key)} failed ({proc.returncode}):\n"
                f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
            )
        last = proc.stdout.strip().splitlines()[-1]
        with _setup_lock:
            _setup_done[key] = last
        return last


def chroot_python(root: Path) -> str:
    """X.Y of the chroot's /usr/bin/python3 (the Python its Krita and GIMP embed)."""
    proc = subprocess.run(
        ["chroot", str(root), "/usr/bin/python3", "-c",
         "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


def packaged_version(package: str, root: Path | None = None) -> str:
    """A Debian package's upstream version ("5.3.4.1" from "1:5.3.4.1+dfsg-1+b1"), or ""."""
    cmd = ["dpkg-query", "-W", "-f", "${Version}", package]
    if root is not None:
        cmd = ["chroot", str(root), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.stdout.split(":")[-1].split("-")[0].split("+")[0].split("~")[0]


# --- running inside a chroot ---------------------------------------------------------------------

_MOUNT_SCRIPT = (
    'r=$1; shift; mkdir -p "$r/proc" "$r/dev/pts" "$r/dev/shm" && '
    'mount -t proc proc "$r/proc" && '
    'mount -t devpts devpts "$r/dev/pts" -o newinstance,ptmxmode=0666 && '
    'mount -t tmpfs shm "$r/dev/shm" -o mode=1777,size=512m && '
    'exec chroot "$r" "$@"'
)


def chroot_command(root: Path, env: dict[str, str], argv: list[str]) -> list[str]:
    """``argv`` inside ``root`` with exactly ``env``, in a mount namespace of its own."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    return [
        unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _MOUNT_SCRIPT,
        "sh", str(root), "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv,
    ]  # fmt: skip


# --- X displays ----------------------------------------------------------------------------------

_display_lock = threading.Lock()
_displays_given: set[int] = set()


def _displays_in_use() -> set[int]:
    """X displays with a listening socket anywhere on this machine, chroots included.

    ``xvfb-run -a`` only looks at lock files in its own /tmp, which a chroot does not share; the
    abstract sockets in /proc/net/unix are shared by all of them.
    """
    used = set()
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        name = line.rsplit(" ", 1)[-1]
        if "/.X11-unix/X" in name:
            with contextlib.suppress(ValueError):
                used.add(int(name.rsplit("X", 1)[-1]))
    for lock in Path("/tmp").glob(".X*-lock"):
        with contextlib.suppress(ValueError):
            used.add(int(lock.name[2:-5]))
    return used


def free_display() -> int:
    """An X display number no other Xvfb here uses (nor one this process handed out)."""
    with _display_lock:
        used = _displays_in_use() | _displays_given
        start = random.randrange(200, 900)
        for offset in range(700):
            number = 200 + (start - 200 + offset) % 700
            if number not in used:
                _displays_given.add(number)
                return number
    raise RuntimeError("no free X display number")


def xvfb_run(screen: str, error_file: str = "/dev/null", auth_file: str | None = None) -> list[str]:
    """``xvfb-run`` on a display of its own (see ``free_display``); Xvfb's own messages go to
    ``error_file``, its X cookie to ``auth_file`` (paths as the program run sees them).

    An explicit ``auth_file`` keeps the cookie out of ``$TMPDIR``, where xvfb-run would put it
    by default: a program that cleans its temporary folder while starting then cannot lock
    itself out of its own display.

    ``-noreset``: Krita opens a throw-away QApplication to probe OpenGL before its real one. When
    that first client disconnects, a resetting Xvfb closes its connections and rebuilds its
    state, and the real QApplication, connecting meanwhile, gets "could not connect to display"
    (every start on a slow machine, sometimes on a loaded one). ``-ac``: no client is turned
    away for its cookie (a private test display; the cookie stays as xvfb-run writes it).
    """
    cmd = ["xvfb-run", "-n", str(free_display()), "-e", error_file]
    if auth_file is not None:
        cmd += ["-f", auth_file]
    return [*cmd, "-s", f"-screen 0 {screen} -noreset -ac"]


#: Lines Xvfb prints on every start that say nothing about a failure (xkbcomp's keymap warnings).
_XVFB_NOISE = ("Warning:", "Using ", "Errors from xkbcomp", "The XKEYBOARD keymap compiler", ">")


def quiet_xvfb_log(text: str) -> str:
    """An Xvfb log without its keymap-compiler chatter, so a failure report shows the cause."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith(_XVFB_NOISE)]
    return "\n".join(kept)


#: Prefixed to a program run under ``xvfb_run``: one line on stderr with what the program sees
#: of its display (socket, cookie entry), so a "could not connect to display" report has a cause.
DISPLAY_PROBE = (
    'echo "[display] DISPLAY=$DISPLAY socket=$(ls /tmp/.X11-unix 2>&1 | tr "\\n" " ")'
    ' cookies=$(xauth -f "$XAUTHORITY" list 2>&1 | cut -d" " -f1-2 | tr "\\n" " ")" >&2; '
    'exec "$@"'
)


def probed(argv: list[str]) -> list[str]:
    """``argv`` run after ``DISPLAY_PROBE`` (inside xvfb-run, before the program itself)."""
    return ["/bin/sh", "-c", DISPLAY_PROBE, "sh", *argv]


def lost_display(stderr: str) -> bool:
    """The program could not reach its Xvfb (a start-up race of X, not of the program tested)."""
    return "could not connect to display" in stderr


# --- set-up of every selected host at once (tools/setup.sh) --------------------------------------


def setup_all(jobs: int = 2) -> int:
    """Run the set-up of every host ``selected`` picks, ``jobs`` scripts at a time.

    Each distinct script runs once (Krita 5.3 and GIMP 3.2 share forky's); a failure is printed
    with the script's output and makes the exit status 1.
    """
    from concurrent.futures import ThreadPoolExecutor

    hosts = [*selected("krita"), *selected("gimp")]
    unique = list({h.setup: h for h in hosts}.values())
    failed = 0

    def one(host: TestHost) -> tuple[TestHost, str | None]:
        try:
            return host, run_setup(host)
        except Exception as exc:  # reported below, the other set-ups go on
            return host, f"FAILED: {exc}"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for host, outcome in pool.map(one, unique):
            names = ", ".join(h.id for h in hosts if h.setup == host.setup)
            if outcome is None or outcome.startswith("FAILED: "):
                failed += 1
            print(f"[hosts] {names}: {outcome}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Set up the real test hosts (see HOSTS).")
    parser.add_argument("command", choices=("setup", "list"))
    parser.add_argument("--jobs", type=int, default=2, help="set-up scripts at once")
    cli = parser.parse_args()
    if cli.command == "list":
        for h in HOSTS:
            mark = "*" if h in selected(h.app) else " "
            print(f"{mark} {h.id:9} {h.app:6} {h.series:4} {h.suite:13} {' '.join(h.setup)}")
        sys.exit(0)
    sys.exit(setup_all(cli.jobs))
