"""The GIMP 3 plug-in in the real GIMP 3.0.4 (trixie) and 3.2.6 (forky), checked from outside.

Per GIMP, one start (``gimp_harness.run_gimp``) runs every case of ``batch_cases.py`` through the
PDB, non-interactively, against the local stand-in API; the tests below read the exported PNGs /
raw dumps with Pillow and numpy. Every test here runs once per GIMP (the ``gimp_host`` fixture).
Needs root (chroot, mount): ``python -m pytest -m gimp tests/hosts/gimp``.
"""

from __future__ import annotations

import json
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

from core.geometry import Extent
from core.pipeline import BlendOptions, Mode, plan_job
from core.selection import SelectionMask
from tests.standin.imaging import edited_pixel

pytestmark = [pytest.mark.gimp, pytest.mark.slow]


#: grow (settings default) + 2 x feather + rounding: how far a result may reach past the selection.
def reach(feather: int, grow: int = 6) -> int:
    return grow + 2 * feather + 2


#: Every GIMP of testhosts.HOSTS, each installed by install.py; GIMP 3.0.4 (trixie, Python 3.13)
#: also from the release zip for its Python unzipped into a fresh profile's plug-ins folder (as
#: a user installs it): run id "gimp3.0-bundle".
RUNS = gimp_harness.run_ids([h.id for h in testhosts.selected("gimp")])


@pytest.fixture(scope="module", autouse=True, params=RUNS)
def gimp_host(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module, once per GIMP run: its runs default to this run's host."""
    gimp_harness.DEFAULT_HOST = request.param.partition("-")[0]
    yield request.param
    gimp_harness.DEFAULT_HOST = "gimp3.0"


@pytest.fixture(scope="module")
def run(gimp_host: str) -> Iterator[gimp_harness.GimpRun]:
    result = hostjobs.result(*gimp_harness.main_job(gimp_host))
    assert result.returncode == 0, (
        f"gimp-console failed ({result.returncode}):\n{result.log[-5000:]}"
    )
    assert result.summary.get("cases"), f"no summary written:\n{result.log[-5000:]}"
    yield result
    hostjobs.wait(("gimp", gimp_host, "no_key"))  # a second start may still use this profile
    gimp_harness.clean_up(result)


def rgba(run, name: str) -> np.ndarray:
    return np.asarray(Image.open(run.out / name).convert("RGBA")).astype(np.int32)


def gray(run, name: str) -> np.ndarray:
    return np.asarray(Image.open(run.out / name).convert("L")).astype(np.int32)


def changed(run, name: str) -> np.ndarray:
    before, after = rgba(run, f"{name}-before.png"), rgba(run, f"{name}-after.png")
    assert before.shape == after.shape
    return np.any(before != after, axis=-1)


def new_layer_mask(run, name: str, entry: dict) -> np.ndarray:
    """The result's layer mask placed on the canvas (0 outside the layer)."""
    mask = gray(run, f"{name}-mask.png")
    x, y, w, h = entry["layer_bounds"]
    canvas = np.zeros(rgba(run, f"{name}-before.png").shape[:2], np.int32)
    canvas[y : y + h, x : x + w] = mask
    return canvas


def assert_untouched_outside_mask(run, name: str, entry: dict) -> np.ndarray:
    diff = changed(run, name)
    mask = new_layer_mask(run, name, entry)
    outside = mask == 0
    assert outside.any()
    assert not diff[outside].any(), "pixels outside the layer mask changed"
    return diff


def assert_masked_result(run, name: str, entry: dict, feather: int) -> None:
    """Outside bit-identical, inside changed, mask present and tied to the selection."""
    assert entry["status"] == "success", entry.get("message")
    new = entry["tree_after"][entry["layer_index"]]
    assert new["has_mask"] or new["is_group"]
    diff = assert_untouched_outside_mask(run, name, entry)
    x1, y1, x2, y2 = entry.get("selection_bounds") or [51, 41, 114, 88]
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    assert diff[cy, cx], "the centre of the selection did not change"
    mask = new_layer_mask(run, name, entry)
    assert mask[cy, cx] == 255
    ys, xs = np.nonzero(mask)
    r = reach(feather)
    assert xs.min() >= x1 - r and xs.max() < x2 + r and ys.min() >= y1 - r and ys.max() < y2 + r
    ys, xs = np.nonzero(diff)
    assert xs.min() >= x1 - r and xs.max() < x2 + r and ys.min() >= y1 - r and ys.max() < y2 + r


def assert_above_active(entry: dict, expect_name: str) -> dict:
    before = [layer["name"] for layer in entry["tree_before"]]
    after = [layer["name"] for layer in entry["tree_after"]]
    assert after[0] == expect_name and after[1:] == before, (before, after)
    return entry["tree_after"][0]


def test_installed_as_a_user_would(run):
    plugin = run.profile / "plug-ins" / "gpt-image"
    if run.install == "install.py":
        assert (plugin / ".install-manifest.json").is_file()
        assert not (plugin / "bundle.json").exists()
    else:  # the release zip, unzipped: its bundle.json fits this GIMP, so nothing refused
        assert run.install == f"bundle:{gimp_harness.BUNDLE_KEY}"
        bundle = json.loads((plugin / "bundle.json").read_text())
        assert bundle["python"] == run.host.python
        assert bundle["platform"] == "linux-x86_64"
        assert not (plugin / ".install-manifest.json").exists()
    for part in ("gpt-image.py", "gpt_image_gimp/plugin.py", "core/jobs.py", "vendor/openai"):
        assert (plugin / part).exists(), part
    # The GIMP that ran is the one this host stands for (3.0.4 or 3.2.6, as packaged).
    assert run.gimp_version.startswith(run.host.series + ".")
    assert run.summary["gimp_version"] == run.gimp_version


def test_mismatched_bundle_is_refused_naming_the_right_zip():
    """GIMP 3.0's Flatpak zip (Python 3.12) unzipped into a GIMP whose Python is 3.13: the
    procedure fails with a message naming the zip that fits, and the image stays untouched.
    (Trixie's GIMP 3.0.4 only: one GIMP start, shared by every run id of this module.)"""
    other = hostjobs.result(*gimp_harness.mismatched_bundle_job())
    # the result is shared by every run id: cleaned up with stale runs, not here
    assert other.returncode == 0, other.log[-5000:]
    entry = other.ran("no_vendor")
    assert entry["status"] == "execution-error"
    message = entry["message"]
    assert "Python 3.12" in message and "Python 3.13" in message, message
    assert re.search(r"Install gpt-image-gimp-[^ ]+-linux-x86_64-py313\.zip instead", message)
    assert "plug-ins folder" in message
    assert_untouched(other, "no_vendor", entry)
    assert other.requests_for("no_vendor") == []


def test_masked_edit_on_offset_layer_with_odd_ellipse(run):
    name = "masked_edit"
    entry = run.ran(name)
    new = assert_above_active(entry, "GPT: masked_edit: a red apple")
    assert new["has_mask"] and not new["is_group"] and new["type"] == "rgba-image"
    assert_masked_result(run, name, entry, feather=4)
    # The layer sits at the crop core plans for this selection (crop offset, not the origin).
    coverage = Image.open(run.out / f"{name}-selection.png").convert("L")
    selection = SelectionMask(coverage)
    plan = plan_job(
        Mode.EDIT_SELECTION,
        Extent(*entry["canvas"]),
        selection,
        blend=BlendOptions(padding_px=24, grow_px=6, feather_px=4),
    )
    assert entry["layer_bounds"] == list(plan.source_bounds)
    assert entry["layer_bounds"][:2] != [0, 0]
    [request] = run.requests_for(name)
    assert request["endpoint"] == "edits" and request["mask"] is not None
    assert new["job"]["history_id"] == entry["history_id"]
    assert new["job"]["prompt"] == "masked_edit: a red apple"


def test_feathered_selection_gives_soft_mask(run):
    name = "feathered_edit"
    entry = run.ran(name)
    assert_masked_result(run, name, entry, feather=0)
    mask = new_layer_mask(run, name, entry)
    soft = np.count_nonzero((mask > 0) & (mask < 255))
    assert soft > 100, "a feathered selection should give intermediate mask values"


def test_whole_image_edit_without_selection(run):
    name = "whole_image"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    new = assert_above_active(entry, "GPT: whole_image: make it night")
    assert entry["layer_bounds"] == [0, 0, *run.summary["image_size"]]
    assert new["has_mask"]
    assert (gray(run, f"{name}-mask.png") == 255).all()
    assert changed(run, name).mean() > 0.9
    [request] = run.requests_for(name)
    assert request["endpoint"] == "edits" and request["mask"] is None


def test_generate_into_selection(run):
    name = "generate_selection"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert_above_active(entry, "GPT: generate_selection: a lighthouse")
    assert entry["layer_bounds"] == [31, 21, 90, 60]
    diff = changed(run, name)
    assert diff[21:81, 31:121].all()
    outside = np.ones_like(diff)
    outside[21:81, 31:121] = False
    assert not diff[outside].any()
    [request] = run.requests_for(name)
    assert request["endpoint"] == "generations"


def test_generate_without_selection_fills_image(run):
    name = "generate_image"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert entry["layer_bounds"] == [0, 0, *run.summary["image_size"]]
    assert changed(run, name).all()


def test_three_variants_make_one_result_layer(run):
    name = "variants"
    entry = run.ran(name)
    layer = assert_above_active(entry, "GPT: variants: three cats")
    assert not layer["is_group"] and layer["has_mask"]
    assert layer["job"]["history_id"] == entry["history_id"]
    assert_masked_result(run, name, entry, feather=8)
    [request] = run.requests_for(name)
    assert int(request["params"].get("n", 1)) == 3


def _patch_pixels(run, history_id: str, index: int):
    from core.history import History
    from core.jobs import patch_from_history

    record = History(run.data_dir / "history").get(history_id)
    return patch_from_history(record, index)


def _layer_shows(run, png: str, patch) -> bool:
    x, y, w, h = patch.bounds
    got = rgba(run, png)[y : y + h, x : x + w]
    want = np.asarray(patch.image.convert("RGBA")).astype(np.int32)
    return bool(np.abs(got - want).max() <= 1)


def test_variants_flip_keep_and_refine_in_place(run):
    name = "variants_flip"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    job = entry["history_id"]
    patches = [_patch_pixels(run, job, i) for i in range(3)]
    assert _layer_shows(run, f"{name}-layer.png", patches[0])
    steps = entry["steps"]
    expected = [1, 2, 1, 2]  # next, next, previous, show 3 -> indices shown
    for i, want in enumerate(expected):
        step = steps[i]
        assert step["status"] == "success", step
        assert step["layers"] == len(entry["tree_before"]) + 1, "a flip must add no layer"
        assert _layer_shows(run, f"{name}-step{i}.png", patches[want]), (i, step)
        assert step["stack"]["shown"] == [0, want]
    assert steps[4]["status"] == "calling-error" and "3 variant" in steps[4]["message"]
    refine = steps[5]
    assert refine["status"] == "success", refine
    stack = refine["stack"]
    assert len(stack["rounds"]) == 2 and stack["shown"] == [1, 0]
    child = stack["rounds"][1]["history_id"]
    assert stack["rounds"][1]["parent_id"] == job
    assert _layer_shows(run, f"{name}-step5.png", _patch_pixels(run, child, 0))
    prompts = [r["params"]["prompt"] for r in run.requests_for(name)]
    [prompt] = [p for p in prompts if "add a hat" in p]
    assert "three owls" in prompt
    kept = steps[6]
    assert kept["status"] == "success" and kept["count"] == 1
    assert kept["stack"]["rounds"][0]["history_id"] == child
    assert entry["plain_layer"]["status"] == "calling-error"
    assert entry["keep_all"]["status"] == "success", entry["keep_all"]
    group = next(layer for layer in entry["tree_final"] if layer["is_group"])
    assert len(group["children"]) == 2
    assert [c["visible"] for c in group["children"]] == [True, False]
    assert all(c["has_mask"] for c in group["children"])


def test_variants_window_shows_thumbnails_and_flips_on_a_click(run):
    name = "variants_window"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    window = entry["window"]
    assert window["thumbnails"] == 2 and window["images"] == 2
    assert entry["shown"] == [0, 1] and entry["result_is_layer"]
    assert _layer_shows(run, f"{name}-layer.png", _patch_pixels(run, entry["history_id"], 1))


def test_edit_on_a_result_layer_offers_refine(run):
    name = "edit_refine"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert entry["same_layer"] and entry["layers_added"] == 0
    stack = entry["stack"]
    assert len(stack["rounds"]) == 2 and stack["shown"] == [1, 0]
    assert stack["rounds"][1]["parent_id"] == entry["first"]["history_id"]
    [prompt] = [
        r["params"]["prompt"] for r in run.requests_for(name) if "orange" in r["params"]["prompt"]
    ]
    assert "a grey cat" in prompt and "Follow-up" in prompt


def test_a_result_layer_is_read_as_it_shows(run):
    from core.history import History

    entry = run.ran("edit_seen")
    assert entry["status"] == "success", entry.get("message")
    record = History(run.data_dir / "history").get(entry["history_id"])
    cx, cy, cw, _ch = record.data["crop"]
    with Image.open(record.inputs["image"]) as sent:
        alpha = np.asarray(sent.convert("RGBA").getchannel("A"))
    scale = alpha.shape[1] / cw
    x, y, w, h = entry["result_bounds"]
    corner = (int((x + 1 - cx) * scale), int((y + 1 - cy) * scale))  # mask 0 there
    centre = (int((x + w // 2 - cx) * scale), int((y + h // 2 - cy) * scale))
    assert alpha[corner[1], corner[0]] == 0, "hidden pixels of the result layer were sent"
    assert alpha[centre[1], centre[0]] == 255


def test_references_argument_sends_file_layer_id_and_named_layer(run):
    name = "references"
    entry = run.ran(name)
    assert entry["styles_name"] == "styles.xcf"
    assert_masked_result(run, name, entry, feather=8)
    [request] = run.requests_for(name)
    assert request["endpoint"] == "edits"
    assert len(request["images"]) == 4, request["images"]  # the crop + file + id + name
    sizes = [tuple(img["size"]) for img in request["images"][1:]]
    # references keep their order: the file (160x120), layer:<id> (101x77), styles.xcf/ink/pen
    assert sizes == [(160, 120), (101, 77), (64, 48)], sizes


def test_reference_layer_argument_with_generate(run):
    name = "reference_layer"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert entry["layer_bounds"] == [0, 0, *run.summary["image_size"]]
    [request] = run.requests_for(name)
    assert request["endpoint"] == "edits"  # text-to-image with references
    sizes = [tuple(img["size"]) for img in request["images"]]
    assert sizes == [(101, 77), (160, 120)], sizes  # the layer given twice is sent once


def test_unresolvable_references_are_calling_errors(run):
    name = "bad_references"
    entry = run.ran(name)
    tries = entry["tries"]
    for key, res in tries.items():
        assert res["status"] == "calling-error", (key, res)
    assert "no open image has a layer" in tries["unknown_id"]["message"]
    assert "item id 99999999999999" in tries["huge_id"]["message"]
    assert "no-such-reference.png" in tries["missing_file"]["message"]
    assert "neither an existing image file" in tries["missing_file"]["message"]
    assert "[Untitled]/no such layer" in tries["unknown_name"]["message"]
    assert "16 reference images given; at most 15" in tries["too_many"]["message"]
    assert "16 reference images given" in tries["too_many_with_layer"]["message"]
    assert_untouched(run, name, entry)
    assert run.requests_for(name) == []


def assert_untouched(run, name: str, entry: dict) -> None:
    assert entry["tree_after"] == entry["tree_before"]
    assert not changed(run, name).any()


def test_api_error_leaves_image_untouched(run):
    name = "api_error"
    entry = run.ran(name)
    assert entry["status"] == "execution-error"
    assert "safety system" in entry["message"] and "Rephrase" in entry["message"]
    # a person reads the message and the hint; the API's code and request id go to the log
    assert "[moderation_blocked]" not in entry["message"] and "(request " not in entry["message"]
    log_text = (run.data_dir / "logs" / "gimp-plugin.log").read_text()
    assert "moderation_blocked" in log_text and "req_" in log_text
    assert_untouched(run, name, entry)


def test_cancel_from_outside_leaves_image_untouched(run):
    name = "cancel"
    entry = run.ran(name)
    assert run.notes["cancel_file_created_at"], "the harness never saw the request"
    assert entry["status"] == "cancel", entry
    assert entry["elapsed_s"] < 20, "cancel should not wait for the slow response"
    assert_untouched(run, name, entry)
    assert not run.cancel_file.exists(), "the plug-in removes its cancel file"


def test_time_limit_cancels(run):
    name = "timeout"
    entry = run.ran(name)
    assert entry["status"] == "cancel"
    assert entry["elapsed_s"] < 15
    assert_untouched(run, name, entry)


def test_gray_image(run):
    name = "gray"
    entry = run.ran(name)
    new = assert_above_active(entry, "GPT: gray: a gray stone")
    assert new["type"] == "graya-image"
    assert_masked_result(run, name, entry, feather=8)


def test_16_bit_image(run):
    name = "u16"
    entry = run.ran(name)
    assert entry["precision"] == "u16-non-linear"
    assert_masked_result(run, name, entry, feather=8)
    w, h = run.summary["image_size"]
    before = np.fromfile(run.out / f"{name}-before.u16", np.uint16).reshape(h, w, 4)
    after = np.fromfile(run.out / f"{name}-after.u16", np.uint16).reshape(h, w, 4)
    mask = new_layer_mask(run, name, entry)
    assert np.array_equal(before[mask == 0], after[mask == 0]), "16-bit pixels outside changed"
    assert np.any(before[mask == 255] != after[mask == 255])


def test_history_and_log(run):
    history = run.data_dir / "history"
    ok = [
        run.case(n)["history_id"]
        for n in ("masked_edit", "variants", "u16")
        if run.case(n).get("history_id")
    ]
    assert len(ok) == 3
    for job_id in ok:
        job = next(history.rglob(f"{job_id}/job.json"), None)
        assert job is not None, f"history has no {job_id}"
        assert json.loads(job.read_text())["status"] == "done"
    log_file = run.data_dir / "logs" / "gimp-plugin.log"
    text = log_file.read_text()
    assert "plug-in-gpt-image-edit" in text
    for path in run.data_dir.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".txt"):
            assert gimp_harness.TEST_KEY not in path.read_text(errors="replace"), path
    assert gimp_harness.TEST_KEY not in run.log


def test_interactive_pieces_under_xvfb(run):
    """Dialog, cost estimate, progress window and key prompt, driven by timers (no person)."""
    entry = run.ran("ui_smoke")
    assert entry["estimate"].startswith("Estimated cost: about $") and "2 ×" in entry["estimate"]
    labels = entry["dialog_labels"]["ProcedureDialog"]
    for label in ("Prompt", "Model", "Quality", "Variants", "Source", "References"):
        assert label in labels
    assert entry["estimate"] in labels
    assert any(text.startswith("Provider:") and "OPENAI_API_KEY" in text for text in labels)
    assert entry["dialog_ok"] is True
    # the model picker lists core's models with their descriptions, as Krita's does
    assert entry["picker_rows"] == entry["known_models"]
    described = dict(entry["picker_rows"])
    assert described["gpt-image-2.5-flare"].startswith("fast")
    assert described["gpt-image-2.5-sunburst"].startswith("precise")
    assert described["gpt-image-1.5"].startswith("legacy")
    assert entry["picked_model"] == "gpt-image-2.5-flare"
    assert entry["progress_has_preview"] and "3.2 s" in entry["progress_text"]
    assert entry["progress_cancelled"] is True
    assert "No OpenAI API key" in entry["dialog_labels"]["Dialog"][0]
    assert entry["key_prompt_result"] is True and entry["key_file_mode"] == "0o600"


def test_the_dialog_estimate_is_the_estimate_of_the_job_it_runs(run):
    """Padding, references, variants and the layer-smaller-than-image rule all reach the
    dialog's figure: it equals the estimate recorded by the run with the same values."""
    entry = run.ran("dialog_estimate")
    rows = {row["label"]: row for row in entry["rows"]}
    assert set(rows) == {"selection", "small_layer", "generate"}
    for label, row in rows.items():
        assert row["status"] == "success", (label, row.get("message"))
        assert row["dialog_usd"] == row["job_usd"] > 0, (label, row)
        assert row["dialog_size"] == row["job_size"], (label, row)
        assert row["dialog_crop"] == row["job_crop"], (label, row)
        assert row["dialog_mode"] == row["job_mode"], (label, row)
        assert row["text"].startswith("Estimated cost: about $"), row["text"]
    # the small layer without a selection is a masked edit of its own area (core's mode rule)
    assert rows["small_layer"]["job_mode"] == "edit_selection"
    assert rows["small_layer"]["job_selection_origin"] == [37, 23]
    assert rows["generate"]["job_mode"] == "generate"


def test_edit_and_the_cli_send_the_same_request(run):
    """Edit… in real GIMP and ``python -m core edit`` (core's CLI, in the same GIMP process)
    on the same picture, selection and options: the stand-in received the same request, to
    every field, file name, size and pixel digest (issue #10; host-free table:
    tests/test_request_equality.py)."""
    from tests.request_paths import compared

    entry = run.ran("request_equality")
    assert len(entry["rows"]) == 3
    for row in entry["rows"]:
        assert row["gimp"] == "success" and row["cli"] == 0, row
        sent = [
            r
            for r in run.requests
            if r.get("endpoint") == "edits"
            and (r.get("params") or {}).get("prompt") == row["prompt"]
        ]
        assert len(sent) == 2 and all(r["outcome"] == "ok" for r in sent), sent
        gimp, cli = compared(sent[0]), compared(sent[1])
        assert gimp == cli, row["label"]
        assert (gimp["mask"] is not None) == (row["label"] != "flare_whole")


def _leaks(text: str, secret: str) -> bool:
    return any(secret[i : i + 7] in text for i in range(len(secret) - 6))


def _dialog_key() -> str:
    """``batch_cases.DIALOG_KEY`` (that file runs inside GIMP, so it is read, not imported)."""
    import ast

    tree = ast.parse((Path(__file__).parent / "batch_cases.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DIALOG_KEY":
            return ast.literal_eval(node.value)
    raise AssertionError("batch_cases.py defines no DIALOG_KEY")


def test_key_dialog_refuses_stray_characters_and_shows_none_of_the_key(run):
    """The key dialog typed into and clicked as a person does (batch_cases.case_key_dialog)."""
    key = _dialog_key()
    entry = run.ran("key_dialog")
    assert entry["status"] == "success"
    assert entry["refused_result"] is True, "Cancel after the refusals gives no key"
    assert set(entry["refused"]) == {"space", "newline", "tab", "zero_width", "control"}
    for kind, attempt in entry["refused"].items():
        said = attempt["after"]
        assert "API key" in said and "contains" in said, (kind, said)
        assert "No OpenAI API key is set" in said, "the dialog still explains itself"
        assert not _leaks(said, key), f"{kind}: the message shows part of the key"
    assert (
        "line break" in entry["refused"]["newline"]["after"]
        or not entry["refused"]["newline"]["entry_kept_text"]
    ), "a newline GTK kept must be refused as a line break"
    assert "non-ASCII" in entry["refused"]["zero_width"]["after"]
    assert "control character" in entry["refused"]["control"]["after"]
    assert entry["key_file_unchanged"] is True and entry["dialog_key_in_file"] is False
    assert entry["padded_accepted"] is True and entry["padded_rounds"] == 1
    assert entry["padded_saved_stripped"] is True and entry["padded_read_back_stripped"] is True
    assert entry["key_file_mode"] == "0o600"
    log_text = (run.data_dir / "logs" / "gimp-plugin.log").read_text(errors="replace")
    assert not _leaks(log_text, key) and not _leaks(run.log, key)
    summary = json.dumps(entry)
    assert not _leaks(summary, key), "the summary holds facts, not the key"


def test_whole_layer_edit_of_a_layer_smaller_than_the_image(run):
    name = "small_layer"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert_untouched_outside_mask(run, name, entry)
    x, y, w, h = 37, 23, 101, 77  # the offset layer (batch_cases.new_image)
    diff = changed(run, name)
    assert diff[y + h // 2, x + w // 2] and diff[y + 2, x + 2]
    ys, xs = np.nonzero(diff)
    r = reach(2)
    assert xs.min() >= x - r and xs.max() < x + w + r and ys.min() >= y - r and ys.max() < y + h + r


def test_layer_without_alpha(run):
    name = "no_alpha"
    entry = run.ran(name)
    new = assert_above_active(entry, "GPT: no_alpha: on the background")
    assert new["type"] == "rgba-image"
    assert_masked_result(run, name, entry, feather=8)


def test_32_bit_float_linear_image(run):
    name = "f32"
    entry = run.ran(name)
    assert entry["precision"] == "float-linear"
    assert_masked_result(run, name, entry, feather=8)
    w, h = run.summary["image_size"]
    before = np.fromfile(run.out / f"{name}-before.u16", np.uint16).reshape(h, w, 4)
    after = np.fromfile(run.out / f"{name}-after.u16", np.uint16).reshape(h, w, 4)
    mask = new_layer_mask(run, name, entry)
    assert np.array_equal(before[mask == 0], after[mask == 0])


def assert_edited_from(run, name: str, entry: dict, prompt: str, at: tuple[int, int]) -> None:
    """The result at canvas point ``at`` is the stand-in's edit of the *source* layer's pixel
    there (not of the layers under it): the plug-in read the layer as it is shown."""
    x, y = at
    source = tuple(int(v) for v in rgba(run, f"{name}-source.png")[y, x, :3])
    below = tuple(int(v) for v in rgba(run, f"{name}-before.png")[y, x, :3])
    lx, ly = entry["layer_bounds"][:2]
    result = rgba(run, f"{name}-layer.png")[y, x, :3]
    assert np.abs(result - np.array(edited_pixel(source, prompt, 0))).max() <= 4, (source, result)
    # the layers under the source look different there, so this tells them apart
    assert np.abs(result - np.array(edited_pixel(below, prompt, 0))).max() > 8 or source == below
    assert (lx, ly) <= (x, y)


def test_gimp32_vector_layer_is_read_as_shown_and_kept(run):
    """GIMP 3.2: the active layer may be a vector layer. Its rendered pixels are the source;
    the result is a new raster layer above it, the vector layer stays a vector layer."""
    name = "vector_layer"
    entry = run.ran(name)
    if run.host.series == "3.0":
        assert entry["available"] is False  # GIMP 3.0 has no vector layers: nothing to check
        return
    assert entry["available"] and entry["drawable_type"] == "VectorLayer"
    assert entry["status"] == "success", entry.get("message")
    assert entry["vector_layer_still_vector"]
    new = assert_above_active(entry, f"GPT: {name}: repaint the ellipse")
    assert new["type"] == "rgba-image" and new["has_mask"]
    assert_masked_result(run, name, entry, feather=8)
    assert_edited_from(run, name, entry, f"{name}: repaint the ellipse", (82, 64))


def test_gimp32_link_layer_is_read_as_shown_and_kept(run):
    """GIMP 3.2: the active layer may be a link layer (an external file); with no selection its
    own area is edited from the pixels it shows, and it stays a link layer."""
    name = "link_layer"
    entry = run.ran(name)
    if run.host.series == "3.0":
        assert entry["available"] is False
        return
    assert entry["available"] and entry["drawable_type"] == "LinkLayer"
    assert entry["status"] == "success", entry.get("message")
    assert entry["link_layer_still_link"]
    assert_above_active(entry, f"GPT: {name}: repaint the linked image")
    assert_untouched_outside_mask(run, name, entry)
    x, y, w, h = 30, 20, 90, 70  # the link layer (batch_cases._link_layer)
    ys, xs = np.nonzero(changed(run, name))
    r = reach(8)
    assert xs.min() >= x - r and xs.max() < x + w + r and ys.min() >= y - r and ys.max() < y + h + r
    assert_edited_from(run, name, entry, f"{name}: repaint the linked image", (75, 55))


def test_with_last_values_before_any_interactive_run(run):
    """GIMP 3.0 keeps last values from interactive runs only: a scripted RUN-WITH-LAST-VALS
    before any dialog gets the defaults, so the empty prompt is refused, clearly, untouched."""
    name = "last_values"
    entry = run.ran(name)
    assert entry["first"]["status"] == "success"
    assert entry["status"] == "calling-error"
    assert "prompt is empty" in entry["message"]
    assert_untouched(run, name, entry)


@pytest.fixture(scope="module")
def run_without_key(run) -> Iterator[gimp_harness.GimpRun]:
    """A second, short GIMP start with no key anywhere (same installed plug-in)."""
    result = hostjobs.result(*gimp_harness.no_key_job(run))
    assert result.returncode == 0, result.log[-5000:]
    yield result
    gimp_harness.clean_up(result)


def test_missing_key_is_explained(run_without_key):
    name = "no_key"
    entry = run_without_key.ran(name)
    assert entry["status"] == "calling-error"
    assert "No OpenAI API key" in entry["message"] and "OPENAI_API_KEY" in entry["message"]
    assert "GPT Image → Settings…" in entry["message"]
    assert_untouched(run_without_key, name, entry)
    assert run_without_key.requests_for(name) == []


def test_interactive_run_with_dialog_progress_and_previews(run):
    """The menu path (INTERACTIVE) in real GIMP under Xvfb: dialog (OK pressed by a timer),
    progress window showing the streamed partial preview, result layer with its mask."""
    name = "interactive"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert entry["progress_windows"] == 1 and entry["previews_shown"] >= 1
    labels = entry["dialog_labels"]["ProcedureDialog"]
    assert any(text.startswith("Estimated cost: about $") for text in labels)
    assert_above_active(entry, "GPT: interactive: a blue bird")
    assert_masked_result(run, name, entry, feather=8)
    assert_watched_run(entry)


DONE = re.compile(
    r"GPT Image: Edit: the result in \d+ s — cost \$\d+\.\d{3} \(estimate \$\d+\.\d{3}\)\."
)


def assert_watched_run(entry: dict) -> None:
    """A run a person watches: its own progress window (titled for the procedure, with a
    progress bar and Cancel) and never GIMP's status-bar progress, whose Cancel kills the
    plug-in mid-request; afterwards the actual cost next to the estimate; the new layer itself
    (not its mask) is the active drawable."""
    assert entry["progress_windows"] == 1
    assert entry["progress_title"] == "GPT Image: Edit"
    assert entry["progress_bar"] and entry["progress_cancel"]
    assert entry["gimp_progress_calls"] == []
    assert len(entry["told"]) == 1 and DONE.fullmatch(entry["told"][0]), entry["told"]
    active = entry["active"]
    assert active["selected_ids"] == [active["layer_id"]] and not active["selected_is_mask"]
    assert active["edit_mask"] is False


def test_repeat_last_shows_progress_and_cost_without_a_dialog(run):
    """Filters → Repeat (RUN-WITH-LAST-VALS from the menu): no dialog, the same window and
    message as a menu click."""
    name = "repeat_last"
    entry = run.ran(name)
    assert entry["status"] == "success", entry.get("message")
    assert "dialog_labels" not in entry
    assert_watched_run(entry)
    assert_masked_result(run, name, entry, feather=8)


def test_interactive_cancel_button(run):
    name = "interactive_cancel"
    entry = run.ran(name)
    assert entry["status"] == "cancel"
    assert entry["elapsed_s"] < 15
    assert entry["gimp_progress_calls"] == []
    # told plainly, and truly: the slow request had reached the API, so it may be billed
    assert entry["told"] == [
        "GPT Image: Edit: Cancelled by the user. The request had already reached the API, so it "
        "may still be billed. — Nothing was changed in the image."
    ], entry["told"]
    # a clean cancel, recorded as one (not "interrupted" by a killed plug-in)
    from core.history import History

    [record] = History(run.data_dir / "history").search(f"{name}:")
    assert record.status == "cancelled", record.status
    assert_untouched(run, name, entry)
    log_text = (run.data_dir / "logs" / "gimp-plugin.log").read_text()
    assert "Cancelled by the user." in log_text


def test_missing_vendor_is_explained(gimp_host):
    """A plug-in copied without vendor/ still registers; running it says what to do."""
    # One GIMP start per host, shared by its run ids: cleaned up with stale runs, not here.
    other = hostjobs.result(*gimp_harness.no_vendor_job(gimp_host.partition("-")[0]))
    assert other.returncode == 0, other.log[-5000:]
    assert not (other.profile / "plug-ins" / "gpt-image" / "vendor").exists()
    entry = other.ran("no_vendor")
    assert entry["status"] == "execution-error"
    assert "missing or broken packages" in entry["message"]
    assert "install.py" in entry["message"]
    assert_untouched(other, "no_vendor", entry)
