"""Run the inner pytest suite inside a real Krita under Xvfb, in a throw-away profile.

Used by ``test_krita_host.py`` and runnable by hand for debugging::

    python tests/hosts/krita/kritarun.py [--host krita6.0] [-k EXPR]

Each run sets up its host (``testhosts.HOSTS``: this system's Krita 5.1, or a Debian chroot with
5.2, 5.3 or 6.0), copies the warmed HOME template (5.1) or starts from an empty one, installs the
plug-in as a user would (``install.py`` with a wheelhouse for the host's Python) plus the test
harness plugin (with the plug-in's Qt shim beside it), then starts Krita with ``KRITA_TEST_*``
variables that the harness reads.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
import testhosts  # noqa: E402

from tools.wheelhouse import build_wheelhouse, hostcache_root  # noqa: E402

HARNESS = HERE / "harness"
INNER = HERE / "inner"
PLUGIN_NAME = "gpt_image"
HARNESS_NAME = "gpt_image_test_harness"
#: Krita's canvas renderer in the test profile (kritadisplayrc ``OpenGLRenderer``). This machine
#: has no GPU, so Krita's OpenGL canvas runs on Mesa's llvmpipe, which alone blocks Krita's main
#: thread 50-190 ms a redraw of an 8192² document (the idle gap that test_responsiveness.py
#: measures: 50-59 ms quiet, up to 484 ms beside other work; 6-22 ms with "none"). That hides
#: what the plug-in does to the main thread and slows every test. "none" is Krita's own setting
#: for a machine without canvas acceleration; GPT_IMAGE_KRITA_CANVAS=auto keeps Krita's choice.
CANVAS = os.environ.get("GPT_IMAGE_KRITA_CANVAS", "none")


@dataclass
class KritaRun:
    """What one Krita start produced: exit codes, logs and per-test outcomes."""

    root: Path
    returncode: int
    elapsed_s: float
    result: dict = field(default_factory=dict)
    cases: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (outcome, text)
    install: str = ""  # "install.py" or "copy"
    host: Host | None = None

    @property
    def out(self) -> Path:
        return self.root / "out"

    def logs(self, limit: int = 6000) -> str:
        """The tails of every log worth reading when something went wrong."""
        parts = []
        for name in (
            "krita.stdout",
            "krita.stderr",
            "krita.stderr.attempt-1",
            "krita.stderr.attempt-2",
            "xvfb-1.log",
            "xvfb-2.log",
            "xvfb-3.log",
            "harness.log",
            "watchdog_traceback.txt",
        ):
            path = self.out / name
            if path.exists() and path.stat().st_size:
                text = path.read_text(errors="replace")
                if name.startswith("xvfb-"):
                    text = testhosts.quiet_xvfb_log(text)
                parts.append(f"--- {name} ---\n{text[-limit:]}")
        return "\n".join(parts)


def cache_dir() -> Path:
    return Path(os.environ.get("KRITA_HOSTCACHE", hostcache_root() / "krita"))


def install_harness(pykrita: Path) -> None:
    """The test harness plugin, with the plug-in's own Qt shim beside it (one shim for both)."""
    shutil.copytree(
        HARNESS, pykrita, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(REPO / "krita_plugin" / "qt.py", pykrita / HARNESS_NAME / "qt.py")


def set_ini_key(path: Path, section: str, key: str, value: str) -> None:
    """Set ``key=value`` in ``[section]`` of a KConfig file, keeping everything else as is."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    header = f"[{section}]"
    try:
        start = lines.index(header)
    except ValueError:
        lines += ["", header, f"{key}={value}"]
    else:
        end = start + 1
        while end < len(lines) and not lines[end].startswith("["):
            end += 1
        body = [ln for ln in lines[start + 1 : end] if not ln.startswith(f"{key}=")]
        while body and not body[-1].strip():
            body.pop()
        lines[start + 1 : end] = [*body, f"{key}={value}", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def install_plugin_by_hand(krita_dir: Path, kritarc: Path, vendor: Path) -> None:
    """The installed layout that install.py produces (see docs/architecture.md)."""
    pykrita = krita_dir / "pykrita"
    target = pykrita / PLUGIN_NAME
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    src = REPO / "krita_plugin"
    for item in src.iterdir():
        if item.name == f"{PLUGIN_NAME}.desktop" or item.name == "__pycache__":
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, target / item.name)
    shutil.copy2(src / f"{PLUGIN_NAME}.desktop", pykrita / f"{PLUGIN_NAME}.desktop")
    shutil.copytree(REPO / "core", target / "core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(vendor, target / "vendor", ignore=shutil.ignore_patterns(".ok"))
    set_ini_key(kritarc, "python", f"enable_{PLUGIN_NAME}", "true")


def install_py_usable() -> bool:
    """install.py is used once it exists and knows ``--host krita``."""
    script = REPO / "install.py"
    if not script.exists() or os.environ.get("KRITA_TEST_INSTALL") == "copy":
        return False
    proc = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and "--krita-dir" in proc.stdout


#: Krita's own "Import Python Plugin from File" code (plugin_importer.py imports only the stdlib;
#: ``i18n`` is a builtin Krita provides, used only in its error messages).
_IMPORTER = """
import builtins, sys
builtins.i18n = str
sys.path.insert(0, "/usr/share/krita/pykrita/plugin_importer")
from plugin_importer import PluginImporter
done = PluginImporter(sys.argv[1], sys.argv[2], lambda plugin: True).import_all()
print(" ".join(p["name"] for p in done))
"""


def bundle_key(host: Host) -> str:
    """The release zip for this Krita's Python (trixie 5.2's 3.13: the Krita 5.3/6 zip)."""
    return f"krita-linux-x86_64-py{host.python.replace('.', '')}"


def install_bundle(
    krita_dir: Path, kritarc: Path, host: Host, work: Path, key: str | None = None
) -> str:
    """Install the release zip as a user does: Krita's importer code unpacks it into the
    resources folder, then the plug-in is enabled as the importer's "Enable now?" does.
    ``key``: another release zip than the one for this Krita's Python."""
    out = work / "release"
    cmd = [sys.executable, str(REPO / "tools" / "build_release.py"), "--out", str(out)]
    cmd += ["--only", key or bundle_key(host)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    zips = sorted(out.glob("gpt-image-krita-*.zip"))
    if proc.returncode != 0 or len(zips) != 1:
        raise RuntimeError(f"build_release.py failed:\n{proc.stdout}\n{proc.stderr}")
    python = ["/usr/bin/python3"]
    if host.chroot is not None:
        python = [shutil.which("chroot") or "/usr/sbin/chroot", str(host.chroot), *python]
    args = [host.inside(zips[0]), host.inside(krita_dir)]
    proc = subprocess.run([*python, "-c", _IMPORTER, *args], capture_output=True, text=True)
    if proc.returncode != 0 or proc.stdout.split() != [PLUGIN_NAME]:
        raise RuntimeError(f"Krita's plugin importer failed:\n{proc.stdout}\n{proc.stderr}")
    set_ini_key(kritarc, "python", f"enable_{PLUGIN_NAME}", "true")
    return f"bundle:{zips[0].name}"


def unpack_wheel(wheelhouse: Path, name: str, dest: Path) -> Path:
    """``name``'s wheel from ``wheelhouse`` unpacked into ``dest`` (importable from there)."""
    import zipfile

    wheels = sorted(wheelhouse.glob(f"{name}-*.whl"))
    if not wheels:
        raise RuntimeError(f"no {name} wheel in {wheelhouse}")
    with zipfile.ZipFile(wheels[-1]) as zf:
        zf.extractall(dest)
    return dest


def install_plugin(krita_dir: Path, kritarc: Path, cache: Path, host: Host) -> str:
    """Install the plug-in into the profile; returns how it was done (for the report)."""
    if install_py_usable():
        cmd = [
            sys.executable,
            str(REPO / "install.py"),
            "--host",
            "krita",
            "--krita-dir",
            str(krita_dir),
            "--kritarc",
            str(kritarc),
            "--python-version",
            host.python,
            "--wheels",
            str(wheelhouse(host)),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"install.py failed:\n{proc.stdout}\n{proc.stderr}")
        return "install.py"
    if host.chroot is not None:
        raise RuntimeError("installing into a chroot Krita needs install.py")
    install_plugin_by_hand(krita_dir, kritarc, cache / "vendor-cp311")
    return "copy"


@dataclass(frozen=True)
class Host:
    """Where Krita runs: this system (bookworm, 5.1) or a Debian chroot (see testhosts.HOSTS)."""

    name: str  # the test host id, "krita5.1" ...
    python: str  # the embedded Python's X.Y
    chroot: Path | None = None
    series: str = ""  # the Krita version this host must report ("5.3")

    @property
    def tag(self) -> str:
        return "cp" + self.python.replace(".", "")

    def inside(self, path: Path) -> str:
        """``path`` as Krita sees it (inside the chroot, if any)."""
        if self.chroot is None:
            return str(path)
        return "/" + str(path.resolve().relative_to(self.chroot.resolve()))


def krita_host(host_id: str = "krita5.1") -> Host:
    """Set up (or reuse) the Krita of ``host_id`` and describe it; see testhosts.HOSTS."""
    test_host = testhosts.by_id(ALIASES.get(host_id, host_id))
    where = testhosts.run_setup(test_host)
    if test_host.suite == "bookworm":  # this machine's own Krita; setup.sh printed the cache
        python = subprocess.run(
            ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        return Host(test_host.id, python, None, test_host.series)
    root = Path(where)
    return Host(test_host.id, testhosts.chroot_python(root), root, test_host.series)


#: The names hosts had before testhosts.HOSTS (still accepted by --host and krita_host).
ALIASES = {"bookworm": "krita5.1", "trixie": "krita5.2"}


def trixie_host() -> Host:
    """Krita 5.2 (Debian trixie chroot): ``krita_host("krita5.2")``, by its older name."""
    return krita_host("krita5.2")


def wheelhouse(host: Host) -> Path:
    """The plug-in's dependencies as wheels for the host's Python (tools/wheelhouse.py)."""
    return build_wheelhouse(host.python)


def prepare_profile(root: Path, host: Host, template: Path | None) -> dict[str, str]:
    """A fresh HOME (a copy of ``template``, a warmed profile, if any) with the harness enabled.

    Returns the environment Krita gets, with paths as Krita sees them.
    """
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("tmp", "xdg-runtime", "out"):
        (root / sub).mkdir(parents=True)
    (root / "xdg-runtime").chmod(0o700)
    home = root / "home"
    if template is not None:
        shutil.copytree(template, home, symlinks=True, ignore=shutil.ignore_patterns(".ok"))
    else:  # no template: the first start builds the resource database (~20 s)
        (home / ".config").mkdir(parents=True)
    if host.chroot is None:
        env = dict(os.environ)
        for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "QT_QPA_PLATFORM", "PYENV_VERSION"):
            env.pop(var, None)
        # Krita's embedded CPython finds its prefix through PATH: a pyenv/venv python3.x found
        # first would replace Debian's (and its PyQt5) with its own.
        env["PATH"] = os.pathsep.join(
            p
            for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
            if not any(tag in p for tag in ("pyenv", "venv", "conda", "/.local/bin"))
        )
    else:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    inside = host.inside
    env.update(
        HOME=inside(home),
        XDG_CONFIG_HOME=inside(home / ".config"),
        XDG_DATA_HOME=inside(home / ".local" / "share"),
        XDG_CACHE_HOME=inside(home / ".cache"),
        XDG_RUNTIME_DIR=inside(root / "xdg-runtime"),
        TMPDIR=inside(root / "tmp"),
        KRITA_NO_ASSERT_MSG="1",
        GPT_IMAGE_CONFIG_DIR=inside(root / "gpt-config"),
        GPT_IMAGE_DATA_DIR=inside(root / "gpt-data"),
    )
    pykrita = home / ".local" / "share" / "krita" / "pykrita"
    pykrita.mkdir(parents=True, exist_ok=True)
    install_harness(pykrita)
    set_ini_key(home / ".config" / "kritarc", "python", f"enable_{HARNESS_NAME}", "true")
    set_ini_key(home / ".config" / "kritadisplayrc", "General", "OpenGLRenderer", CANVAS)
    return env


def home_template(host: Host, cache: Path) -> Path | None:
    """A warmed HOME for ``host``: Krita's first start in a profile builds its resource database
    (~20 s on this machine), so every run starts from a copy of one that has.

    Bookworm's comes from setup.sh; a chroot host's is made here by one warm-up start, once per
    Krita version, and kept in the cache. ``None`` (an empty profile) when the warm-up fails.
    """
    if host.chroot is None:
        return cache / "home-template"
    version = testhosts.packaged_version("krita", host.chroot)
    template = cache / f"home-template-{host.name}"
    with testhosts.file_lock(f"krita-template-{host.name}"):
        stamp = template / ".ok"
        if stamp.exists() and stamp.read_text() == version:
            return template
        warm = host.chroot / "tmp" / f"gpt-image-krita-warm-{host.name}"
        env = prepare_profile(warm, host, None)
        env.update(KRITA_TEST_OUT=host.inside(warm / "out"), KRITA_TEST_WATCHDOG="120")
        start_krita(warm, host, env, 180)
        if not (warm / "out" / "result.json").exists():
            print(f"[krita] warming a {host.name} profile failed; runs start empty:\n"
                  f"{(warm / 'out' / 'krita.stderr').read_text(errors='replace')[-1500:]}",
                  file=sys.__stderr__)  # fmt: skip
            return None
        home = warm / "home"
        pykrita = home / ".local" / "share" / "krita" / "pykrita"
        for leftover in [*pykrita.glob(f"{HARNESS_NAME}*"), home / ".cache"]:
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)
        shutil.rmtree(template, ignore_errors=True)
        shutil.move(home, template)
        shutil.rmtree(warm, ignore_errors=True)
        stamp.write_text(version)
        return template


def parse_junit(path: Path) -> dict[str, tuple[str, str]]:
    """``{test name: (passed|failed|error|skipped, message)}`` from a junit file."""
    cases: dict[str, tuple[str, str]] = {}
    if not path.exists():
        return cases
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "?")
        outcome, text = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                text = (node.get("message") or "") + "\n" + (node.text or "")
                break
        cases[name] = (outcome, text)
    return cases


def start_standin(root: Path) -> tuple[subprocess.Popen, str]:
    """The local Images API stand-in as a process; returns it and its base URL (…/v1)."""
    ready = root / "standin.url"
    ready.unlink(missing_ok=True)
    log = open(root / "standin.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0", "--ready-file", str(ready)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"stand-in did not start: {(root / 'standin.log').read_text()}")
        time.sleep(0.05)
    return proc, ready.read_text().strip()


def stop_standin(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def standin_env(base_url: str) -> dict[str, str]:
    """Point the plug-in (core.settings) at the stand-in; a fake key it accepts."""
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "sk-krita-test-0123456789abcdef",
        "GPT_IMAGE_TEST_STANDIN_ROOT": base_url.rsplit("/v1", 1)[0],
    }


def run_krita(
    root: Path,
    *,
    host: Host | None = None,
    extra_env: dict[str, str] | None = None,
    pytest_args: str = "",
    timeout_s: float = 300,
    bundle: bool | str = False,
) -> KritaRun:
    """Install, start Krita once, run the inner suite, collect the results.

    For a chroot host, ``root`` is replaced by a folder inside the chroot (Krita can't see out).
    ``bundle`` installs the release zip for the host's Python (True) or the one with that
    release key (e.g. ``krita-linux-x86_64-py310``) instead of running install.py.
    """
    host = host or krita_host()
    cache = cache_dir()
    if host.chroot is not None:
        remove_stale_runs(host.chroot)
        name = f"gpt-image-{host.name}{'-bundle' if bundle else ''}-{os.getpid()}-{root.name}"
        root = host.chroot / "tmp" / name
    env = prepare_profile(root, host, home_template(host, cache))
    home = root / "home"
    krita_dir, kritarc = home / ".local" / "share" / "krita", home / ".config" / "kritarc"
    if bundle:
        key = bundle if isinstance(bundle, str) else None
        how = install_bundle(krita_dir, kritarc, host, root, key)
    else:
        how = install_plugin(krita_dir, kritarc, cache, host)
    out = root / "out"
    testvendor = cache / f"testvendor-{host.tag}"
    inner = INNER
    if host.chroot is not None:  # Krita in a chroot only sees what is copied in
        testvendor = Path(shutil.copytree(testvendor, root / "testvendor"))
        inner = Path(
            shutil.copytree(INNER, root / "inner", ignore=shutil.ignore_patterns("__pycache__"))
        )
    test_deps = []
    if isinstance(bundle, str):  # a zip for another Python: the inner suite brings its own
        for name in ("numpy", "pillow"):  # what inner/conftest.py imports besides Krita's own
            deps = unpack_wheel(cache / f"wheels-{host.tag}", name, root / "testdeps")
        test_deps.append(deps)
    env.update(extra_env or {})
    env.update(
        KRITA_TEST_OUT=host.inside(out),
        KRITA_TEST_DIR=host.inside(inner),
        KRITA_TEST_SYSPATH=":".join(host.inside(p) for p in [testvendor, *test_deps]),
        KRITA_TEST_WATCHDOG=str(int(timeout_s - 10)),
        KRITA_TEST_ARGS=pytest_args,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # e.g. anyio's plugin from the plug-in's vendor dir
        GPT_IMAGE_TEST_INSTALL=how.split(":")[0],
    )
    t0 = time.monotonic()
    returncode = start_krita(root, host, env, timeout_s)
    run = KritaRun(root, returncode, time.monotonic() - t0, install=how, host=host)
    result_file = out / "result.json"
    if result_file.exists():
        run.result = json.loads(result_file.read_text())
    run.cases = parse_junit(out / "junit.xml")
    return run


def start_krita(root: Path, host: Host, env: dict[str, str], timeout_s: float) -> int:
    """Krita under its own Xvfb (in the host's chroot, if any) until it quits; its exit code.

    Up to three starts when Krita never reached its display (nothing of the plug-in ran).
    """
    out = root / "out"
    for attempt in (1, 2, 3):
        xvfb = testhosts.xvfb_run(
            "1920x1080x24",
            host.inside(out / f"xvfb-{attempt}.log"),
            host.inside(root / f"xauth-{attempt}"),
        )
        krita = [*xvfb, *testhosts.probed(["krita", "--nosplash"])]
        if host.chroot is not None:
            krita = testhosts.chroot_command(host.chroot, env, krita)
        cmd = ["timeout", "-k", "10", str(int(timeout_s)), *krita]
        with (
            open(out / "krita.stdout", "wb") as so,
            open(out / "krita.stderr", "wb") as se,
        ):
            outer_env = env if host.chroot is None else None  # chroot: env -i passes Krita's env
            proc = subprocess.run(cmd, env=outer_env, stdout=so, stderr=se, cwd=root, check=False)
        stderr = (out / "krita.stderr").read_text(errors="replace")
        if attempt == 3 or (out / "result.json").exists() or not testhosts.lost_display(stderr):
            break
        # Krita never reached its X server (nothing of the plug-in ran): once more, new display,
        # after a pause (three starts within one second once all met the same passing cause).
        (out / f"krita.stderr.attempt-{attempt}").write_text(stderr)
        time.sleep(3 * attempt)
    return proc.returncode


#: One Krita run of the whole inner suite may take this long (several overlap on 2 cores).
FULL_RUN_TIMEOUT_S = float(os.environ.get("KRITA_TEST_TIMEOUT", "600"))


#: Hosts whose Python has a Linux release zip (tools/build_release.py): trixie Krita 5.2's 3.13
#: takes the Krita 5.3 / 6 AppImage zip. Their run id "<host>-bundle" installs that zip instead.
BUNDLE_HOSTS = ("krita5.2",)


def run_ids(host_ids: list[str]) -> list[str]:
    """The Krita runs of a session: each host with install.py, and the bundle variants."""
    return [*host_ids, *(f"{h}-bundle" for h in host_ids if h in BUNDLE_HOSTS)]


def full_run(run_id: str) -> KritaRun:
    """Set up the host of ``run_id`` ("krita5.3", "krita5.2-bundle"), start the stand-in and
    run the whole inner suite in its Krita once."""
    host_id, _, variant = run_id.partition("-")
    host = krita_host(host_id)
    remove_stale_runs(Path(tempfile.gettempdir()), under="")  # a run's folder is kept for its logs
    root = Path(tempfile.mkdtemp(prefix=f"gpt-image-{run_id}-"))
    standin, base_url = start_standin(root)
    try:
        return run_krita(
            root / "run",
            host=host,
            extra_env=standin_env(base_url),
            timeout_s=FULL_RUN_TIMEOUT_S,
            bundle=variant == "bundle",
        )
    finally:
        stop_standin(standin)


def full_run_job(run_id: str) -> tuple[tuple[str, ...], Callable[[], KritaRun]]:
    """(key, job) of ``full_run`` for tests/hosts/hostjobs.py."""
    return ("krita", run_id), lambda: full_run(run_id)


def remove_stale_runs(chroot: Path, max_age_s: float = 3600, under: str = "tmp") -> None:
    """Run folders that earlier (kept or interrupted) runs left in the chroot's /tmp (or, with
    ``under=""``, in the folder given): each holds a whole Krita profile, ~250 MB."""
    for old in (chroot / under).glob("gpt-image-krita*"):
        try:
            age = time.time() - old.stat().st_mtime
        except OSError:  # another run (another process) removed it meanwhile
            continue
        if age > max_age_s:
            shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/tmp/gpt-image-krita-run")
    parser.add_argument("-k", default="", help="pytest -k expression for the inner suite")
    parser.add_argument("--timeout", type=float, default=300)
    ids = [h.id for h in testhosts.HOSTS if h.app == "krita"]
    parser.add_argument("--host", choices=[*ids, *ALIASES], default=ids[0])
    parser.add_argument("--bundle", action="store_true", help="install the release zip instead")
    args = parser.parse_args(argv)
    host = krita_host(args.host)
    pytest_args = f"-k {shlex.quote(args.k)}" if args.k else ""
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    standin, base_url = start_standin(root.parent)
    try:
        run = run_krita(
            root,
            host=host,
            extra_env=standin_env(base_url),
            pytest_args=pytest_args,
            timeout_s=args.timeout,
            bundle=args.bundle,
        )
    finally:
        stop_standin(standin)
    print((run.out / "krita.stdout").read_text(errors="replace"))
    print(
        f"krita rc={run.returncode} in {run.elapsed_s:.1f}s; result={run.result.get('pytest_rc')}"
    )
    if not run.result:
        print(run.logs())
    return 0 if run.result.get("pytest_rc") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
