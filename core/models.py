"""What each image model accepts, as data: the one capability table.

Qualities, size rules, transparency, input fidelity and the limits on references and previews
all come from here; the job options (``core.options``), the client, pricing, the CLI and both
hosts ask this table instead of spelling a model's rules again.

The API grows models faster than plug-ins ship, so a name this table does not know can be
declared in settings (``custom_models = {"gpt-image-3": "flexible"}``) instead of waiting for
a release. A declared model takes every quality any known model takes (the API says no if not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from .errors import InputError
from .geometry import Extent

SizeKind = Literal["flexible", "fixed"]

#: The three shapes every GPT Image model accepts.
FIXED_SIZES: tuple[Extent, ...] = (Extent(1024, 1024), Extent(1536, 1024), Extent(1024, 1536))

#: Qualities in the order pickers show them (cheapest first, ``auto`` last).
QUALITIES_2: tuple[str, ...] = ("low", "medium", "high", "auto")
QUALITIES_25: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max", "auto")


@dataclass(frozen=True)
class ModelCaps:
    name: str
    sizes: SizeKind
    fixed_sizes: tuple[Extent, ...] = FIXED_SIZES
    qualities: tuple[str, ...] = QUALITIES_2
    input_fidelity: bool = False
    transparent: bool = True
    #: Transparency works but is labelled "preview" by OpenAI (may be refused).
    transparent_preview: bool = False
    max_input_images: int = 16
    max_partials: int = 3
    #: ``moderation`` reaches the edits endpoint (through ``extra_body``).
    moderation_on_edits: bool = True
    #: One word for pickers: fast / precise / legacy / ...
    description: str = ""
    #: For a dated snapshot, the name it is a snapshot of.
    snapshot_of: str | None = None
    # Flexible-size rules (gpt-image-2).
    size_multiple: int = 16
    max_edge: int = 3840
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400
    max_aspect: float = 3.0

    @property
    def flexible(self) -> bool:
        return self.sizes == "flexible"

    @property
    def max_references(self) -> int:
        """References that fit beside the edited image (which counts as one input)."""
        return self.max_input_images - 1

    def size_rule(self) -> dict[str, object]:
        """The size rule as data (``python -m core models --json``)."""
        if not self.flexible:
            return {"kind": "fixed", "sizes": [str(s) for s in self.fixed_sizes] + ["auto"]}
        return {
            "kind": "flexible",
            "multiple": self.size_multiple,
            "max_edge": self.max_edge,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "max_aspect": self.max_aspect,
            "auto": True,
        }

    def size_text(self) -> str:
        """The size rule in words."""
        if not self.flexible:
            return ", ".join(str(s) for s in self.fixed_sizes) + " or auto"
        return (
            f"any WxH in multiples of {self.size_multiple}, edge ≤ {self.max_edge}, "
            f"ratio ≤ {self.max_aspect:g}:1, {self.min_pixels:,}–{self.max_pixels:,} px, or auto"
        )


_GPT_IMAGE_2 = ModelCaps(
    "gpt-image-2",
    "flexible",
    qualities=QUALITIES_2,
    input_fidelity=False,
    transparent=True,
    transparent_preview=True,
    description="balanced",
)
_FLARE = replace(
    _GPT_IMAGE_2,
    name="gpt-image-2.5-flare",
    qualities=QUALITIES_25,
    transparent_preview=False,
    description="fast",
)
_SUNBURST = replace(_FLARE, name="gpt-image-2.5-sunburst", description="precise")
_GPT_IMAGE_15 = ModelCaps(
    "gpt-image-1.5", "fixed", input_fidelity=True, transparent=True, description="legacy"
)


def _snapshot(caps: ModelCaps, date: str) -> ModelCaps:
    return replace(
        caps,
        name=f"{caps.name}-{date}",
        snapshot_of=caps.name,
        description=f"{caps.description}, {date} snapshot",
    )


KNOWN_MODELS: dict[str, ModelCaps] = {
    caps.name: caps
    for caps in (
        _GPT_IMAGE_2,
        _snapshot(_GPT_IMAGE_2, "2026-04-21"),
        _FLARE,
        _snapshot(_FLARE, "2026-09-08"),
        _SUNBURST,
        _snapshot(_SUNBURST, "2026-09-08"),
        _GPT_IMAGE_15,
        ModelCaps("gpt-image-1-mini", "fixed", transparent=True, description="legacy, cheap"),
        ModelCaps(
            "gpt-image-1",
            "fixed",
            input_fidelity=True,
            transparent=True,
            description="legacy (retired Oct 2026)",
        ),
    )
}

DEFAULT_MODEL = "gpt-image-2"

#: Every quality some model takes, in picker order (what settings may hold).
ALL_QUALITIES: tuple[str, ...] = tuple(
    dict.fromkeys(QUALITIES_25 + tuple(q for caps in KNOWN_MODELS.values() for q in caps.qualities))
)


def capabilities(model: str, custom: Mapping[str, str] | None = None) -> ModelCaps:
    """The capabilities of ``model``; names declared in settings take precedence."""
    kind = (custom or {}).get(model)
    if kind is not None:
        if kind not in ("flexible", "fixed"):
            raise InputError(
                f"Custom model {model!r} is declared as {kind!r}.",
                hint='Declare it as "flexible" (gpt-image-2 size rules) or "fixed" (three sizes).',
            )
        base = _GPT_IMAGE_2 if kind == "flexible" else _GPT_IMAGE_15
        return replace(
            base,
            name=model,
            sizes=kind,
            qualities=ALL_QUALITIES,
            transparent_preview=False,
            description="custom",
            snapshot_of=None,
        )
    try:
        return KNOWN_MODELS[model]
    except KeyError:
        known = ", ".join(KNOWN_MODELS)
        raise InputError(
            f"Unknown model {model!r}.",
            hint=f"Use one of {known}, or declare it in settings as flexible or fixed.",
        ) from None


def model_names(custom: Mapping[str, str] | None = None) -> list[str]:
    """Known models in table order, then custom ones (what pickers list)."""
    return list(KNOWN_MODELS) + [name for name in (custom or {}) if name not in KNOWN_MODELS]


def model_table(
    custom: Mapping[str, str] | None = None, *, default: str = DEFAULT_MODEL
) -> list[dict[str, object]]:
    """Every model pickers and ``python -m core models`` list, as JSON-ready rows."""
    from .pricing import load_pricing  # pricing reads data files; models stays import-light

    table = load_pricing()
    rows = []
    for name in model_names(custom):
        caps = capabilities(name, custom)
        prices, borrowed = table.prices_for(name)
        rows.append(
            {
                "name": name,
                "description": caps.description,
                "qualities": list(caps.qualities),
                "sizes": caps.size_rule(),
                "size_text": caps.size_text(),
                "transparent": caps.transparent,
                "transparent_preview": caps.transparent_preview,
                "input_fidelity": caps.input_fidelity,
                "max_references": caps.max_references,
                "max_partials": caps.max_partials,
                "snapshot_of": caps.snapshot_of,
                "default": name == default,
                "price_per_1m": dict(prices.rates),
                "priced_as": prices.name if borrowed else name,
            }
        )
    return rows


def picker_label(caps: ModelCaps) -> str:
    """ "gpt-image-2.5-flare — fast": what the hosts' model pickers show."""
    return f"{caps.name} — {caps.description}" if caps.description else caps.name
