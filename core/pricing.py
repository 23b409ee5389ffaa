"""What a job will cost before it runs, and what it did cost from the API's ``usage`` after.

The prices are data (``core/data/pricing.json``, with the date they were taken and a source per
model), not code. The method:

- output: per-image output tokens from the model's table for 1024x1024, 1024x1536 and 1536x1024 at
  low/medium/high. Any other (flexible) size takes the table shape nearest in aspect ratio and
  scales its tokens by pixel area. ``size="auto"`` and ``quality="auto"`` take the most expensive
  table entry, so an estimate is an upper bound rather than a surprise. Each partial image adds
  100 output tokens, per image.
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
QUALITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class ModelPrices:
    name: str
    rates: Mapping[str, float]  # USD per ``per_tokens`` tokens
    output_tokens: Mapping[str, Mapping[str, int]]  # "WxH" -> quality -> tokens per image
    source: str = ""


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
    """An upper-bound-leaning estimate in USD with how it was reached."""

    usd: float
    breakdown: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"usd": self.usd, **self.breakdown}


def _parse_table(data: Mapping[str, Any], origin: str) -> PriceTable:
    try:
        models = {
            name: ModelPrices(
                name=name,
                rates={k: float(v) for k, v in entry["rates"].items()},
                output_tokens={
                    shape: {q: int(t) for q, t in per_q.items()}
                    for shape, per_q in entry["output_tokens"].items()
                },
                source=str(entry.get("source", "")),
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
        )
        if table.fallback_model not in models:
            raise KeyError(f"fallback_model {table.fallback_model!r} has no prices")
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


def output_tokens_per_image(
    prices: ModelPrices, quality: str, size: Extent | str | None
) -> tuple[int, list[str]]:
    """Output tokens for one image at ``size`` and ``quality``, with notes on assumptions."""
    notes: list[str] = []
    quality = (quality or "auto").lower()
    table = prices.output_tokens
    if quality not in QUALITIES:
        notes.append(f"quality {quality} estimated as the most expensive quality")
    extent = _as_extent(size)
    if extent is None:
        notes.append("size auto estimated as the most expensive table size")
        shapes = list(table)
    else:
        shapes = [_nearest_shape(table, extent)]

    def tokens_for(shape: str) -> float:
        per_q = table[shape]
        base = per_q[quality] if quality in per_q else max(per_q.values())
        if extent is None:
            return float(base)
        shape_px = Extent.parse(shape).pixels
        return base * extent.pixels / shape_px

    best = max(tokens_for(shape) for shape in shapes)
    if extent is not None and str(extent) not in table:
        notes.append(f"{extent} scaled by area from {shapes[0]}")
    return math.ceil(best), notes


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
    per_image, notes = output_tokens_per_image(prices, quality, size)
    if borrowed:
        notes.insert(0, borrowed)
    n = max(1, int(n))
    partial_tokens = table.partial_tokens * max(0, int(partial_images)) * n
    output = per_image * n + partial_tokens
    images = [input_image_tokens(Extent(*e), table.input_image) for e in input_images]
    image_in = sum(images)
    text_in = text_tokens(prompt, table.chars_per_token)
    rates = prices.rates
    usd_out = table.usd(output, rates["image_output"])
    usd_image_in = table.usd(image_in, rates["image_input"])
    usd_text_in = table.usd(text_in, rates["text_input"])
    total = usd_out + usd_image_in + usd_text_in
    return Estimate(
        usd=_round_up(total, 4),
        breakdown={
            "model": model,
            "priced_as": prices.name,
            "quality": quality,
            "size": str(size) if size is not None else "auto",
            "n": n,
            "partial_images": int(partial_images),
            "output_tokens_per_image": per_image,
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


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _round_up(value: float, digits: int) -> float:
    factor = 10**digits
    # subtract a hair so float noise (0.1+0.2) does not round a clean value up a step
    return math.ceil(value * factor - 1e-9) / factor
