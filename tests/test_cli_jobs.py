"""`python -m core generate|edit|estimate|check|history|improve` against the stand-in, in process."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from core.cli import main
from core.pipeline import BlendOptions
from tests.cli_helpers import cli_dirs, run, run_json


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


def noisy_image(size=(800, 600), mode="RGB"):
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    return image.convert(mode)


def test_generate_json_has_everything_and_the_file_is_the_paid_result(env, capsys, standin):
    out = env / "fox.png"
    code, report, err = run_json(
        capsys, "generate", "--prompt", "a red fox", "--quality", "low", "-o", out
    )
    assert code == 0, err
    for key in (
        "outputs",
        "api_size",
        "model",
        "request_id",
        "usage",
        "cost_usd",
        "estimate_usd",
        "history_id",
    ):
        assert key in report
    assert report["outputs"] == [str(out)]
    assert report["model"] == "gpt-image-2" and report["api_size"] == "1024x1024"
    (record,) = standin.image_requests()
    assert report["request_id"] == record["id"]
    assert report["cost_usd"] > 0 and report["estimate_usd"] > 0
    with Image.open(out) as image:
        assert image.size == (1024, 1024)
    stored = env / "data" / "history" / report["history_id"] / "result-1.png"
    assert stored.read_bytes() == out.read_bytes()


def test_generate_aspect_resolution_n_and_format(env, capsys, standin):
    out = env / "wide.jpg"
    code, report, _ = run_json(
        capsys, "generate", "--prompt", "a wide sea", "--aspect", "16:9", "--quality", "low",
        "-n", "2", "--format", "jpeg", "-o", out,
    )  # fmt: skip
    assert code == 0
    w, h = (int(v) for v in report["api_size"].split("x"))
    assert abs(w / h - 16 / 9) < 0.05 and w % 16 == 0 and h % 16 == 0
    assert report["outputs"] == [str(env / "wide-1.jpg"), str(env / "wide-2.jpg")]
    for path in report["outputs"]:
        assert Path(path).read_bytes()[:2] == b"\xff\xd8"
    params = standin.image_requests()[0]["params"]
    assert params["output_format"] == "jpeg" and params["n"] == 2

    code, report, _ = run_json(
        capsys, "generate", "--prompt", "exact", "--resolution", "1536x1024", "-o", env / "e.png"
    )
    assert code == 0 and report["api_size"] == "1536x1024"


def test_generate_with_references_uses_edits(env, capsys, standin):
    ref = env / "ref.png"
    noisy_image((256, 256)).save(ref)
    code, _report, _ = run_json(
        capsys, "generate", "--prompt", "in this style", "--reference", ref,
        "--reference", ref, "-o", env / "r.png",
    )  # fmt: skip
    assert code == 0
    (record,) = standin.image_requests()
    assert record["endpoint"] == "edits" and len(record["images"]) == 2


def test_edit_rect_outside_the_selection_is_bit_identical(env, capsys, standin):
    src = env / "in.png"
    image = noisy_image()
    image.save(src)
    out = env / "out.png"
    code, report, err = run_json(
        capsys, "edit", "--image", src, "--rect", "100,100,200,150", "--prompt", "a cat",
        "--quality", "low", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    result = Image.open(out)
    assert result.size == image.size and result.mode == "RGB"
    reach = BlendOptions().reach_px + 2
    inner = (100 - reach, 100 - reach, 300 + reach, 250 + reach)
    diff = ImageChops.difference(result.convert("RGB"), image)
    outside = diff.copy()
    outside.paste((0, 0, 0), inner)
    assert outside.getbbox() is None, "pixels outside the selection changed"
    assert diff.crop((100, 100, 300, 250)).getbbox() is not None, "the selection was not edited"
    record = standin.image_requests()[0]
    assert record["endpoint"] == "edits" and record["mask"] is not None
    assert report["mode"] == "edit_selection"
    job = json.loads((env / "data" / "history" / report["history_id"] / "job.json").read_text())
    assert job["source_document"] == "in.png" and job["crop"] == report["crop"]


def test_edit_selection_mask_file_and_n(env, capsys, standin):
    src, mask = env / "in.png", env / "mask.png"
    image = noisy_image((640, 480), "RGBA")
    image.putpixel((5, 5), (1, 2, 3, 0))  # a transparent pixel outside the selection
    image.save(src)
    selection = Image.new("L", (640, 480), 0)
    selection.paste(255, (300, 200, 420, 300))
    selection.save(mask)
    code, report, _ = run_json(
        capsys, "edit", "--image", src, "--selection", mask, "--prompt", "a hat", "-n", "2",
        "--quality", "low", "-o", env / "o.png",
    )  # fmt: skip
    assert code == 0
    assert report["outputs"] == [str(env / "o-1.png"), str(env / "o-2.png")]
    for path in report["outputs"]:
        result = Image.open(path)
        assert result.mode == "RGBA" and result.size == (640, 480)
        assert result.getpixel((5, 5)) == (1, 2, 3, 0)
        assert ImageChops.difference(result, image).crop((0, 0, 640, 150)).getbbox() is None


def test_edit_whole_image_without_selection(env, capsys, standin):
    src = env / "in.png"
    noisy_image((1024, 640)).save(src)
    code, report, _ = run_json(
        capsys, "edit", "--image", src, "--prompt", "night", "-o", env / "n.png"
    )
    assert code == 0 and report["mode"] == "edit_image"
    assert standin.image_requests()[0]["mask"] is None
    assert Image.open(env / "n.png").size == (1024, 640)


def test_estimate_needs_no_key_and_no_network(env, capsys, monkeypatch, standin):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    code, report, _ = run_json(
        capsys, "estimate", "--prompt", "a fox", "--quality", "high", "-n", "2", "--partials", "1"
    )
    assert code == 0
    assert report["api_size"] == "1024x1024"
    assert report["estimate_usd"] == pytest.approx(2 * 0.211 + 0.006, abs=0.002)
    assert report["breakdown"]["partial_output_tokens"] == 200
    src = env / "in.png"
    noisy_image().save(src)
    code, report, _ = run_json(
        capsys, "estimate", "--image", src, "--rect", "10,10,100,100", "--prompt", "x"
    )
    assert code == 0 and report["mode"] == "edit_selection"
    assert report["breakdown"]["input_images"] == 1
    code, out, _ = run(capsys, "estimate", "--prompt", "a fox")
    assert code == 0 and out.startswith("$") and "gpt-image-2" in out
    assert standin.requests == []


def test_check_ok_and_bad_key(env, capsys, monkeypatch, standin):
    code, report, _ = run_json(capsys, "check")
    assert code == 0 and report["ok"] is True and "gpt-image-2" in report["image_models"]
    assert report["key_source"] == "env"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-invalid")
    code, _out, err = run(capsys, "check")
    assert code == 3 and err.startswith("error: ") and "API key" in err


def test_history_list_search_show_delete_prune(env, capsys, standin):
    for prompt in ("A red FOX", "a blue whale"):
        assert (
            run(capsys, "generate", "--prompt", prompt, "--quality", "low", "-o", env / "g.png")[0]
            == 0
        )
    code, listing, _ = run_json(capsys, "history", "list")
    assert code == 0 and [j["prompt"] for j in listing["jobs"]] == ["a blue whale", "A red FOX"]
    code, found, _ = run_json(capsys, "history", "list", "--search", "fox")
    assert [j["prompt"] for j in found["jobs"]] == ["A red FOX"]
    job_id = found["jobs"][0]["id"]
    code, out, _ = run(capsys, "history", "list")
    assert job_id in out and "done" in out
    code, shown, _ = run_json(capsys, "history", "show", job_id)
    assert shown["status"] == "done" and shown["image_paths"]
    code, out, _ = run(capsys, "history", "show", job_id)
    assert "prompt: A red FOX" in out and "image: " in out
    assert run(capsys, "history", "delete", job_id)[0] == 0
    code, out, err = run(capsys, "history", "show", job_id)
    assert code == 2 and "No history entry" in err
    code, pruned, _ = run_json(capsys, "history", "prune", "--max-mb", "0")  # 0 = no cap
    assert code == 0 and pruned["removed"] == []
    (env / "cfg").mkdir(exist_ok=True)
    (env / "cfg" / "settings.json").write_text('{"history_max_mb": 0}')
    code, out, _ = run(capsys, "history", "prune")
    assert code == 0 and out.startswith("removed 0 job(s)")
    assert len(run_json(capsys, "history", "list")[1]["jobs"]) == 1


def test_improve_prints_the_rewrite(env, capsys, standin):
    code, report, _ = run_json(capsys, "improve", "--prompt", "cat on a roof")
    assert code == 0 and "cat on a roof" in report["prompt"]
    (record,) = [r for r in standin.requests if r["endpoint"] == "responses"]
    assert record["params"]["model"] == "gpt-5-mini"
    code, out, _ = run(capsys, "improve", "--prompt", "cat", "--model", "gpt-5", "--edit")
    assert code == 0 and out.strip()
    assert standin.requests[-1]["params"]["model"] == "gpt-5"
    assert "edit of an existing image" in standin.requests[-1]["params"]["input"]
    code, out, err = run(capsys, "improve", "--prompt", "cat", "--model", "gpt-image-2")
    assert code == 3 and "not supported" in err and out == ""


def test_non_ascii_prompts_and_outputs(env, capsys, standin):
    code, _report, _ = run_json(
        capsys, "generate", "--prompt", "Ein Fuchs 🦊 – 狐狸", "-o", env / "ü.png"
    )
    assert code == 0 and (env / "ü.png").exists()
    code, out, _ = run(capsys, "history", "list", "--search", "狐狸")
    assert "🦊" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["edit", "--image", "missing.png", "--prompt", "x", "-o", "o.png"], "No such image"),
        (["edit", "--image", "{img}", "--rect", "1,2,3", "--prompt", "x", "-o", "o.png"], "--rect"),
        (
            ["generate", "--prompt", "x", "--resolution", "huge", "-o", "o.png"],
            "Unknown resolution",
        ),
        (
            ["generate", "--prompt", "x", "--resolution", "1000x1000", "-o", "o.png"],
            "multiples of 16",
        ),
        (["generate", "--prompt", "x", "-n", "11", "-o", "o.png"], "Variants must be 1 to 10"),
        (["generate", "--prompt", "x", "-o", "o.gif"], "Unknown output type"),
        (
            ["generate", "--prompt", "x", "--reference", "nope.png", "-o", "o.png"],
            "Cannot read reference",
        ),
        (["generate", "--prompt", "  ", "-o", "o.png"], "prompt is empty"),
        (["generate", "--prompt", "x", "--aspect", "wide", "-o", "o.png"], "Unknown aspect"),
        (
            ["edit", "--image", "{img}", "--aspect", "1:1", "--prompt", "x", "-o", "o.png"],
            "--aspect",
        ),
    ],
)
def test_bad_input_exits_2_before_anything_is_sent(env, capsys, standin, monkeypatch, argv, words):
    monkeypatch.chdir(env)
    noisy_image((64, 64)).save(env / "img.png")
    argv = [a.replace("{img}", str(env / "img.png")) for a in argv]
    code, _out, err = run(capsys, *argv)
    assert code == 2, err
    assert words in err and err.startswith("error: ") and err.count("\n") == 1
    assert standin.image_requests() == []


def test_json_errors_go_to_stdout_too(env, capsys, standin):
    code, out, err = run(
        capsys, "generate", "--prompt", "x", "-n", "0", "-o", env / "o.png", "--json"
    )
    assert code == 2
    assert json.loads(out)["error"]["exit_code"] == 2 and "error:" in err


def test_broken_settings_file_is_reported_and_kept(env, capsys, standin):
    (env / "cfg").mkdir()
    path = env / "cfg" / "settings.json"
    path.write_text('{"quality": "ultra"}')
    code, _, err = run(capsys, "generate", "--prompt", "x", "-o", env / "o.png")
    assert code == 2 and "'quality'" in err and str(path) in err
    assert path.read_text() == '{"quality": "ultra"}'
    code, _out, err = run(capsys, "estimate", "--prompt", "x")  # still estimates, with a warning
    assert code == 0 and "'quality'" in err
    code, out, err = run(capsys, "history", "list")  # and history can still be read
    assert code == 0 and out.startswith("no jobs") and "'quality'" in err
    assert path.read_text() == '{"quality": "ultra"}'


def test_settings_file_supplies_defaults(env, capsys, standin):
    (env / "cfg").mkdir()
    (env / "cfg" / "settings.json").write_text('{"quality": "low", "output_format": "webp"}')
    code, report, _ = run_json(capsys, "generate", "--prompt", "x", "-o", env / "o.webp")
    assert code == 0 and report["quality"] == "low"
    params = standin.image_requests()[0]["params"]
    assert params["quality"] == "low" and params["output_format"] == "webp"
    assert (env / "o.webp").read_bytes()[:4] == b"RIFF"


def test_help_for_every_command(capsys):
    for command in (
        ["generate"],
        ["edit"],
        ["estimate"],
        ["check"],
        ["history", "list"],
        ["improve"],
    ):
        with pytest.raises(SystemExit) as info:
            main([*command, "--help"])
        assert info.value.code == 0
        assert "usage: python -m core" in capsys.readouterr().out


def test_an_output_that_cannot_be_written_is_refused_before_sending(env, capsys, standin):
    blocker = env / "file"
    blocker.write_text("not a folder")
    code, _out, err = run(capsys, "generate", "--prompt", "x", "-o", blocker / "o.png")
    assert code == 2 and "is not a folder" in err
    assert standin.stats()["image_requests"] == 0
    assert not (env / "data" / "history").exists() or not list((env / "data" / "history").iterdir())


def test_output_stream_that_cannot_encode_does_not_crash(env, standin, monkeypatch):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    monkeypatch.setattr("sys.stdout", stream)
    code = main(["generate", "--prompt", "Fuchs 🦊 ü", "-o", str(env / "f.png")])
    stream.flush()
    assert code == 0
    assert b"saved" in stream.buffer.getvalue()


def test_history_rerun_writes_new_results(env, capsys, standin):
    src = env / "in.png"
    image = noisy_image()
    image.save(src)
    code, first, _ = run_json(
        capsys, "edit", "--image", src, "--rect", "100,100,200,150", "--prompt", "a cat",
        "--quality", "low", "-o", env / "out.png",
    )  # fmt: skip
    assert code == 0
    code, again, err = run_json(
        capsys, "history", "rerun", first["history_id"], "--image", src, "-o", env / "again.png"
    )
    assert code == 0, err
    assert again["rerun_of"] == first["history_id"] and again["history_id"] != first["history_id"]
    assert again["crop"] == first["crop"]
    assert Image.open(env / "again.png").size == image.size
    # same prompt, same upload: the stand-in answers identically
    assert Image.open(env / "again.png").tobytes() == Image.open(env / "out.png").tobytes()
    code, _layer, _ = run_json(
        capsys, "history", "rerun", first["history_id"], "-o", env / "layer.png"
    )
    assert code == 0
    assert Image.open(env / "layer.png").size == tuple(first["crop"][2:])
    noisy_image((64, 64)).save(env / "small.png")
    code, _, err = run(
        capsys, "history", "rerun", first["history_id"], "--image", env / "small.png"
    )
    assert code == 2 and "canvas" in err
    one, two, three = standin.image_requests()
    assert one["images"] == two["images"] == three["images"]


def test_edit_compresses_the_untouched_rows_once_its_request_is_out(
    env, capsys, standin, monkeypatch
):
    """Before the request is out both cores are the request's; the rows of the output no result
    touches are compressed while the API works, and only then."""
    import time

    from core.cli import jobs as cli_jobs
    from core.client_transport import Tracker

    started: list[float] = []  # when the output's banded compression began
    real_start = cli_jobs.EditOutputs.start

    def start(self):
        began = not self.started
        real_start(self)
        if began and self.banded is not None:
            started.append(time.time())
        return self

    monkeypatch.setattr(cli_jobs.EditOutputs, "start", start)
    sent: list[float] = []  # when the client had the request's body out
    real_trace = Tracker._trace

    def trace(self, name, info):
        real_trace(self, name, info)
        if name.endswith("send_request_body.complete"):
            sent.append(time.time())

    monkeypatch.setattr(Tracker, "_trace", trace)
    src, out = env / "in.png", env / "out.png"
    image = noisy_image()
    image.save(src)
    code, _, err = run(
        capsys, "edit", "--image", src, "--rect", "100,100,200,150",
        "--prompt", "a cat [[delay:0.3]]", "--quality", "low", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    (request,) = standin.image_requests()
    assert len(started) == 1, "the untouched rows are compressed once"
    assert len(sent) == 1 and sent[0] <= started[0] < request["answered"]
    written = Image.open(out).convert("RGB")
    untouched = (0, 0, 800, 50)
    assert ImageChops.difference(written.crop(untouched), image.crop(untouched)).getbbox() is None


def test_edit_whose_head_start_fails_still_writes_the_paid_result(
    env, capsys, standin, monkeypatch
):
    """The output's early compression fails once the request is out (memory, say): the edit
    still finishes and writes the right file, instead of an "internal error, nothing was sent"
    after a request that may be billed."""
    from core.cli import jobs as cli_jobs

    failed: list[bool] = []

    class FirstStartFails(cli_jobs.BandedPng):  # the head start runs out of memory; later
        def start(self):  # compressions (the plain way of writing) work
            if not failed:
                failed.append(True)
                raise MemoryError("no room for the bands")
            return super().start()

    monkeypatch.setattr(cli_jobs, "BandedPng", FirstStartFails)
    src, out = env / "in.png", env / "out.png"
    image = noisy_image()
    image.save(src)
    code, _, err = run(
        capsys, "edit", "--image", src, "--rect", "100,100,200,150", "--prompt", "a cat",
        "--quality", "low", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    written = Image.open(out).convert("RGB")
    untouched = (0, 0, 800, 50)
    assert ImageChops.difference(written.crop(untouched), image.crop(untouched)).getbbox() is None
    assert len(standin.image_requests()) == 1 and failed == [True]


@pytest.mark.parametrize("prompt", ["-red", "-nice light", "-nice", "--red car", "-40%"])
def test_a_prompt_may_start_with_a_dash(env, capsys, standin, prompt):
    """argparse reads "-red" after --prompt as an unknown option and the prompt as missing."""
    code, _report, err = run_json(capsys, "generate", "--prompt", prompt, "-o", env / "o.png")
    assert code == 0, err
    (record,) = standin.image_requests()
    assert record["params"]["prompt"] == prompt
    code, out, _ = run(capsys, "history", "list", "--search", prompt)
    assert code == 0 and prompt in out


@pytest.mark.parametrize("word", ["--model", "-n", "-n3", "--"])
def test_a_missing_prompt_before_an_option_is_still_missing(env, capsys, standin, word):
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "generate", "--prompt", word, "-o", env / "o.png")
    assert exit_info.value.code == 2
    assert "--prompt: expected one argument" in capsys.readouterr().err
    assert standin.image_requests() == []
