"""Every window the GIMP plug-in opens fits a 1920x1080 screen, in the real GIMP 3.0 and 3.2.

One GIMP start per host on a 1920x1080 Xvfb runs ``batch_cases.py``'s ``dialog_sizes`` case: it
opens Edit…, Generate…, Expand… (every argument they show, a long prompt), Variants… on a layer
with 30 variants in 3 rounds, the refine question, History… with a dozen entries, Settings…, the
key prompt and the progress window with a preview, and records what each window asks for (its
natural size, ``gtk_widget_get_preferred_size`` on the realised window) and where its buttons
end. A window fits when that natural size leaves room for GIMP's panels and a window manager's
title bar (``MAX_W`` x ``MAX_H``) and its OK / Cancel / Close buttons lie inside it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gimp_harness
import testhosts

pytestmark = [pytest.mark.gimp, pytest.mark.slow]
HOSTS = [h.id for h in testhosts.selected("gimp")]
SCREEN = (1920, 1080)
MAX_W, MAX_H = 1900, 1000  # 1080 less a title bar and a panel or two
WINDOWS = (
    "edit",
    "generate",
    "expand",
    "variants",
    "refine_question",
    "history",
    "settings",
    "api_key",
    "progress",
)


@pytest.fixture(scope="module", params=HOSTS)
def run(request: pytest.FixtureRequest) -> Iterator[gimp_harness.GimpRun]:
    result = gimp_harness.run_gimp(
        ["dialog_sizes"], host=request.param, screen=f"{SCREEN[0]}x{SCREEN[1]}x24"
    )
    assert result.returncode == 0, f"gimp-console failed:\n{result.log[-5000:]}"
    yield result
    gimp_harness.clean_up(result)


@pytest.fixture(scope="module")
def sizes(run) -> dict:
    entry = run.case("dialog_sizes")
    assert entry, f"dialog_sizes did not run:\n{run.log[-5000:]}"
    assert "batch_error" not in entry, entry["batch_error"]
    assert not entry.get("step_errors"), entry["step_errors"]
    return entry["sizes"]


def test_the_case_built_what_it_measures(run, sizes):
    entry = run.case("dialog_sizes")
    assert entry["first"]["status"] == "success", entry["first"]
    assert entry["variant_count"] == 30, entry["variant_count"]
    assert set(sizes) == set(WINDOWS), sorted(sizes)
    assert sizes["edit"]["screen"] == list(SCREEN)


@pytest.mark.parametrize("window", WINDOWS)
def test_window_fits_a_1080_screen(sizes, window):
    size = sizes[window]
    assert "error" not in size, size
    width, height = size["natural"]
    assert width <= MAX_W and height <= MAX_H, f"{window} asks for {width}x{height}: {size}"
    got_w, got_h = size["size"]
    assert got_w <= MAX_W and got_h <= MAX_H, f"{window} opened at {got_w}x{got_h}"
    if window != "progress":  # the others end with their response buttons, all inside
        assert size["buttons_bottom"] is not None, size["buttons"]
        assert size["buttons_bottom"] <= got_h and size["buttons_right"] <= got_w, size
