"""The one job-option definition, the model capability table, the 2.5 models end to end, and
``python -m core models [--json]``."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from core.cli import main
from core.models import KNOWN_MODELS, capabilities
from core.options import OPTIONS, option
from core.pipeline import BlendOptions
from core.settings import Settings
from tests.test_cli_jobs import env, noisy_image, run, run_json  # noqa: F401 (fixture)

MODELS_25 = ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst")


def test_every_default_comes_from_the_one_definition():
    settings = Settings()
    for opt in OPTIONS:
        if opt.settings:
            assert getattr(settings, opt.settings) == opt.default, opt.name
            field = Settings.model_fields[opt.settings]
            assert field.title == opt.label
    blend = BlendOptions()
    assert (blend.padding_px, blend.grow_px, blend.feather_px) == (
        option("padding_px").default,
        option("grow_px").default,
        option("feather_px").default,
    )


def test_per_model_ranges_come_from_the_capability_table():
    quality = option("quality")
    assert quality.allowed(capabilities("gpt-image-2")) == ("low", "medium", "high", "auto")
    for name in MODELS_25:
        caps = capabilities(name)
        assert quality.allowed(caps) == ("low", "medium", "high", "xhigh", "max", "auto")
        assert caps.flexible and caps.transparent and not caps.input_fidelity
        snapshot = capabilities(f"{name}-2026-09-08")
        assert snapshot.snapshot_of == name and snapshot.qualities == caps.qualities
    assert option("references").allowed(capabilities("gpt-image-2")) == range(0, 16)
    assert option("partial_images").allowed(capabilities("gpt-image-2")) == range(0, 4)
    # a name declared in settings takes any quality (the API decides)
    custom = capabilities("gpt-image-3", {"gpt-image-3": "flexible"})
    assert "max" in quality.allowed(custom)


@pytest.mark.parametrize(
    ("value", "words"),
    [(11, "1 to 10"), (0, "1 to 10"), (True, "whole number"), ("3", "whole number")],
)
def test_absurd_values_are_refused_with_the_range(value, words):
    from core.errors import InputError

    with pytest.raises(InputError, match=words):
        option("n").check(value)


def test_settings_refuse_what_the_definition_refuses():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(padding_px=5000)
    with pytest.raises(ValidationError):
        Settings(quality="ultra")
    assert Settings(quality="max").quality == "max"  # per-model check happens at job time


def test_quality_a_model_does_not_take_is_refused_before_sending(env, capsys, standin):  # noqa: F811
    code, _out, err = run(
        capsys, "generate", "--prompt", "x", "--quality", "xhigh", "-o", env / "o.png"
    )
    assert code == 2, err
    assert "Quality 'xhigh' is not available for gpt-image-2" in err
    assert "low, medium, high, auto" in err
    assert standin.image_requests() == []
    code, _, err = run(
        capsys, "estimate", "--prompt", "x", "--quality", "max", "--model", "gpt-image-1.5"
    )
    assert code == 2 and "Quality 'max' is not available for gpt-image-1.5" in err


@pytest.mark.parametrize("model", [*MODELS_25, "gpt-image-2.5-flare-2026-09-08"])
@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_two_point_five_generate_end_to_end(env, capsys, standin, model, quality):  # noqa: F811
    out = env / "o.png"
    code, report, err = run_json(
        capsys, "generate", "--prompt", "a kite", "--model", model, "--quality", quality,
        "--aspect", "3:2", "-o", out,
    )  # fmt: skip
    assert code == 0, err
    (record,) = standin.image_requests()
    assert record["params"]["model"] == model and record["params"]["quality"] == quality
    assert "input_fidelity" not in record["params"]
    usage = report["usage"]
    # the stand-in bills by the formula; the estimate uses the same formula: they agree
    assert report["cost_usd"] == pytest.approx(report["estimate_usd"], abs=0.002)
    assert usage["output_tokens"] > 0
    with Image.open(out) as image:
        assert image.size == tuple(int(v) for v in report["api_size"].split("x"))


def test_two_point_five_masked_edit_and_transparent_generate(env, capsys, standin):  # noqa: F811
    noisy_image((640, 480)).save(env / "in.png")
    code, _report, err = run_json(
        capsys, "edit", "--image", env / "in.png", "--rect", "100,100,200,150", "--prompt",
        "a hat", "--model", "gpt-image-2.5-sunburst", "--quality", "max", "-o", env / "e.png",
    )  # fmt: skip
    assert code == 0, err
    (record,) = standin.image_requests()
    assert record["endpoint"] == "edits" and "input_fidelity" not in record["params"]
    code, _report, err = run_json(
        capsys, "generate", "--prompt", "a sticker", "--model", "gpt-image-2.5-flare",
        "--background", "transparent", "-o", env / "t.png",
    )  # fmt: skip
    assert code == 0, err
    sent = standin.image_requests()[-1]["params"]
    assert sent["background"] == "transparent" and sent["model"] == "gpt-image-2.5-flare"


def test_models_command_json(env, capsys):  # noqa: F811
    code, out, err = run(capsys, "models", "--json")
    assert code == 0, err
    rows = json.loads(out)["models"]
    names = [row["name"] for row in rows]
    assert names == list(KNOWN_MODELS)
    for row in rows:
        assert {"name", "qualities", "sizes", "transparent", "price_per_1m"} <= set(row)
        caps = capabilities(row["name"])
        assert row["qualities"] == list(caps.qualities)
        assert set(row["price_per_1m"]) >= {"text_input", "image_input", "image_output"}
    by_name = {row["name"]: row for row in rows}
    for name in MODELS_25:
        assert by_name[name]["qualities"] == ["low", "medium", "high", "xhigh", "max", "auto"]
        assert by_name[name]["price_per_1m"] == {
            "text_input": 5.0,
            "image_input": 8.0,
            "image_output": 30.0,
        }
        assert by_name[name]["transparent"] is True
        assert by_name[name]["sizes"]["kind"] == "flexible"
    assert by_name["gpt-image-2"]["qualities"] == ["low", "medium", "high", "auto"]
    assert by_name["gpt-image-2"]["default"] is True
    assert by_name["gpt-image-1.5"]["sizes"]["kind"] == "fixed"
    assert by_name["gpt-image-2.5-flare"]["description"] == "fast"
    assert by_name["gpt-image-2.5-sunburst"]["description"] == "precise"


def test_models_command_text_and_custom_models(env, capsys):  # noqa: F811
    (env / "cfg").mkdir(exist_ok=True)
    (env / "cfg" / "settings.json").write_text(
        json.dumps({"custom_models": {"gpt-image-3": "flexible"}, "model": "gpt-image-2.5-flare"})
    )
    code, out, err = run(capsys, "models")
    assert code == 0, err
    assert "gpt-image-2.5-flare [default] — fast" in out
    assert "gpt-image-3" in out
    code, out, _ = run(capsys, "models", "--json")
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    assert rows["gpt-image-3"]["description"] == "custom"


def test_default_model_stays_gpt_image_2():
    assert Settings().model == "gpt-image-2"
    assert option("model").default == "gpt-image-2"


def test_main_exits_cleanly_for_models(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_IMAGE_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(tmp_path / "d"))
    assert main(["models"]) == 0


# --- host policy in core: mode choice and the estimate of exactly the job that runs -----------


def _reference(size=(640, 480)):
    import io

    from core.jobs import reference_from_bytes

    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, "PNG")
    return reference_from_bytes("ref.png", buffer.getvalue())


def test_choose_mode_is_one_policy_for_every_host():
    from core.errors import InputError
    from core.geometry import Bounds, Extent
    from core.jobs import EDIT, choose_mode
    from core.pipeline import Mode
    from core.selection import SelectionMask

    canvas = Extent(400, 300)
    sel = SelectionMask.from_rect(Bounds(10, 10, 50, 50))
    assert choose_mode(Mode.GENERATE, sel, canvas) == (Mode.GENERATE, sel)
    assert choose_mode(EDIT, sel, canvas, Bounds(0, 0, 10, 10)) == (Mode.EDIT_SELECTION, sel)
    assert choose_mode(EDIT, None, canvas) == (Mode.EDIT_IMAGE, None)
    assert choose_mode(EDIT, None, canvas, Bounds(0, 0, 400, 300)) == (Mode.EDIT_IMAGE, None)
    mode, small = choose_mode(EDIT, None, canvas, Bounds(37, 23, 101, 77))
    assert mode is Mode.EDIT_SELECTION and small.bounds == Bounds(37, 23, 101, 77)
    mode, clipped = choose_mode(EDIT, None, canvas, Bounds(350, 250, 100, 100))
    assert clipped.bounds == Bounds(350, 250, 50, 50)
    with pytest.raises(InputError, match="outside the image"):
        choose_mode(EDIT, None, canvas, Bounds(500, 500, 10, 10))
    # a mode the person chose (Krita's form) is kept; only the selection it uses survives
    assert choose_mode(Mode.EDIT_IMAGE, sel, canvas) == (Mode.EDIT_IMAGE, None)
    assert choose_mode(Mode.EXPAND, sel, canvas) == (Mode.EXPAND, None)
    assert choose_mode(Mode.EDIT_SELECTION, sel, canvas) == (Mode.EDIT_SELECTION, sel)
    assert choose_mode("edit_selection", None, canvas) == (Mode.EDIT_SELECTION, None)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"n": 3, "partial_images": 2},
        {"quality": "high", "references": "two"},
        {"model": "gpt-image-2.5-sunburst", "quality": "xhigh", "padding": 300},
        {"quality": "auto", "resolution": "2K"},
    ],
)
def test_estimate_job_is_the_estimate_of_the_prepared_job(overrides):
    from core.geometry import Bounds, Extent
    from core.jobs import JobSpec, estimate_job, prepare_job
    from core.pipeline import BlendOptions, Mode
    from core.selection import SelectionMask

    settings = Settings()
    values = dict(overrides)
    if values.pop("references", None):
        values["references"] = (_reference(), _reference((300, 900)))
    padding = values.pop("padding", None)
    if padding is not None:
        values["blend"] = BlendOptions(padding_px=padding)
    spec = JobSpec.from_settings(settings, Mode.EDIT_SELECTION, "a hat", **values)
    canvas = Extent(1600, 1200)
    selection = SelectionMask.from_rect(Bounds(200, 150, 300, 200))
    pixels = Image.new("RGBA", canvas, (1, 2, 3, 255))
    plan, est = estimate_job(spec, canvas, selection, settings)
    prepared = prepare_job(spec, canvas, selection, lambda b: pixels.crop(b.box), settings)
    assert plan == prepared.plan
    assert est.usd == prepared.estimate_usd and est.breakdown == prepared.estimate.breakdown
    # a host that knows its references' sizes only (Krita's live estimate) gets the same figure
    sizes = [Extent(*Image.open(io.BytesIO(r.data)).size) for r in spec.references]
    bare = JobSpec.from_settings(
        settings, Mode.EDIT_SELECTION, "a hat", **{**values, "references": ()}
    )
    _plan, by_size = estimate_job(bare, canvas, selection, settings, reference_sizes=sizes)
    assert by_size.usd == est.usd and by_size.breakdown == est.breakdown


def test_the_edit_mode_core_chooses_is_the_same_for_the_estimate_and_the_job():
    """``jobs.EDIT``: core decides (GIMP's Edit…, the CLI); a layer smaller than the image
    without a selection is a masked edit of its area, in the estimate and in the job alike."""
    from core.geometry import Bounds, Extent
    from core.jobs import EDIT, JobSpec, estimate_job, prepare_job
    from core.pipeline import Mode

    settings = Settings()
    canvas, layer = Extent(1600, 1200), Bounds(300, 200, 500, 400)
    pixels = Image.new("RGBA", canvas, (1, 2, 3, 255))
    spec = JobSpec.from_settings(settings, EDIT, "a hat")
    plan, est = estimate_job(spec, canvas, None, settings, layer_bounds=layer)
    prepared = prepare_job(
        spec, canvas, None, lambda b: pixels.crop(b.box), settings, layer_bounds=layer
    )
    assert plan == prepared.plan and plan.mode is Mode.EDIT_SELECTION
    assert plan.selection.bounds == layer and est.usd == prepared.estimate_usd
    assert prepared.spec.mode is Mode.EDIT_SELECTION
    whole, _ = estimate_job(spec, canvas, None, settings)
    assert whole.mode is Mode.EDIT_IMAGE
