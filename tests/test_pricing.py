"""Pricing: the table as data, estimates before a job, actual cost from usage after it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from core.geometry import Extent
from core.models import capabilities
from core.pricing import PRICING_FILE, actual_cost, estimate, input_image_tokens, load_pricing


def test_table_has_a_date_and_every_model_its_rates_and_shapes():
    table = load_pricing()
    assert table.taken
    for name, prices in table.models.items():
        assert {"text_input", "image_input", "image_output"} <= set(prices.rates), name
        caps = capabilities(name)
        # every quality the model takes (but auto) has a price: one owner, two views agree
        assert set(prices.qualities) == set(caps.qualities) - {"auto"}, name
        if caps.flexible:
            assert prices.formula and not prices.output_tokens, name
            bases = [prices.formula[q] for q in caps.qualities if q != "auto"]
            assert bases == sorted(bases), name
        else:
            assert set(prices.output_tokens) == {"1024x1024", "1024x1536", "1536x1024"}, name
            for shape in prices.output_tokens.values():
                assert set(shape) == {"low", "medium", "high"}
                assert shape["low"] < shape["medium"] < shape["high"]
        assert prices.source, name
    gpt2 = table.models["gpt-image-2"].rates
    assert (gpt2["text_input"], gpt2["image_input"], gpt2["image_output"]) == (5.0, 8.0, 30.0)


@pytest.mark.parametrize(
    ("size", "quality", "usd"),
    [
        # OpenAI's published per-image prices for gpt-image-2 (docs/images-api.md)
        ("1024x1024", "low", 0.006),
        ("1024x1024", "medium", 0.053),
        ("1024x1024", "high", 0.211),
        ("1024x1536", "low", 0.005),
        ("1536x1024", "medium", 0.041),
        ("1024x1536", "high", 0.165),
    ],
)
def test_estimate_matches_published_per_image_prices(size, quality, usd):
    # published prices have three decimals: the formula lands within half of the last one
    assert estimate("gpt-image-2", quality, size).usd == pytest.approx(usd, abs=0.0005)


@pytest.mark.parametrize(
    ("model", "quality", "size", "tokens"),
    [
        ("gpt-image-2", "medium", "1024x1024", 1756),  # the worked example (≈ $0.053)
        ("gpt-image-2", "low", "1024x1024", 196),
        ("gpt-image-2", "high", "1536x1024", 5488),
        ("gpt-image-2.5-flare", "medium", "1024x1024", 439),
        ("gpt-image-2.5-sunburst", "max", "1024x1024", 7024),
        ("gpt-image-2.5-flare-2026-09-08", "xhigh", "1024x1024", 3122),
        # any size, by hand: b=48, ratio 3 -> round(16)=16; 48*16*(2e6+786432)/4e6 = 534.99
        ("gpt-image-2", "medium", "1536x512", 535),
        # 3840x2160: b=96, ratio 1.777 -> round(54.0)=54; 96*54*(2e6+8294400)/4e6 = 13341.5
        ("gpt-image-2", "high", "3840x2160", 13342),
    ],
)
def test_flexible_models_use_the_output_token_formula_for_any_size(model, quality, size, tokens):
    est = estimate(model, quality, size)
    assert est.breakdown["output_tokens_per_image"] == tokens
    assert not est.is_range
    assert est.usd == pytest.approx(tokens * 30 / 1e6, abs=0.0001)


def test_two_point_five_is_cheaper_than_two_at_the_same_quality_name():
    for quality in ("low", "medium", "high"):
        two = estimate("gpt-image-2", quality, "1024x1024").usd
        flare = estimate("gpt-image-2.5-flare", quality, "1024x1024").usd
        assert flare <= two


def test_n_partials_inputs_and_prompt_add_up():
    base = estimate("gpt-image-2", "low", "1024x1024")
    full = estimate(
        "gpt-image-2",
        "low",
        "1024x1024",
        n=3,
        partial_images=2,
        input_images=[Extent(1024, 1024), Extent(512, 512)],
        prompt="x" * 400,
    )
    b = full.breakdown
    assert b["output_tokens"] == 3 * 196 + 3 * 2 * 100
    assert b["text_input_tokens"] == 100
    assert b["input_image_tokens"] == 765 + 255
    expected = (b["output_tokens"] * 30 + b["input_image_tokens"] * 8 + 100 * 5) / 1e6
    assert full.usd == pytest.approx(expected, abs=0.0001)
    assert full.usd >= expected  # rounded up, never under-quoted
    assert full.usd > base.usd


def test_auto_quality_and_size_give_a_range_with_notes():
    auto = estimate("gpt-image-2", "auto", "auto")
    assert auto.is_range
    assert auto.usd == estimate("gpt-image-2", "high", "1024x1024").usd  # the top
    assert auto.usd_low == estimate("gpt-image-2", "low", "1536x1024").usd  # the bottom
    assert auto.breakdown["usd_range"] == [auto.usd_low, auto.usd]
    assert auto.text() == f"${auto.usd_low:.4f}–${auto.usd:.4f}"
    assert len(auto.breakdown["notes"]) == 2
    quality_auto = estimate("gpt-image-2.5-flare", "auto", "1024x1024")
    assert quality_auto.breakdown["output_tokens_per_image_range"] == [196, 7024]
    size_auto = estimate("gpt-image-2", "medium", "auto")
    assert size_auto.breakdown["output_tokens_per_image_range"] == [1372, 1756]
    fixed = estimate("gpt-image-1.5", "auto", "1024x1024")
    assert (fixed.usd_low, fixed.usd) == (0.0088, 0.1332)
    exact = estimate("gpt-image-2", "medium", "1024x1024")
    assert not exact.is_range and exact.text() == f"${exact.usd:.4f}"


def test_models_snapshots_and_unknown_models():
    assert estimate("gpt-image-1", "high", "1024x1024").usd == pytest.approx(0.1664, abs=1e-4)
    assert estimate("gpt-image-1.5", "low", "1024x1024").usd == 0.0088  # 0.008704 rounded up
    snap = estimate("gpt-image-2-2026-04-21", "medium", "1024x1024")
    assert snap.breakdown["priced_as"] == "gpt-image-2" and not snap.breakdown["notes"]
    unknown = estimate("my-own-model", "medium", "1024x1024")
    assert unknown.breakdown["priced_as"] == "gpt-image-2"
    assert "no prices for my-own-model" in unknown.breakdown["notes"][0]


def test_input_image_tokens_follow_the_tiling_rule():
    rules = load_pricing().input_image
    assert input_image_tokens(Extent(512, 512), rules) == 85 + 170
    assert input_image_tokens(Extent(1024, 1024), rules) == 85 + 170 * 4
    assert input_image_tokens(Extent(4096, 2048), rules) == 85 + 170 * 6  # -> 1536x768


def test_actual_cost_from_usage():
    usage = {
        "input_tokens": 1050,
        "input_tokens_details": {"text_tokens": 50, "image_tokens": 1000},
        "output_tokens": 1767,
        "total_tokens": 2817,
    }
    assert actual_cost(usage, "gpt-image-2") == pytest.approx(
        (50 * 5 + 1000 * 8 + 1767 * 30) / 1e6, abs=1e-9
    )
    assert actual_cost(usage, "gpt-image-2.5-sunburst-2026-09-08") == actual_cost(
        usage, "gpt-image-2"
    )
    # generations often report no input details: all input is text
    assert actual_cost({"input_tokens": 20, "output_tokens": 0}, "gpt-image-2") == 0.0001
    assert actual_cost(None, "gpt-image-2") is None
    assert actual_cost({}, "gpt-image-2") is None


def test_actual_cost_charges_text_output_where_the_model_prices_it():
    usage = {
        "input_tokens": 0,
        "output_tokens": 1100,
        "output_tokens_details": {"text_tokens": 100, "image_tokens": 1000},
    }
    assert actual_cost(usage, "gpt-image-1.5") == pytest.approx((100 * 10 + 1000 * 32) / 1e6)
    assert actual_cost(usage, "gpt-image-2") == pytest.approx(1100 * 30 / 1e6)


def test_table_loads_when_core_is_copied_elsewhere(tmp_path):
    pkg = tmp_path / "plugin" / "gpt_image"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copytree(PRICING_FILE.parents[1], pkg / "core")
    code = (
        "import json; from gpt_image.core.pricing import estimate; "
        "print(json.dumps(estimate('gpt-image-2', 'high', '1024x1024').usd))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "plugin",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == pytest.approx(0.211, abs=0.0005)
