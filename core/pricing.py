"""What a job will cost before it runs, and what it did cost from the API's ``usage`` after.

The prices are data (``core/data/pricing.json``, with the date they were taken and a source per
model), not code. The method:

- output: flexible-size models (gpt-image-2, the 2.5 models) by one formula for any size,
  ``ceil(b * round(b / (long/short)) * (2e6 + w*h) / 4e6)`` with ``b`` per quality from the
  table; fixed-size models by their table for 1024x1024, 1024x1536 and 1536x1024. ``size="auto"``
  and ``quality="auto"`` give a **range** (cheapest to dearest of what the API may pick):
  ``Estimate.usd`` is its top, so a single figure is an upper bound rather than a surprise, and
  ``Estimate.usd_low`` its bottom. Each partial image adds 100 output tokens, per image.
- input: prompt text at ~4 characters per token; each input image (the edited crop and every
  reference) by OpenAI's vision tiling rule. Input is billed once per request, not per image.
- rounding: estimates are rounded *up* to 1/100 of a cent; actual costs are token counts times
  rates, rounded to 1/10,000 of a cent (6 decimals).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .geometry import Extent

PRICING_FILE = Path(__file__).with_name("data") / "pricing.json"


@dataclass(frozen=True)
class ModelPrices:
    name: str
    rates: Mapping[str, float]  # USD per ``per_tokens`` tokens
    output_tokens: Mapping[str, Mapping[str, int]]  # "WxH" -> quality -> tokens per image
    source: str = ""
    #: Flexible-size models: quality -> b of the output-token formula (replaces the table).
    formula: Mapping[str, int] = field(default_factory=dict)

    @property
    def qualities(self) -> tuple[str, ...]:
        if self.formula:
            return tuple(self.formula)
        return tuple(dict.fromkeys(q for per_q in self.output_tokens.values() for q in per_q))


@dataclass(frozen=True)
class PriceTable:
    taken: str
    per_tokens: int
    models: Mapping[str, ModelPrices]
    aliases: Mapping[str, str]
    fallback_model: str
    partial_tokens: int
    input_image: Mapping[str, Any]
    chars_per_token: float
    #: The sizes ``size="auto"`` may come back as (formula models).
    auto_sizes: tuple[Extent, ...] = ()
    batch_discount: float = 0.0  # share of the price the Batch API takes off

    def prices_for(self, model: str) -> tuple[ModelPrices, str | None]:
        """The prices for ``model`` and a note when they are borrowed from another model."""
        name = self.aliases.get(model, model)
        if name in self.models:
            return self.models[name], None
        # dated snapshots ("gpt-image-2-2026-04-21") are priced as their family
        for known in sorted(self.models, key=len, reverse=True):
            if name.startswith(known + "-"):
                return self.models[known], f"{model} priced as {known}"
        fallback = self.models[self.fallback_model]
        return fallback, f"no prices for {model}; priced as {fallback.name}"

    def usd(self, tokens: float, rate: float) -> float:
        return tokens * rate / self.per_tokens


@dataclass(frozen=True)
class Estimate:
    """An estimate in USD with how it was reached. Under ``auto`` quality or size it is a range
    ``usd_low``..``usd`` (``usd`` is always the top, so a single figure never under-quotes)."""

    usd: float
    breakdown: dict[str, Any] = field(default_factory=dict)
    usd_low: float | None = None

    @property
    def is_range(self) -> bool:
        return self.usd_low is not None and self.usd_low < self.usd

    def text(self) -> str:
        """ "$0.0130" or "$0.0050–$0.2110" (what hosts and the CLI show)."""
        if self.is_range:
            return f"${self.usd_low:.4f}–${self.usd:.4f}"
        return f"${self.usd:.4f}"

    def to_dict(self) -> dict[str, Any]:
        low = self.usd_low if self.usd_low is not None else self.usd
        return {"usd": self.usd, "usd_low": low, "usd_high": self.usd, **self.breakdown}


def _parse_table(data: Mapping[str, Any], origin: str) -> PriceTable:
    try:
        models = {
            name: ModelPrices(
                name=name,
                rates={k: float(v) for k, v in entry["rates"].items()},
                output_tokens={
                    shape: {q: int(t) for q, t in per_q.items()}
                    for shape, per_q in entry.get("output_tokens", {}).items()
                },
                source=str(entry.get("source", "")),
                formula={q: int(b) for q, b in entry.get("output_formula", {}).items()},
            )
            for name, entry in data["models"].items()
        }
        table = PriceTable(
            taken=str(data["taken"]),
            per_tokens=int(data.get("per_tokens", 1_000_000)),
            models=models,
            aliases=dict(data.get("aliases", {})),
            fallback_model=str(data.get("fallback_model", next(iter(models)))),
            partial_tokens=int(data.get("partial_image_output_tokens", 100)),
            input_image=dict(data["input_image_tokens"]),
            chars_per_token=float(data.get("text_chars_per_token", 4)),
            auto_sizes=tuple(Extent.parse(s) for s in data.get("formula_auto_sizes", ())),
            batch_discount=float(data.get("batch_discount", 0.0)),
        )
        if not 0.0 <= table.batch_discount < 1.0:
            raise ValueError(f"batch_discount {table.batch_discount} is not a share below 1")
        if table.fallback_model not in models:
            raise KeyError(f"fallback_model {table.fallback_model!r} has no prices")
        for prices in models.values():
            if not prices.formula and not prices.output_tokens:
                raise KeyError(f"{prices.name} has neither output_formula nor output_tokens")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"Pricing table {origin} is malformed: {exc!r}") from None
    return table


def load_pricing(path: Path | None = None) -> PriceTable:
    """The pricing table shipped beside this module (or ``path``)."""
    if path is None:
        return _default_table()
    return _read_table(Path(path))


@lru_cache(maxsize=1)
def _default_table() -> PriceTable:
    return _read_table(PRICING_FILE)


def _read_table(path: Path) -> PriceTable:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read pricing table {path}: {exc}") from None
    return _parse_table(data, str(path))


# --- token counts ------------------------------------------------------------------------------


def _as_extent(size: Extent | str | None) -> Extent | None:
    if size is None or isinstance(size, Extent):
        return size
    if isinstance(size, tuple):
        return Extent(*size)
    text = str(size).strip().lower()
    return None if text in ("", "auto") else Extent.parse(text)


def formula_tokens(b: int, size: Extent) -> int:
    """Output tokens of one image from a flexible-size model (OpenAI's calculator formula)."""
    long, short = max(size), min(size)
    return math.ceil(b * round(b / (long / short)) * (2e6 + size.pixels) / 4e6)


def output_token_range(
    prices: ModelPrices, quality: str, size: Extent | str | None, auto_sizes: Iterable[Extent] = ()
) -> tuple[int, int, list[str]]:
    """Output tokens for one image as (lowest, highest, notes): equal unless quality or size is
    ``auto`` (or unknown), when they span what the API may choose."""
    notes: list[str] = []
    quality = (quality or "auto").lower()
    known = prices.qualities
    if quality in known:
        qualities = [quality]
    else:
        qualities = list(known)
        what = "auto" if quality == "auto" else f"{quality} (not in the price table)"
        notes.append(f"quality {what}: a range over {', '.join(known)}")
    extent = _as_extent(size)
    if prices.formula:
        sizes = [extent] if extent is not None else list(auto_sizes) or [Extent(1024, 1024)]
        if extent is None:
            notes.append(f"size auto: a range over {', '.join(str(s) for s in sizes)}")
        counts = [formula_tokens(prices.formula[q], s) for q in qualities for s in sizes]
        return min(counts), max(counts), notes
    table = prices.output_tokens
    if extent is None:
        notes.append("size auto: a range over the table sizes")
        shapes = list(table)
    else:
        shapes = [_nearest_shape(table, extent)]
        if str(extent) not in table:
            notes.append(f"{extent} scaled by area from {shapes[0]}")

    def tokens_for(shape: str, q: str) -> float:
        per_q = table[shape]
        base = per_q.get(q, max(per_q.values()))
        if extent is None:
            return float(base)
        return base * extent.pixels / Extent.parse(shape).pixels

    counts = [math.ceil(tokens_for(shape, q)) for shape in shapes for q in qualities]
    return min(counts), max(counts), notes


def output_tokens_per_image(
    prices: ModelPrices, quality: str, size: Extent | str | None
) -> tuple[int, list[str]]:
    """Output tokens for one image (the top of the range), with notes on assumptions."""
    _, high, notes = output_token_range(prices, quality, size, load_pricing().auto_sizes)
    return high, notes


def _nearest_shape(table: Mapping[str, Any], size: Extent) -> str:
    def distance(shape: str) -> float:
        return abs(math.log(Extent.parse(shape).aspect) - math.log(size.aspect))

    return min(table, key=distance)


def input_image_tokens(size: Extent, rules: Mapping[str, Any]) -> int:
    """Input tokens for one image by the vision tiling rule (see pricing.json)."""
    width, height = float(size.width), float(size.height)
    fit = float(rules["fit_px"])
    if max(width, height) > fit:
        scale = fit / max(width, height)
        width, height = width * scale, height * scale
    short = float(rules["short_side_px"])
    if min(width, height) > short:
        scale = short / min(width, height)
        width, height = width * scale, height * scale
    tile = float(rules["tile_px"])
    tiles = math.ceil(width / tile) * math.ceil(height / tile)
    return int(rules["base"]) + int(rules["per_tile"]) * tiles


def text_tokens(prompt: str, chars_per_token: float) -> int:
    return max(1, math.ceil(len(prompt) / chars_per_token)) if prompt else 0


# --- estimate / actual -------------------------------------------------------------------------


def estimate(
    model: str,
    quality: str,
    size: Extent | str | None,
    n: int = 1,
    partial_images: int = 0,
    input_images: Iterable[Extent] = (),
    prompt: str = "",
    *,
    table: PriceTable | None = None,
) -> Estimate:
    """The expected cost of one request, before it is made (no network)."""
    table = table or load_pricing()
    prices, borrowed = table.prices_for(model)
    low_per_image, per_image, notes = output_token_range(prices, quality, size, table.auto_sizes)
    if borrowed:
        notes.insert(0, borrowed)
    n = max(1, int(n))
    partial_tokens = table.partial_tokens * max(0, int(partial_images)) * n
    output = per_image * n + partial_tokens
    low_output = low_per_image * n + partial_tokens
    images = [input_image_tokens(Extent(*e), table.input_image) for e in input_images]
    image_in = sum(images)
    text_in = text_tokens(prompt, table.chars_per_token)
    rates = prices.rates
    usd_out = table.usd(output, rates["image_output"])
    usd_image_in = table.usd(image_in, rates["image_input"])
    usd_text_in = table.usd(text_in, rates["text_input"])
    total = usd_out + usd_image_in + usd_text_in
    low_total = table.usd(low_output, rates["image_output"]) + usd_image_in + usd_text_in
    return Estimate(
        usd=_round_up(total, 4),
        usd_low=_round_up(low_total, 4),
        breakdown={
            "model": model,
            "priced_as": prices.name,
            "quality": quality,
            "size": str(size) if size is not None else "auto",
            "n": n,
            "partial_images": int(partial_images),
            "output_tokens_per_image": per_image,
            "output_tokens_per_image_range": [low_per_image, per_image],
            "usd_range": [_round_up(low_total, 4), _round_up(total, 4)],
            "partial_output_tokens": partial_tokens,
            "output_tokens": output,
            "input_image_tokens": image_in,
            "input_images": len(images),
            "text_input_tokens": text_in,
            "usd_output": round(usd_out, 6),
            "usd_image_input": round(usd_image_in, 6),
            "usd_text_input": round(usd_text_in, 6),
            "rates_per_1m": dict(rates),
            "prices_taken": table.taken,
            "notes": notes,
        },
    )


def actual_cost(
    usage: Mapping[str, Any] | None, model: str, *, table: PriceTable | None = None
) -> float | None:
    """USD for a finished request from its ``usage``; None when the API sent no usage.

    Input tokens are split into text and image by ``input_tokens_details`` (all text when the
    details are missing, as for plain generations). Output tokens are image tokens unless
    ``output_tokens_details`` names text tokens and the model has a text output rate.
    """
    if not usage:
        return None
    table = table or load_pricing()
    prices, _ = table.prices_for(model)
    rates = prices.rates
    input_total = _int(usage.get("input_tokens"))
    in_details = usage.get("input_tokens_details") or {}
    image_in = _int(in_details.get("image_tokens"))
    text_in = _int(in_details.get("text_tokens")) if in_details else input_total
    if in_details and image_in + text_in < input_total:
        text_in = input_total - image_in  # unexplained input is charged at the text rate
    output_total = _int(usage.get("output_tokens"))
    out_details = usage.get("output_tokens_details") or {}
    text_out = _int(out_details.get("text_tokens")) if "text_output" in rates else 0
    image_out = max(0, output_total - text_out)
    usd = (
        table.usd(text_in, rates["text_input"])
        + table.usd(image_in, rates["image_input"])
        + table.usd(image_out, rates["image_output"])
        + table.usd(text_out, rates.get("text_output", 0.0))
    )
    return round(usd, 6)


def batch_price(usd: float | None, *, table: PriceTable | None = None) -> float | None:
    """What ``usd`` at the normal price costs through the Batch API (None stays None)."""
    if usd is None:
        return None
    table = table or load_pricing()
    return round(usd * (1.0 - table.batch_discount), 6)


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _round_up(value: float, digits: int) -> float:
    factor = 10**digits
    # subtract a hair so float noise (0.1+0.2) does not round a clean value up a step
    return math.ceil(value * factor - 1e-9) / factor


def money(usd: float | None) -> str:
    """'$0.042' (three decimals under a dollar, two above); '?' when unknown."""
    if usd is None or not math.isfinite(usd):
        return "?"
    return f"${usd:.3f}" if usd < 1 else f"${usd:.2f}"


def precise_money(usd: float | None, unknown: str = "-") -> str:
    """'$0.0402': the CLI's sums, to a hundredth of a cent (what usage-based costs add up to
    across a batch, and what a script comparing runs needs), ``unknown`` when there is none;
    hosts show ``money``."""
    if usd is None or isinstance(usd, bool) or not math.isfinite(usd):
        return unknown
    return f"${usd:.4f}"


def cost_line(actual_usd: float | None, estimate_usd: float | None) -> str:
    """What a host shows after a job: 'cost $0.042 (estimate $0.040)' — the actual cost from
    the API's usage next to what was estimated before sending ('?' when the server reported
    no usage)."""
    return f"cost {money(actual_usd)} (estimate {money(estimate_usd)})"


def estimate_figure(est: Estimate) -> str:
    """An estimate as hosts show it before sending: '$0.042' like every other sum, or the
    range '$0.0050–$0.2110' when ``auto`` quality or size leaves it open."""
    return est.text() if est.is_range else money(est.usd)


def estimate_line(est: Estimate) -> str:
    """The docker's estimate label: '≈ $0.042' (see ``estimate_figure``)."""
    return f"≈ {estimate_figure(est)}"


def runs_estimate(total_usd: float | None, runs: int) -> str:
    """'estimate $0.126 for 3 runs': the summed estimate of a comparison, before sending."""
    return f"estimate {money(total_usd)} for {runs} runs"


def record_cost(data: Mapping[str, Any]) -> str:
    """A history entry's money: the cost paid ('$0.053'), else the estimate marked as such
    ('estimated $0.050'), else '' (what both hosts' History lists show)."""
    cost, estimate = data.get("cost_usd"), data.get("estimate_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return money(float(cost))
    if isinstance(estimate, (int, float)) and not isinstance(estimate, bool):
        return f"estimated {money(float(estimate))}"
    return ""
