"""`python -m core refine` and `--compare` against the stand-in, in process (core/refine.py,
core/compare.py, core/cli/refine.py, core/cli/compare.py)."""

from __future__ import annotations

import json
import time

import pytest
from PIL import Image, ImageChops

from core.cli import main
from core.history import History
from tests.cli_helpers import cli_dirs, run_json
from tests.standin.imaging import edited_pixel

RECT = (100, 100, 200, 150)


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


def source_image(path, size=(640, 480)):
    image = Image.new("RGB", size, (30, 120, 200))
    for x in range(0, size[0], 40):  # some structure, so a wrong crop shows
        image.paste((200, 180, 20), (x, 0, x + 8, size[1]))
    image.save(path)
    return image


def history(env):
    return History(env / "data" / "history")


def close(a, b, tol=6):
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


def edit_job(env, capsys, *extra):
    source_image(env / "in.png")
    code, report, err = run_json(
        capsys, "edit", "--image", env / "in.png", "--rect", ",".join(map(str, RECT)),
        "--prompt", "a red kite", "--quality", "low", "-o", env / "out.png", *extra,
    )  # fmt: skip
    assert code == 0, err
    return report


# --- refine ------------------------------------------------------------------------------------


def test_refine_goes_through_the_same_crop_and_mask_from_what_is_seen(env, capsys, standin):
    parent = edit_job(env, capsys)
    code, report, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "make it blue", "-o", env / "r.png"
    )
    assert code == 0, err
    assert report["parent_id"] == parent["history_id"]
    assert report["crop"] == parent["crop"] and report["api_size"] == parent["api_size"]
    for key in ("outputs", "model", "request_id", "usage", "cost_usd", "estimate_usd"):
        assert key in report
    _first, second = standin.image_requests()
    prompt = second["params"]["prompt"]
    assert "a red kite" in prompt and "make it blue" in prompt
    assert report["prompt"] == prompt
    # same mask file as the parent's, and the source is the parent's result as seen
    h = history(env)
    old, new = h.get(parent["history_id"]), h.get(report["history_id"])
    assert new.data["parent_id"] == old.id
    assert new.data["instruction"] == "a red kite"
    assert new.data["follow_ups"] == ["make it blue"]
    assert new.inputs["mask"].read_bytes() == old.inputs["mask"].read_bytes()
    x, y, w, h_ = parent["crop"]
    with Image.open(env / "out.png") as seen, Image.open(new.inputs["image"]) as sent:
        want = seen.convert("RGBA").crop((x, y, x + w, y + h_)).resize(sent.size, Image.LANCZOS)
        diff = ImageChops.difference(want, sent.convert("RGBA")).getextrema()
        assert max(high for _low, high in diff) <= 2
    # output: the original image with the refined patch; untouched far outside the selection
    with Image.open(env / "in.png") as original, Image.open(env / "r.png") as out:
        assert out.size == original.size
        assert out.getpixel((5, 5)) == original.getpixel((5, 5))
        assert out.getpixel((630, 470)) == original.getpixel((630, 470))
        with Image.open(env / "out.png") as seen:
            centre = (RECT[0] + RECT[2] // 2 + 4, RECT[1] + RECT[3] // 2)
            expected = edited_pixel(seen.convert("RGB").getpixel(centre), prompt, 0)
            assert close(out.convert("RGB").getpixel(centre), expected)


def test_refine_of_a_refine_keeps_every_instruction_and_the_chain(env, capsys, standin):
    parent = edit_job(env, capsys)
    _, first, _ = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "keep the tail", "-o", env / "a.png"
    )
    code, second, err = run_json(
        capsys, "refine", first["history_id"], "--prompt", "add a string", "-o", env / "b.png",
        "-n", "2",
    )  # fmt: skip
    assert code == 0, err
    assert second["parent_id"] == first["history_id"] and second["n"] == 2
    assert [p.rsplit("/", 1)[-1] for p in second["outputs"]] == ["b-1.png", "b-2.png"]
    prompt = standin.image_requests()[-1]["params"]["prompt"]
    assert prompt.index("a red kite") < prompt.index("keep the tail") < prompt.index("add a string")
    assert standin.image_requests()[-1]["params"]["n"] == "2"


def test_refine_variant_two_starts_from_variant_two(env, capsys, standin):
    parent = edit_job(env, capsys, "-n", "2")
    code, report, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "sharper", "--variant", "2",
        "-o", env / "r.png",
    )  # fmt: skip
    assert code == 0, err
    new = history(env).get(report["history_id"])
    assert new.data["parent_variant"] == 1
    x, y, w, h = parent["crop"]
    with Image.open(env / "out-2.png") as seen, Image.open(new.inputs["image"]) as sent:
        want = seen.convert("RGBA").crop((x, y, x + w, y + h)).resize(sent.size, Image.LANCZOS)
        assert (
            max(hi for _lo, hi in ImageChops.difference(want, sent.convert("RGBA")).getextrema())
            <= 2
        )


def test_refine_needs_the_original_when_it_moved_and_checks_its_size(env, capsys, standin):
    parent = edit_job(env, capsys)
    (env / "in.png").rename(env / "moved.png")
    code, _, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "x", "-o", env / "r.png"
    )
    assert code == 2 and "--image" in err
    Image.new("RGB", (10, 10)).save(env / "small.png")
    code, _, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "x", "-o", env / "r.png",
        "--image", env / "small.png",
    )  # fmt: skip
    assert code == 2 and "640x480" in err
    assert len(standin.image_requests()) == 1 and not (env / "r.png").exists()
    code, _report, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "x", "-o", env / "r.png",
        "--image", env / "moved.png",
    )  # fmt: skip
    assert code == 0, err


def test_refine_of_a_generated_image_edits_that_image(env, capsys, standin):
    code, gen, err = run_json(
        capsys, "generate", "--prompt", "a lighthouse", "--quality", "low", "-o", env / "g.png"
    )
    assert code == 0, err
    code, report, err = run_json(
        capsys, "refine", gen["history_id"], "--prompt", "at night", "-o", env / "r.png"
    )
    assert code == 0, err
    request = standin.image_requests()[-1]
    assert request["endpoint"] == "edits" and request["mask"] is None
    assert report["mode"] == "edit_image" and report["api_size"] == gen["api_size"]
    new = history(env).get(report["history_id"])
    with Image.open(env / "g.png") as generated, Image.open(new.inputs["image"]) as sent:
        diff = ImageChops.difference(generated.convert("RGBA"), sent.convert("RGBA"))
        assert max(hi for _lo, hi in diff.getextrema()) <= 1
    with Image.open(env / "r.png") as out:
        assert out.size == tuple(int(v) for v in gen["api_size"].split("x"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["20260101-000000-beef"], "No history entry"),
        (["not-an-id"], "Not a history id"),
    ],
)
def test_refine_bad_ids_send_nothing(env, capsys, standin, argv, message):
    code, report, err = run_json(capsys, "refine", *argv, "--prompt", "x", "-o", env / "r.png")
    assert code == 2 and message in err
    assert report["error"]["message"].startswith(message)
    assert standin.image_requests() == []


def test_refine_empty_follow_up_and_bad_variant_are_refused(env, capsys, standin):
    parent = edit_job(env, capsys)
    code, _, err = run_json(
        capsys, "refine", parent["history_id"], "--prompt", "  ", "-o", env / "r.png"
    )
    assert code == 2
    code, _, err = run_json(
        capsys,
        "refine",
        parent["history_id"],
        "--prompt",
        "x",
        "--variant",
        "3",
        "-o",
        env / "r.png",
    )
    assert code == 2 and "--variant 3" in err
    assert len(standin.image_requests()) == 1


# --- compare -----------------------------------------------------------------------------------


def test_generate_compare_runs_one_request_per_model_and_names_files(env, capsys, standin):
    code, report, err = run_json(
        capsys, "generate", "--prompt", "a fox", "--quality", "medium", "-o", env / "fox.png",
        "--compare", "gpt-image-2:low", "--compare", "gpt-image-1.5:high",
        "--compare", "gpt-image-2",
    )  # fmt: skip
    assert code == 0, err
    runs = report["runs"]
    assert [(r["model"], r["quality"]) for r in runs] == [
        ("gpt-image-2", "low"), ("gpt-image-1.5", "high"), ("gpt-image-2", "medium"),
    ]  # fmt: skip
    names = [[p.rsplit("/", 1)[-1] for p in r["outputs"]] for r in runs]
    assert names == [
        ["fox-gpt-image-2-low.png"],
        ["fox-gpt-image-1.5-high.png"],
        ["fox-gpt-image-2.png"],
    ]
    sent = sorted((r["params"]["model"], r["params"]["quality"]) for r in standin.image_requests())
    assert sent == sorted((r["model"], r["quality"]) for r in runs)
    ids = {r["request_id"] for r in runs}
    assert ids == {r["id"] for r in standin.image_requests()}
    for run in runs:
        for key in ("seconds", "cost_usd", "history_id"):
            assert run[key] is not None
        record = history(env).get(run["history_id"])
        assert record.data["model"] == run["model"]
        assert (env / "data" / "history" / run["history_id"] / "result-1.png").read_bytes() == (
            (env / run["outputs"][0].rsplit("/", 1)[-1]).read_bytes()
        )
    assert report["estimate_usd"] == pytest.approx(sum(r["estimate_usd"] for r in runs), abs=1e-4)
    groups = {history(env).get(r["history_id"]).data["compare_group"] for r in runs}
    assert len(groups) == 1


def test_the_summed_estimate_is_known_before_sending(env, capsys, standin):
    code = main(
        ["generate", "--prompt", "a fox", "-o", str(env / "f.png"), "--compare",
         "gpt-image-2:low", "--compare", "gpt-image-2:high"]
    )  # fmt: skip
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert "estimate $" in err and "for 2 runs" in err
    main(["estimate", "--prompt", "a fox", "--quality", "low", "--json"])
    low_usd = json.loads(capsys.readouterr()[0])["estimate_usd"]
    main(["estimate", "--prompt", "a fox", "--quality", "high", "--json"])
    high_usd = json.loads(capsys.readouterr()[0])["estimate_usd"]
    assert f"${low_usd + high_usd:.4f}" in err


def test_edit_compare_composites_each_run_and_keeps_the_outside(env, capsys, standin):
    original = source_image(env / "in.png")
    code, report, err = run_json(
        capsys, "edit", "--image", env / "in.png", "--rect", "100,100,200,150", "--prompt",
        "a kite", "-n", "2", "-o", env / "e.png", "--compare", "gpt-image-2:low",
        "--compare", "gpt-image-1:low",
    )  # fmt: skip
    assert code == 0, err
    first, second = report["runs"]
    assert [p.rsplit("/", 1)[-1] for p in first["outputs"]] == [
        "e-gpt-image-2-low-1.png", "e-gpt-image-2-low-2.png",
    ]  # fmt: skip
    assert second["api_size"] in ("1024x1024", "1536x1024", "1024x1536")
    for run in report["runs"]:
        for path in run["outputs"]:
            with Image.open(path) as out:
                assert out.size == original.size
                assert out.getpixel((5, 5)) == original.getpixel((5, 5))
                assert out.getpixel((150 + 50, 175)) != original.getpixel((200, 175))


def test_compare_runs_are_concurrent(env, capsys, standin):
    standin.queue_faults([{"kind": "slow", "seconds": 1.5}] * 3)
    started = time.monotonic()
    code, report, err = run_json(
        capsys, "generate", "--prompt", "x", "-o", env / "c.png", "--compare", "gpt-image-2:low",
        "--compare", "gpt-image-2:medium", "--compare", "gpt-image-2:high",
    )  # fmt: skip
    took = time.monotonic() - started
    assert code == 0, err
    assert len(report["runs"]) == 3
    assert took < 3.5, f"three 1.5 s requests took {took:.1f} s: not concurrent"


def test_one_failing_run_keeps_the_others_and_sets_the_exit_code(env, capsys, standin):
    code, report, _ = run_json(
        capsys, "generate", "--prompt", "a fox [[fault:moderation]]", "-o", env / "m.png",
        "--compare", "gpt-image-2:low",
    )  # fmt: skip
    assert code == 3 and report["runs"][0]["error"]["code"] == "moderation_blocked"
    standin.reset()
    standin.queue_faults([{"kind": "insufficient_quota"}])
    code, report, _err = run_json(
        capsys, "generate", "--prompt", "a fox", "-o", env / "q.png",
        "--compare", "gpt-image-2:low", "--compare", "gpt-image-2:high",
    )  # fmt: skip
    assert code == 3
    failed = [r for r in report["runs"] if r["error"]]
    ok = [r for r in report["runs"] if not r["error"]]
    assert len(failed) == 1 and len(ok) == 1
    assert failed[0]["outputs"] == [] and failed[0]["history_id"] is None
    for path in ok[0]["outputs"]:
        assert Image.open(path).size == (1024, 1024)


@pytest.mark.parametrize(
    "entries, message",
    [
        (["nope-model"], "Unknown model"),
        (["gpt-image-2:"], "MODEL:QUALITY"),
        (["gpt-image-2:low", "gpt-image-2:low"], "twice"),
        (["gpt-image-2:ultra"], "Quality"),
    ],
)
def test_bad_compare_entries_send_nothing(env, capsys, standin, entries, message):
    argv = ["generate", "--prompt", "x", "-o", env / "b.png"]
    for entry in entries:
        argv += ["--compare", entry]
    code, _report, err = run_json(capsys, *argv)
    assert code == 2 and message in err, err
    assert standin.image_requests() == [] and not list(env.glob("b*.png"))


def test_a_comparison_that_brought_nothing_reports_a_billed_run_first():
    """After a cancel one run may not have started (nothing billed) while another's request
    was at the API: the reason a host shows must say the latter, whichever run it was."""
    from core.compare import CompareEntry, CompareOutcome, CompareRun
    from core.errors import Cancelled

    def run(error):
        return CompareRun(CompareEntry("gpt-image-2"), None, None, error, 0.1)

    unsent = Cancelled()
    sent = Cancelled("Cancelled. It may still be billed.", details={"may_be_billed": True})
    assert CompareOutcome((run(unsent), run(sent))).failure is sent
    assert CompareOutcome((run(sent), run(unsent))).failure is sent
    assert CompareOutcome((run(unsent), run(Cancelled()))).failure is unsent
    assert CompareOutcome(()).failure is None
