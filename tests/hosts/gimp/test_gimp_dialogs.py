"""The GIMP plug-in's windows and what a user may hand it, in the real GIMP 3.0 and 3.2.

One GIMP start per host on a 1920x1080 Xvfb runs four cases of ``batch_cases.py``:

- ``dialog_sizes``: opens Edit…, Generate…, Expand… (every argument they show, a long prompt),
  Variants… on a layer with 30 variants in 3 rounds, the refine question, History… with a dozen
  entries, Settings…, the key prompt and the progress window with a preview, and records what
  each window asks for (its natural size, ``gtk_widget_get_preferred_size`` on the realised
  window) and where its buttons end. A window fits when that natural size leaves room for
  GIMP's panels and a window manager's title bar (``MAX_W`` x ``MAX_H``) and its OK / Cancel /
  Close buttons lie inside it.
- ``dialog_refusals``: OK on values the job would refuse keeps the dialog open with the reason.
- ``hostile``: the procedures from a script on inputs a user may give (empty prompt, 1x1
  image, indexed image, a group or a channel active, a selection outside the layer, a layer
  off the canvas…), and ``python -m core`` on the same inputs as files.
- ``dialog_draft``: OK on a new prompt, the API refuses, and the next Edit… shows that prompt
  (a garbled draft file is ignored); after a run that succeeds the draft is gone.
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
        ["dialog_sizes", "dialog_refusals", "hostile", "dialog_draft"],
        host=request.param,
        screen=f"{SCREEN[0]}x{SCREEN[1]}x24",
    )
    assert result.returncode == 0, f"gimp-console failed:\n{result.log[-5000:]}"
    yield result
    gimp_harness.clean_up(result)


@pytest.fixture(scope="module")
def sizes(run) -> dict:
    return run.ran("dialog_sizes", clean_steps=True)["sizes"]


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


def test_a_flip_in_a_scrolled_variants_window_keeps_the_thumbnails_and_the_view(run):
    """Variants… with 30 thumbnails scrolls; a click on the last one shows it, moves the mark
    and leaves the thumbnails as they were: none decoded again (the grid used to be rebuilt on
    every click, 30 PNG decodes: 499 ms a click in GIMP 3.2.6, now 58 ms) and the view where
    the person scrolled to."""
    entry = run.ran("dialog_sizes", clean_steps=True)
    flip = entry["flip"]
    assert flip["thumbnails"] == 30
    assert flip["pictures_kept"] == 30, flip
    assert flip["scrolled_to"] > 0, flip  # the window does scroll: not all 30 fit
    assert flip["scroll_after"] == flip["scrolled_to"], flip
    assert len(flip["marked"]) == 1 and flip["marked"][0].startswith("▶ 3.10"), flip


# --- refusals the dialog catches -----------------------------------------------------------


def test_ok_on_values_the_job_refuses_keeps_the_dialog_open(run):
    """A quality the model does not take, a pasted prompt longer than the API takes, an aspect
    one request cannot reach: the dialog stays open saying why (before, it closed and the run
    ended in a calling error, and GIMP, keeping values only after a success, lost the typed
    prompt); corrected, the same dialog runs. Nothing refused was sent."""
    entry = run.ran("dialog_refusals", clean_steps=True)
    runs = entry["runs"]
    expected = {
        "quality": "xhigh",
        "long_prompt": "32000",
        "expand_aspect": "3:1 shape limit",
    }
    for key, words in expected.items():
        got = runs[key]
        assert got["problems"], f"{key}: the dialog closed without saying why: {got}"
        assert words in got["problems"][0], (key, got["problems"])
        assert got["status"] == "success", (key, got)
    assert runs["long_prompt"]["prompt_kept"] > 32000  # what was typed is still there
    sent = run.requests_for("dialog_refusals")
    assert len(sent) == 3, [r["params"].get("prompt", "")[:60] for r in sent]
    assert all(r["params"].get("quality") != "xhigh" for r in sent)
    assert all(len(r["params"]["prompt"]) < 32000 for r in sent)


# --- hostile inputs, from scripts, beside the CLI ------------------------------------------

#: Runs that must be refused (CALLING_ERROR, the image exactly as it was) and the words saying why.
REFUSED = {
    "empty_prompt": "The prompt is empty",
    "blank_prompt": "The prompt is empty",
    "layer_off_canvas": "lies entirely outside the image",
    "long_prompt": "the API takes at most 32000",
}


def test_hostile_inputs_are_refused_with_the_reason_or_add_one_layer(run):
    entry = run.ran("hostile", clean_steps=True)
    for label, got in entry["runs"].items():
        if label in REFUSED:
            assert got["status"] == "calling-error", (label, got)
            assert REFUSED[label] in got["message"], (label, got["message"])
            assert got["untouched"], f"{label}: refused but the image changed"
            continue
        assert got["status"] == "success", (label, got)
        assert not got["untouched"], label
        before, after = got["names_before"], got["names_after"]
        if label.endswith("_expand") or "_expand_" in label:
            assert after[1:] == before, (label, before, after)  # the fill on top
        else:  # one new layer, nothing else changed in the layer list
            assert len(after) == len(before) + 1 and set(before) <= set(after), (label, after)
    assert entry["indexed_base"] == "indexed"


def test_the_gimp_procedures_and_the_cli_agree_on_hostile_inputs(run):
    """The same input refused by both (exit 2 / CALLING_ERROR, the same reason) or run by both."""
    entry = run.ran("hostile", clean_steps=True)
    gimp, cli = entry["runs"], entry["cli"]
    shared = sorted(set(gimp) & set(cli))
    assert len(shared) >= 8, shared
    for label in shared:
        refused = gimp[label]["status"] == "calling-error"
        assert cli[label]["exit"] == (2 if refused else 0), (label, gimp[label], cli[label])
        if refused:
            reason = REFUSED[label]
            assert reason.lower() in cli[label]["stderr"].lower(), (label, cli[label]["stderr"])
    requests = run.requests
    for label in REFUSED:
        assert not run.requests_for(f"hostile {label}"), label
    assert all(len(str(r["params"].get("prompt", ""))) <= 32000 for r in requests)


# --- what was typed survives a run that did not succeed ---------------------------------------


@pytest.fixture(scope="module")
def draft_runs(run) -> dict:
    entry = run.ran("dialog_draft", clean_steps=True)
    return {"typed": entry["typed"], **entry["runs"]}


def test_a_failed_run_keeps_what_was_typed(draft_runs):
    failed = draft_runs["failed"]
    assert failed["status"] == "execution-error", failed
    assert failed["draft_exists"] and failed["draft_mode"] == "0o600", failed
    assert failed["draft"]["procedure"] == "plug-in-gpt-image-edit"
    assert "key" not in json_text(failed["draft"]).lower()
    reopened = draft_runs["reopened"]
    assert reopened["shown"] == draft_runs["typed"], reopened["shown"][:200]
    assert reopened["shown_variants"] == 3
    assert reopened["status"] == "cancel" and reopened["draft_exists"]


def test_a_garbled_draft_is_ignored(draft_runs):
    garbled = draft_runs["garbled"]
    assert garbled["shown"].endswith("the last values GIMP kept"), garbled
    assert garbled["status"] == "cancel"


def test_a_successful_run_removes_the_draft(draft_runs):
    assert draft_runs["failed_again"]["draft_exists"]
    succeeded = draft_runs["succeeded"]
    assert succeeded["shown"] == draft_runs["typed"]
    assert succeeded["status"] == "success" and not succeeded["draft_exists"], succeeded
    after = draft_runs["after_success"]
    assert after["shown"].endswith("a kite that works") and after["shown_variants"] == 1


def json_text(value) -> str:
    import json

    return json.dumps(value)
