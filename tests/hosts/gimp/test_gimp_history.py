"""History… and Settings… (``plug-in-gpt-image-history``, ``plug-in-gpt-image-settings``) in the
real GIMP 3.0 and 3.2, driven as a person drives them, checked from outside.

The cases run in each GIMP's main start (``batch_cases.py``: ``history_window``,
``history_script``, ``history_reuse``, ``settings_window``): the windows are opened through the
procedures' own run functions in INTERACTIVE mode and answered by GTK timers (typing, clicking
rows and buttons); the scripted forms go through the PDB. This module sorts before
``test_gimp_host.py``, which owns (and removes) the shared run.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gimp_harness
import hostjobs
import testhosts

pytestmark = [pytest.mark.gimp, pytest.mark.slow]
RUNS = gimp_harness.run_ids([h.id for h in testhosts.selected("gimp")])


@pytest.fixture(scope="module", autouse=True, params=RUNS)
def gimp_host(request: pytest.FixtureRequest) -> Iterator[str]:
    gimp_harness.DEFAULT_HOST = request.param.partition("-")[0]
    yield request.param
    gimp_harness.DEFAULT_HOST = "gimp3.0"


@pytest.fixture(scope="module")
def run(gimp_host: str) -> gimp_harness.GimpRun:
    result = hostjobs.result(*gimp_harness.main_job(gimp_host))
    assert result.returncode == 0, f"gimp-console failed:\n{result.log[-5000:]}"
    return result


def pixels(run, name: str) -> np.ndarray:
    return np.asarray(Image.open(run.out / name).convert("RGBA")).astype(np.int32)


def assert_new_layer_active(active: dict) -> None:
    """The new layer itself is the active drawable: not its mask, not a hidden variant."""
    assert active["selected_ids"] == [active["layer_id"]]
    assert not active["selected_is_mask"] and active["edit_mask"] is False
    assert active["selected_visible"] == [True]


def test_history_window_lists_searches_inserts_and_deletes(run):
    entry = run.ran("history_window", clean_steps=True)
    window = entry["window"]
    assert entry["steps_done"] == 6 and entry["status"] == "success"
    assert window["search_widget"] and window["rows_all"] >= 2
    title, details = window["row_labels"][:2]
    assert title == "history_window: a red kite"  # the search left exactly this row
    # model, cost, date, kind and count of images, as Krita's history shows them
    assert re.fullmatch(
        r"gpt-image-2 medium · \$\d+\.\d{3} · \d{4}-\d\d-\d\d \d\d:\d\d · edit_selection · 2 images",
        details,
    ), details
    assert window["row_thumbnail"]
    assert window["insert_status"].startswith("Inserted “GPT: history_window: a red kite”")
    # Insert: the entry's own crop and feathered selection, into an image without a selection
    assert entry["layer_bounds"] == entry["original_bounds"]
    assert entry["original_bounds"][2:] != [1201, 901]  # a crop, not the whole image
    assert np.array_equal(
        pixels(run, "history_window-layer.png"), pixels(run, "history_window-original-layer.png")
    )
    assert np.array_equal(
        pixels(run, "history_window-mask.png"), pixels(run, "history_window-original-mask.png")
    )
    before, after = (
        pixels(run, "history_window-before.png"),
        pixels(run, "history_window-after.png"),
    )
    mask = np.asarray(Image.open(run.out / "history_window-mask.png").convert("L"))
    x, y, w, h = entry["layer_bounds"]
    outside = np.ones(before.shape[:2], bool)
    outside[y : y + h, x : x + w] = mask == 0
    assert not np.any(before[outside] != after[outside]), "pixels outside the selection changed"
    assert np.any(before != after)
    # one result layer keeping both variants, the first shown; it is the active drawable
    rounds = entry["stack"]["rounds"]
    assert len(rounds) == 1 and rounds[0]["images"] == [0, 1]
    assert rounds[0]["history_id"] == entry["first"]["history_id"]
    assert entry["returned_layer"] == "GPT: history_window: a red kite"
    assert_new_layer_active(entry["active"])
    # Delete asked first, then removed the entry (and only it)
    assert window["confirm_text"] == "Delete this history entry?"
    assert entry["lighthouse_entries"] == 0 and entry["kite_entries"] == 1
    assert any(t.startswith("Deleted ") for t in window["after_delete_count"])


def test_history_from_a_script(run):
    entry = run.ran("history_script", clean_steps=True)
    assert entry["insert"]["status"] == "success"
    assert entry["insert"]["history_id"] == entry["first"]["history_id"]
    assert entry["layers_added"] == 1
    assert entry["inserted_bounds"] == entry["original_bounds"]
    assert_new_layer_active(entry["active"])
    assert entry["bad_id"]["status"] == "calling-error"
    assert "Not a history id" in entry["bad_id"]["message"]
    assert entry["no_images"]["status"] == "calling-error"
    assert "has no images" in entry["no_images"]["message"]
    assert entry["delete"]["status"] == "success" and entry["entries_after_delete"] == 0
    assert entry["delete_again"]["status"] == "calling-error"
    assert "No history entry" in entry["delete_again"]["message"]


def test_history_reuse_opens_the_dialog_filled_in(run):
    entry = run.ran("history_reuse", clean_steps=True)
    assert entry["steps_done"] == 3
    assert entry["window"]["dialog_title"].startswith("GPT Image: Edit")
    assert "history_reuse: a yellow boat" in entry["window"]["dialog_texts"]
    assert entry["status"] == "success", entry.get("message")
    assert entry["entries"] == 2  # the first job and the reused one
    sent = run.requests_for("history_reuse")
    assert len(sent) == 2
    assert {r["params"]["prompt"] for r in sent} == {"history_reuse: a yellow boat"}
    assert [int(r["params"].get("n", 1)) for r in sent] == [2, 2]  # its options came along


def test_settings_window_tests_saves_and_cancels(run):
    entry = run.ran("settings_window", clean_steps=True)
    window = entry["window"]
    assert entry["steps_done"] == 3 and entry["status"] == "success"
    assert window["key_masked"]
    for name in ("gptImageApiKey", "gptImageProvider", "gptImageBaseUrl", "gptImageAzureEndpoint",
                 "gptImageAzureDeployment", "gptImageApiVersion", "gptImageModel",
                 "gptImageQuality", "gptImagePartials", "gptImageTimeout",
                 "gptImageTestConnection"):  # fmt: skip
        assert name in window["names"], name
    before = entry["files_before"]
    # Test connection used the window's values and wrote nothing
    assert window["test_result"].startswith("Connected to http://127.0.0.1:")
    assert "gpt-image-2" in window["test_result"]
    assert window["files_after_test"] == before
    # an empty model is refused, the window stays open, nothing written
    assert window["refusal"].startswith("Not saved: Model")
    assert window["files_after_refusal"] == before
    # Save wrote the shared settings file and the owner-only key file (the key stripped)
    saved = entry["saved"]
    assert saved["quality"] == "high" and saved["partial_images"] == 2
    assert saved["timeout_s"] == 120.0 and saved["model"] == "gpt-image-1.5"
    assert "api_key" not in saved and "sk-" not in str(saved)
    assert "base_url" not in saved or saved["base_url"] is None  # OPENAI_BASE_URL is not saved
    assert entry["key_file_mode"] == "0o600" and entry["key_file_text"]
    # reopened: shows what was saved; Cancel writes nothing
    assert window["reopened_quality"] == "high"
    assert entry["cancel_status"] == "cancel" and entry["unchanged_after_cancel"]
    assert entry["scripted"]["status"] == "calling-error"
    assert gimp_harness.TEST_KEY not in run.log


def test_edit_dialog_for_a_new_user(run):
    """Titled "GPT Image: Edit"; a multi-line prompt; references picked, not typed as ids; an
    empty prompt caught before the dialog closes; the picked file is sent."""
    entry = run.ran("dialog_checks", clean_steps=True)
    dialog = entry["dialog"]
    assert dialog["title"] == "GPT Image: Edit"
    assert dialog["prompt_is_text_view"]
    assert dialog["file_choosers"] >= 3  # reference files: GTK file chooser buttons
    for label in ("Reference layer", "Reference layer 2", "Reference file", "Reference file 3"):
        assert label in dialog["labels"], label  # layers: GIMP's own drawable pickers
    assert "prompt is empty" in dialog["problem"]
    assert not dialog.get("closed_on_empty_prompt")
    assert entry["status"] == "success", entry.get("message")
    [request] = run.requests_for("dialog_checks")
    assert request["params"]["prompt"] == "dialog_checks: a paper boat\non a blue pond"
    sizes = [tuple(img["size"]) for img in request["images"]]
    assert len(sizes) == 2 and sizes[1] == (90, 70), sizes  # the crop + the picked file


def test_every_procedure_is_called_gpt_image_something(run):
    """GIMP names a run by its menu label: Repeat "GPT Image: Edit", Undo GPT Image: Edit,
    "Execution error for 'GPT Image: Edit'" (not a bare "Edit")."""
    entry = run.ran("labels", clean_steps=True)
    expected = {
        "plug-in-gpt-image-edit": "GPT Image: _Edit…",
        "plug-in-gpt-image-generate": "GPT Image: _Generate…",
        "plug-in-gpt-image-expand": "GPT Image: E_xpand…",
        "plug-in-gpt-image-variants": "GPT Image: _Variants…",
        "plug-in-gpt-image-history": "GPT Image: _History…",
        "plug-in-gpt-image-settings": "GPT Image: _Settings…",
    }
    assert entry["labels"] == expected
    for paths in entry["menus"].values():
        assert paths == ["<Image>/Filters/GPT Image"]
