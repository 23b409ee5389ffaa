"""Drive the real GIMP 3.0 in its trixie chroot: install the plug-in, run the batch, collect.

Used by ``test_gimp_host.py``; also runnable by hand for debugging:

    python tests/hosts/gimp/gimp_harness.py [CASE,CASE...]   # prints the output folder

Steps: ``setup.sh`` builds or reuses the chroot; ``install.py`` installs the plug-in into a
throw-away ``GIMP3_DIRECTORY`` profile inside the chroot (with the cp313 wheelhouse from
``tools/wheelhouse.py``); the stand-in runs on the host (the chroot shares the host's network, so
127.0.0.1 reaches it); ``gimp-console-3.0`` runs ``batch_cases.py`` once for every case. Only a
proc, a devpts instance and a /dev/shm tmpfs are mounted, and only those this run mounted are
unmounted again, whatever happens.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PYTHON_VERSION = "3.13"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
TEST_KEY = "sk-test-gimp-DO-NOT-LEAK-0123456789abcdef"
GIMP_TIMEOUT_S = int(os.environ.get("GPTIMG_GIMP_TIMEOUT", "600"))


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
    gimp_version: str = ""  # what the chroot's Debian package says it is
    notes: dict = field(default_factory=dict)
    install: str = "install.py"  # or "bundle:<release key>"

    def case(self, name: str) -> dict:
        return self.summary.get("cases", {}).get(name, {})

    def requests_for(self, name: str) -> list:
        return [
            r for r in self.requests if name + ":" in str((r.get("params") or {}).get("prompt", ""))
        ]


def log(message: str) -> None:
    print(f"[gimp harness] {message}", file=sys.stderr, flush=True)


def setup_chroot() -> Path:
    """Run setup.sh (idempotent) and return the chroot path."""
    proc = subprocess.run(
        ["bash", str(HERE / "setup.sh")], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        raise RuntimeError(f"setup.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def console(root: Path) -> str:
    """The chroot's ``gimp-console-3.x`` (3.0 and 3.2 each ship only their own)."""
    found = sorted(p.name for p in (root / "usr" / "bin").glob("gimp-console-3.*"))
    if not found:
        raise RuntimeError(f"no gimp-console-3.x in {root}/usr/bin")
    return found[-1]


def packaged_version(root: Path) -> str:
    """The chroot's GIMP version as Debian packaged it ("3.0.4" from "3.0.4-7")."""
    proc = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f", "${Version}", "gimp"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.split(":")[-1].split("-")[0].split("+")[0]


def wheelhouse() -> Path:
    """The cached cp313 wheels (tools/wheelhouse.py), so installs are offline and quick."""
    cmd = [sys.executable, str(REPO / "tools" / "wheelhouse.py"), PYTHON_VERSION]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"wheelhouse failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def install_plugin(profile: Path, with_deps: bool = True) -> None:
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
        PYTHON_VERSION,
    ]
    if not with_deps:
        cmd += ["--no-deps"]
    elif os.environ.get("GPTIMG_WHEELHOUSE", "1") == "1":
        cmd += ["--wheels", str(wheelhouse())]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"install.py failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    entry = profile / "plug-ins" / "gpt-image" / "gpt-image.py"
    if not os.access(entry, os.X_OK):
        raise RuntimeError(f"install.py did not install an executable {entry}")


#: The release zip for this GIMP's Python: GIMP 3.2's Flatpak zip (runtime Python 3.13).
BUNDLE_KEY = "gimp-linux-x86_64-py" + PYTHON_VERSION.replace(".", "")


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


def _mountpoint(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


@contextlib.contextmanager
def mounts(root: Path) -> Iterator[None]:
    """proc, a new devpts instance and a /dev/shm tmpfs; unmounts what it mounted."""
    specs = [
        ("proc", ["-t", "proc", "proc"]),
        ("dev/pts", ["-t", "devpts", "devpts", "-o", "newinstance,ptmxmode=0666"]),
        ("dev/shm", ["-t", "tmpfs", "shm", "-o", "mode=1777,size=512m"]),
    ]
    mounted = []
    try:
        for rel, args in specs:
            target = root / rel
            if not _mountpoint(target):
                subprocess.run(["mount", *args, str(target)], check=True)
                mounted.append(target)
        yield
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


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
) -> GimpRun:
    """One GIMP start running ``batch_cases.py`` for ``cases`` (default: all but no_key).

    ``with_key=False`` runs without OPENAI_API_KEY and with an empty settings folder;
    ``profile_from`` reuses the GIMP profile (the installed plug-in) of an earlier run;
    ``bundle`` (a release key such as ``BUNDLE_KEY``) installs that release zip instead of
    running install.py.
    """
    root = setup_chroot()
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
            install_plugin(profile, with_deps)
        else:
            install_bundle(profile, bundle)
        install = "install.py" if bundle is None else f"bundle:{bundle}"
    else:
        profile = profile_from.profile
        install = profile_from.install
    install_seconds = time.monotonic() - t0
    shutil.copy(HERE / "batch_cases.py", work / "batch_cases.py")
    cancel_file = inside / "data" / "gimp-cancel"
    host_cancel_file = root / str(cancel_file).lstrip("/")
    with (
        standin() as base_url,
        mounts(root),
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
        cmd = [
            "timeout",
            "-k",
            "10",
            str(GIMP_TIMEOUT_S),
            "chroot",
            str(root),
            "/usr/bin/env",
            "-i",
        ]
        cmd += [f"{k}={v}" for k, v in env.items()]
        cmd += [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            console(root),
            "-i",
            "--batch-interpreter=python-fu-eval",
            "-b",
            f'exec(open("{inside / "batch_cases.py"}").read())',
            "--quit",
        ]
        log(f"running {console(root)}")
        t1 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.monotonic() - t1
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
        gimp_version=packaged_version(root),
        install=install,
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
        if time.time() - old.stat().st_mtime > max_age_s:
            shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    chosen = sys.argv[1].split(",") if len(sys.argv) > 1 else None
    result = run_gimp(chosen)
    print(result.log[-6000:])
    print(
        f"rc={result.returncode} gimp {result.seconds:.1f}s install {result.install_seconds:.1f}s"
    )
    print(result.out)
