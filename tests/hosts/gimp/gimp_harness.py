"""Drive a real GIMP 3 in its Debian chroot: install the plug-in, run the batch, collect.

Used by ``test_gimp_host.py``; also runnable by hand for debugging:

    python tests/hosts/gimp/gimp_harness.py [CASE,CASE...] [--host gimp3.2]  # prints the output folder

Steps: the host's set-up script (``testhosts.HOSTS``: GIMP 3.0.4 from trixie, 3.2.6 from forky)
builds or reuses the chroot; ``install.py`` installs the plug-in into a throw-away
``GIMP3_DIRECTORY`` profile inside the chroot (with a wheelhouse for the chroot's Python from
``tools/wheelhouse.py``); the stand-in runs on the host (the chroot shares the host's network, so
127.0.0.1 reaches it); the chroot's ``gimp-console-3.x`` runs ``batch_cases.py`` once for every
case, in a mount namespace of its own (``testhosts.chroot_command``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
import hostjobs  # noqa: E402
import testhosts  # noqa: E402

PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
TEST_KEY = "sk-test-gimp-DO-NOT-LEAK-0123456789abcdef"
GIMP_TIMEOUT_S = int(os.environ.get("GPTIMG_GIMP_TIMEOUT", "600"))


@dataclass(frozen=True)
class GimpHost:
    """One GIMP under test, in its chroot (see testhosts.HOSTS)."""

    id: str  # "gimp3.0", "gimp3.2"
    series: str  # "3.2"
    root: Path
    console: str  # "gimp-console-3.2"
    python: str  # the chroot's Python X.Y, which GIMP runs plug-ins with
    version: str  # the packaged GIMP version, "3.2.6"


#: The host run_gimp uses when none is given (the test module's current host, see its fixture).
DEFAULT_HOST = "gimp3.0"
_hosts: dict[str, GimpHost] = {}


def gimp_host(host_id: str | None = None) -> GimpHost:
    """Set up (or reuse) the chroot of ``host_id`` and describe its GIMP."""
    host_id = host_id or DEFAULT_HOST
    if host_id not in _hosts:
        test_host = testhosts.by_id(host_id)
        root = Path(testhosts.run_setup(test_host))
        _hosts[host_id] = GimpHost(
            host_id,
            test_host.series,
            root,
            console(root),
            testhosts.chroot_python(root),
            testhosts.packaged_version("gimp", root),
        )
    return _hosts[host_id]


@dataclass
class GimpRun:
    """What one GIMP batch run left behind, seen from the host."""

    root: Path
    work: Path  # host path of the run's folder inside the chroot
    out: Path
    data_dir: Path
    profile: Path
    summary: dict
    requests: list
    returncode: int
    log: str
    seconds: float
    install_seconds: float
    cancel_file: Path
    host: GimpHost | None = None

    @property
    def gimp_version(self) -> str:
        """What the chroot's Debian package says its GIMP is."""
        return self.host.version if self.host else ""

    notes: dict = field(default_factory=dict)
    install: str = "install.py"  # or "bundle:<release key>"

    def case(self, name: str) -> dict:
        return self.summary.get("cases", {}).get(name, {})

    def ran(self, name: str, *, clean_steps: bool = False) -> dict:
        """Case ``name``'s entry; the test fails when the case did not run, the batch around it
        broke, or (``clean_steps``) one of its steps raised."""
        entry = self.case(name)
        assert entry, f"case {name} did not run:\n{self.log[-5000:]}"
        assert "batch_error" not in entry, entry["batch_error"]
        if clean_steps:
            assert not entry.get("step_errors"), entry["step_errors"]
        return entry

    def requests_for(self, name: str) -> list:
        return [
            r for r in self.requests if name + ":" in str((r.get("params") or {}).get("prompt", ""))
        ]


def log(message: str) -> None:
    """To the process's real stderr: runs go on in background threads, and a message through
    ``sys.stderr`` would land in whatever test is capturing it meanwhile (capsys)."""
    print(f"[gimp harness] {message}", file=sys.__stderr__, flush=True)


def console(root: Path) -> str:
    """The chroot's ``gimp-console-3.x`` (3.0 and 3.2 each ship only their own)."""
    found = sorted(p.name for p in (root / "usr" / "bin").glob("gimp-console-3.*"))
    if not found:
        raise RuntimeError(f"no gimp-console-3.x in {root}/usr/bin")
    return found[-1]


def wheelhouse(python: str) -> Path:
    """The cached wheels for GIMP's Python (tools/wheelhouse.py), so installs are offline."""
    cmd = [sys.executable, str(REPO / "tools" / "wheelhouse.py"), python]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"wheelhouse failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def install_plugin(profile: Path, with_deps: bool = True, python: str = "3.13") -> None:
    """Install exactly as a user would: install.py into the GIMP profile (``with_deps=False``:
    ``--no-deps``, a plug-in without vendor/, to see how it explains that)."""
    cmd = [
        sys.executable,
        str(REPO / "install.py"),
        "--host",
        "gimp",
        "--gimp-dir",
        str(profile),
        "--python-version",
        python,
    ]
    if not with_deps:
        cmd += ["--no-deps"]
    elif os.environ.get("GPTIMG_WHEELHOUSE", "1") == "1":
        cmd += ["--wheels", str(wheelhouse(python))]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"install.py failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    entry = profile / "plug-ins" / "gpt-image" / "gpt-image.py"
    if not os.access(entry, os.X_OK):
        raise RuntimeError(f"install.py did not install an executable {entry}")


#: The release zip for trixie GIMP 3.0.4's Python 3.13: GIMP 3.2's Flatpak zip (runtime 3.13).
#: No Linux zip is built for 3.14 (forky's GIMP 3.2.6 is tested with install.py only).
BUNDLE_KEY = "gimp-linux-x86_64-py313"
BUNDLE_HOSTS = {"gimp3.0": BUNDLE_KEY}


def build_bundle(key: str, out: Path) -> Path:
    """One release zip, built by tools/build_release.py exactly as a release builds it."""
    cmd = [sys.executable, str(REPO / "tools" / "build_release.py"), "--out", str(out)]
    proc = subprocess.run([*cmd, "--only", key], capture_output=True, text=True, timeout=1800)
    zips = sorted(out.glob("gpt-image-gimp-*.zip"))
    if proc.returncode != 0 or len(zips) != 1:
        raise RuntimeError(
            f"build_release.py failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return zips[0]


def install_bundle(profile: Path, key: str) -> None:
    """As a user installs the GIMP zip on Linux: unzip it into the profile's plug-ins folder."""
    zip_path = build_bundle(key, profile.parent / "release")
    plug_ins = profile / "plug-ins"
    plug_ins.mkdir(parents=True, exist_ok=True)
    subprocess.run(["unzip", "-q", str(zip_path), "-d", str(plug_ins)], check=True)
    entry = plug_ins / "gpt-image" / "gpt-image.py"
    if not os.access(entry, os.X_OK):
        raise RuntimeError(f"unzip did not leave an executable {entry}")


@contextlib.contextmanager
def standin() -> Iterator[str]:
    """The stand-in API server as a process; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="gptimg-standin-") as tmp:
        ready = Path(tmp) / "ready"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.standin", "--port", "0", "--ready-file", str(ready)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(tmp) / "stderr", "w"),  # noqa: SIM115 - closed with the process
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "stand-in did not start: " + (Path(tmp) / "stderr").read_text()[-2000:]
                    )
                time.sleep(0.05)
            yield ready.read_text().strip()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _fetch_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def cancel_when_seen(base_url: str, marker: str, cancel_file: Path) -> Iterator[dict]:
    """Create ``cancel_file`` as soon as the stand-in receives a request whose prompt starts
    with ``marker``: a cancel from outside GIMP while the plug-in's request is in flight."""
    seen: dict = {}
    stop = threading.Event()
    url = base_url.rsplit("/v1", 1)[0] + "/_standin/requests"

    def watch() -> None:
        while not stop.wait(0.2):
            try:
                requests = _fetch_json(url)
            except OSError:
                continue
            prompts = [str((r.get("params") or {}).get("prompt", "")) for r in requests]
            if any(prompt.startswith(marker) for prompt in prompts):
                cancel_file.parent.mkdir(parents=True, exist_ok=True)
                cancel_file.touch()
                seen["at"] = time.time()
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)


def run_gimp(
    cases: list[str] | None = None,
    *,
    with_key: bool = True,
    profile_from: GimpRun | None = None,
    with_deps: bool = True,
    bundle: str | None = None,
    host: str | None = None,
    script: str = "batch_cases.py",
    extra_files: tuple[Path, ...] = (),
    screen: str = "1280x800x24",
) -> GimpRun:
    """One GIMP start running ``batch_cases.py`` for ``cases`` (default: all but no_key).

    ``with_key=False`` runs without OPENAI_API_KEY and with an empty settings folder;
    ``profile_from`` reuses the GIMP profile (the installed plug-in) of an earlier run, and its
    host; ``bundle`` (a release key such as ``BUNDLE_KEY``) installs that release zip instead of
    running install.py; ``host`` is a testhosts id ("gimp3.2"; default: ``DEFAULT_HOST``).
    ``script``: another file of this folder to run instead (tools/screenshots.py runs
    ``shots_gimp.py``, which reuses batch_cases.py's helpers), ``extra_files`` copied beside it.
    ``screen``: the Xvfb screen, ``WIDTHxHEIGHTxDEPTH`` (the dialog sizes are measured on a
    user's 1920x1080x24).
    """
    if profile_from is not None and profile_from.host is not None and host is None:
        host = profile_from.host.id
    gimp = gimp_host(host)
    root = gimp.root
    remove_stale_runs(root)
    work_rel = Path("tmp") / f"gptimg-{os.getpid()}-{time.time_ns()}"
    work = root / work_rel
    if work.exists():
        shutil.rmtree(work)
    for sub in ("profile", "out", "config", "data", "home"):
        (work / sub).mkdir(parents=True)
    inside = Path("/") / work_rel
    t0 = time.monotonic()
    if profile_from is None:
        profile = work / "profile"
        if bundle is None:
            install_plugin(profile, with_deps, gimp.python)
        else:
            install_bundle(profile, bundle)
        install = "install.py" if bundle is None else f"bundle:{bundle}"
    else:
        profile = profile_from.profile
        install = profile_from.install
    install_seconds = time.monotonic() - t0
    for path in {HERE / "batch_cases.py", HERE / script, *extra_files}:
        shutil.copy(path, work / path.name)
    cancel_file = inside / "data" / "gimp-cancel"
    host_cancel_file = root / str(cancel_file).lstrip("/")
    with (
        standin() as base_url,
        cancel_when_seen(base_url, "cancel:", host_cancel_file) as cancel_seen,
    ):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(inside / "home"),
            "LANG": "C.UTF-8",
            "GIMP3_DIRECTORY": "/" + str(profile.relative_to(root)),
            "OPENAI_BASE_URL": base_url,
            "GPT_IMAGE_CONFIG_DIR": str(inside / "config"),
            "GPT_IMAGE_DATA_DIR": str(inside / "data"),
            "GPTIMG_OUT": str(inside / "out"),
            "GPTIMG_CASES": ",".join(cases or []),
            "NO_AT_BRIDGE": "1",
        }
        if with_key:
            env["OPENAI_API_KEY"] = TEST_KEY
        gimp_argv = [
            *testhosts.xvfb_run(
                screen, str(inside / "out" / "xvfb.log"), str(inside / "xauthority")
            ),
            gimp.console,
            "-i",
            "--batch-interpreter=python-fu-eval",
            "-b",
            f'exec(open("{inside / script}").read())',
            "--quit",
        ]
        cmd = ["timeout", "-k", "10", str(GIMP_TIMEOUT_S)]
        cmd += testhosts.chroot_command(root, env, gimp_argv)
        log(f"running {gimp.console} ({gimp.id})")
        t1 = time.monotonic()
        # GIMP's console output is not always UTF-8 (a run killed mid-write is cut anywhere)
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        seconds = time.monotonic() - t1
        if proc.returncode == 124:  # timeout(1): say so, not only the exit code
            proc.stderr += (
                f"\n[harness] gimp-console killed after {GIMP_TIMEOUT_S} s (GPTIMG_GIMP_TIMEOUT)\n"
            )
        requests = _fetch_json(base_url.rsplit("/v1", 1)[0] + "/_standin/requests")
    (work / "out" / "gimp.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    summary_path = work / "out" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return GimpRun(
        root=root,
        work=work,
        out=work / "out",
        data_dir=work / "data",
        profile=profile,
        summary=summary,
        requests=requests,
        returncode=proc.returncode,
        log=proc.stdout + proc.stderr,
        seconds=seconds,
        install_seconds=install_seconds,
        cancel_file=host_cancel_file,
        notes={"cancel_file_created_at": cancel_seen.get("at")},
        install=install,
        host=gimp,
    )


def clean_up(run: GimpRun) -> None:
    """Remove the run's folder (profile, vendor, outputs) unless GPTIMG_KEEP=1."""
    if os.environ.get("GPTIMG_KEEP") == "1":
        log(f"kept {run.work}")
        return
    shutil.rmtree(run.work, ignore_errors=True)


def remove_stale_runs(root: Path, max_age_s: float = 3600) -> None:
    """Folders of earlier runs that were kept or interrupted."""
    for old in (root / "tmp").glob("gptimg-*"):
        try:
            age = time.time() - old.stat().st_mtime
        except FileNotFoundError:  # another run removed it meanwhile
            continue
        if age > max_age_s:
            shutil.rmtree(old, ignore_errors=True)


# --- the runs test_gimp_host.py needs, as background jobs (tests/hosts/hostjobs.py) ----------


def run_ids(host_ids: list[str]) -> list[str]:
    """The main GIMP runs of a session: each host with install.py, plus "<host>-bundle" (the
    release zip) for hosts that have one (``BUNDLE_HOSTS``)."""
    return [*host_ids, *(f"{h}-bundle" for h in host_ids if h in BUNDLE_HOSTS)]


def main_job(run_id: str) -> tuple[tuple[str, ...], Callable[[], GimpRun]]:
    """Every case but the separate ones, in one GIMP start (``run_id`` as ``run_ids`` gives)."""
    host_id, _, variant = run_id.partition("-")
    bundle = BUNDLE_HOSTS[host_id] if variant == "bundle" else None
    return ("gimp", run_id, "main"), lambda: run_gimp(host=host_id, bundle=bundle)


def no_key_job(first: GimpRun) -> tuple[tuple[str, ...], Callable[[], GimpRun]]:
    """A short second start without any key, in the first run's profile."""
    assert first.host is not None
    run_id = first.host.id + ("-bundle" if first.install.startswith("bundle:") else "")
    key = ("gimp", run_id, "no_key")
    return key, lambda: run_gimp(["no_key"], with_key=False, profile_from=first)


def no_vendor_job(host_id: str) -> tuple[tuple[str, ...], Callable[[], GimpRun]]:
    """The plug-in installed with --no-deps (no vendor/)."""
    key = ("gimp", host_id, "no_vendor")
    return key, lambda: run_gimp(["no_vendor"], with_deps=False, host=host_id)


def mismatched_bundle_job() -> tuple[tuple[str, ...], Callable[[], GimpRun]]:
    """GIMP 3.0's Flatpak zip (Python 3.12) unzipped into trixie's GIMP 3.0.4 (Python 3.13)."""
    key = ("gimp", "gimp3.0", "mismatched_bundle")
    return key, lambda: run_gimp(["no_vendor"], bundle="gimp-linux-x86_64-py312", host="gimp3.0")


def prefetch(run_id: str) -> None:
    """Queue the runs of ``run_id`` in the background, the second start once the first is done."""
    key, job = main_job(run_id)
    hostjobs.start(key, job)
    hostjobs.then(("gimp", run_id, "no_key"), key, lambda first: no_key_job(first)[1]())
    host_id = run_id.partition("-")[0]
    hostjobs.start(*no_vendor_job(host_id))
    if host_id == "gimp3.0":
        hostjobs.start(*mismatched_bundle_job())


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default="", help="comma-separated case names")
    ids = [h.id for h in testhosts.HOSTS if h.app == "gimp"]
    parser.add_argument("--host", choices=ids, default=DEFAULT_HOST)
    cli = parser.parse_args()
    result = run_gimp(cli.cases.split(",") if cli.cases else None, host=cli.host)
    print(result.log[-6000:])
    print(
        f"rc={result.returncode} gimp {result.seconds:.1f}s install {result.install_seconds:.1f}s"
    )
    print(result.out)
