"""The Krita plug-in in the real Krita: one Krita run per session, one outer test per inner test.

A session fixture installs the plug-in into a throw-away profile (install.py, as a user would),
starts the Images API stand-in, runs Krita under Xvfb with the harness plugin, which runs
``inner/`` with pytest inside Krita; each inner test then becomes one test here.
Needs ``tests/hosts/krita/setup.sh`` (run automatically; cached under ~/.cache/gpt-image-tests/krita).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostjobs
import kritarun
import testhosts

pytestmark = [pytest.mark.krita, pytest.mark.slow]


def inner_tests() -> list[str]:
    """The inner suite's test functions, read from the source (it imports krita, so no import)."""
    names = []
    for path in sorted(kritarun.INNER.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names += [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
    return names


#: Every Krita of testhosts.HOSTS (5.1 on this system, 5.2, 5.3 and 6.0 in Debian chroots that
#: the set-up scripts build the first time); GPT_IMAGE_HOSTS=krita5.3,... picks some.
#: "krita5.2-bundle": trixie's Krita (Python 3.13) with the release zip for that Python (the
#: Krita 5.3/6 AppImage zip) installed by Krita's own importer code instead of install.py.
HOSTS = kritarun.run_ids([host.id for host in testhosts.selected("krita")])


@pytest.fixture(scope="session", params=HOSTS)
def krita_run(request: pytest.FixtureRequest) -> kritarun.KritaRun:
    """The host's one Krita run, started in the background as soon as collection ended
    (hostjobs), so it overlaps the other hosts' runs and the host-free tests."""
    run = hostjobs.result(*kritarun.full_run_job(request.param))
    print(
        f"\nKrita ({request.param}) run: rc={run.returncode}, {run.elapsed_s:.1f} s, "
        f"install={run.install}, inner pytest rc={run.result.get('pytest_rc')}, logs in {run.out}"
    )
    report_main_thread_gaps(request, run)
    return run


def report_main_thread_gaps(request: pytest.FixtureRequest, run: kritarun.KritaRun) -> None:
    """Print what inner/test_responsiveness.py measured (in the suite's output, not captured)."""
    path = run.out / "main_thread_gaps.json"
    if not path.exists():
        return
    figures = json.loads(path.read_text(encoding="utf-8"))
    line = (
        f"Krita {figures['host']} ({request.param}), canvas renderer "
        f"{figures.get('canvas', 'auto')}, {figures['document']} document, crop "
        f"{figures['crop']}, longest main-thread gaps:\n"
        f"  click -> request sent ({figures['click_to_sent_ms']} ms): "
        f"{figures['submit_gap_ms']} ms ({figures['submit_gap_at_ms']} ms after the click); "
        f"idle before the click, same length: "
        f"{figures['idle_gap_ms']} ms\n"
        f"  applying the answer ({figures['apply_window_ms']} ms from it, the layer in after "
        f"{figures['answer_to_layer_ms']} ms): {figures['apply_gap_ms']} ms, "
        f"{figures['apply_gap_at_ms']} ms after the answer (until the layer "
        f"is in: {figures['insert_gap_ms']} ms); Krita adding an identical "
        f"layer itself, same length: {figures['krita_insert_gap_ms']} ms (addChildNode "
        f"{figures['krita_add_child_ms']} ms; the job's {figures['job_add_child_ms']} ms); the "
        f"plug-in's own main-thread time in the apply: {figures['ours_apply_ms']} ms\n"
        f"  main-thread work (ms): {figures['main_thread_ms']}"
    )
    splits = [
        f"{phase} {split['running_ms']} running, {split['waiting_for_a_core_ms']} waiting for "
        f"a core, {split['blocked_ms']} blocked"
        for phase in ("submit", "idle", "apply")
        if (split := figures.get(f"{phase}_gap_split"))
    ]
    if splits:  # running: work on the main thread; blocked: a lock, the GIL, the canvas drawn
        line += "\n  the main thread in those gaps (ms): " + "; ".join(splits)
    warm = run.out / "mask_warm_up.json"
    if warm.exists():  # Krita 5.1's mask template, loaded while the API works
        up = json.loads(warm.read_text(encoding="utf-8"))
        line += (
            f"\n  mask template warm-up (after the request is out): {up['warm_up_ms']} ms, "
            f"longest gap {up['warm_up_gap_ms']} ms"
        )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():  # in the suite's output even when captured
        reporter.write_line(line)


def test_krita_ran_the_suite_and_quit_cleanly(krita_run: kritarun.KritaRun) -> None:
    assert krita_run.result, f"Krita produced no result.json:\n{krita_run.logs()}"
    assert "pytest_rc" in krita_run.result and krita_run.result["pytest_rc"] in (0, 1), (
        f"the inner suite did not run properly:\n{krita_run.result}\n{krita_run.logs()}"
    )
    assert krita_run.returncode == 0, (
        f"Krita exited with {krita_run.returncode}\n{krita_run.logs()}"
    )
    assert krita_run.cases, "no inner test results"
    if krita_run.install.startswith("bundle:"):  # Krita's importer put every piece in place
        krita_dir = krita_run.root / "home" / ".local" / "share" / "krita"
        assert (krita_dir / "pykrita" / "gpt_image.desktop").is_file()
        assert (krita_dir / "pykrita" / "gpt_image" / "bundle.json").is_file()
        assert (krita_dir / "actions" / "gpt_image.action").is_file()
    assert krita_run.result.get("top_level_loop"), (
        "the inner tests waited in nested event loops (is greenlet in the test vendor dir?): "
        "Krita then never updates its layer model, and tests see a Krita no user sees"
    )


def test_nothing_was_left_uncaught_inside_krita(krita_run: kritarun.KritaRun) -> None:
    """An exception that reaches Krita's event loop (a slot, a virtual Qt calls back into) is
    logged by the harness as UNCAUGHT and otherwise lost: no test would see it fail. A signal
    named ``event`` on a QObject hid ``QObject.event()`` so, once per Qt event it was sent."""
    log = krita_run.out / "harness.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    first = text.find("UNCAUGHT")
    assert first < 0, f"{text.count('UNCAUGHT')} uncaught in Krita, first:\n{text[first:][:3000]}"


def test_krita_is_the_version_under_test(krita_run: kritarun.KritaRun) -> None:
    """The Krita that ran is the one this host stands for (not, say, the system's own)."""
    reported = str(krita_run.result.get("krita", ""))
    assert krita_run.host is not None
    assert reported.startswith(krita_run.host.series + "."), (reported, krita_run.host)


@pytest.mark.parametrize("name", inner_tests())
def test_in_krita(krita_run: kritarun.KritaRun, name: str) -> None:
    cases = {k: v for k, v in krita_run.cases.items() if k == name or k.startswith(name + "[")}
    if not cases:
        if not krita_run.cases:  # the run itself failed: its logs are in one place, not 40
            pytest.fail(
                f"{name} did not run inside Krita: the Krita run produced no results "
                "(its logs: test_krita_ran_the_suite_and_quit_cleanly of this host)"
            )
        pytest.fail(f"{name} did not run inside Krita\n{krita_run.logs(limit=1500)}")
    failed = {k: v for k, v in cases.items() if v[0] != "passed"}
    assert not failed, "\n\n".join(
        f"{case}: {outcome}\n{text}" for case, (outcome, text) in failed.items()
    )


if "krita5.2" in HOSTS:  # needs trixie's Krita 5.2 (Python 3.13); GPT_IMAGE_HOSTS may leave it out

    def test_mismatched_bundle_is_refused_in_krita(tmp_path: Path) -> None:
        """Krita 5.2's AppImage zip (Python 3.10) imported into a Krita whose Python is 3.13:
        the plug-in does not start and its docker names the zip that fits (one more start)."""
        from installer.deploy import source_version

        host = kritarun.krita_host("krita5.2")
        right = f"gpt-image-krita-{source_version(kritarun.REPO)}-linux-x86_64-py313.zip"
        standin, base_url = kritarun.start_standin(tmp_path)
        try:
            run = kritarun.run_krita(
                tmp_path / "refused",  # its own folder in the chroot, apart from "run"
                host=host,
                extra_env={
                    **kritarun.standin_env(base_url),
                    "GPT_IMAGE_TEST_EXPECT_REFUSAL": right,
                },
                pytest_args="-k test_bundle_fits_or_is_refused",
                timeout_s=240,
                bundle="krita-linux-x86_64-py310",
            )
        finally:
            kritarun.stop_standin(standin)
        name = "test_bundle_fits_or_is_refused_naming_the_right_zip"
        outcome = run.cases.get(name, ("missing", ""))
        assert outcome[0] == "passed", f"{outcome}\n{run.logs()}"
        assert run.install.endswith("linux-x86_64-py310.zip")
