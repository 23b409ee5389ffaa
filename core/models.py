"""What each image model accepts, as data.

The API grows models faster than plug-ins ship, so a name this table does not know can be
declared in settings (``custom_models = {"gpt-image-2.5": "flexible"}``) instead of waiting for
a release.
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


@dataclass(frozen=True)
class ModelCaps:
    name: str
    sizes: SizeKind
    fixed_sizes: tuple[Extent, ...] = FIXED_SIZES
    input_fidelity: bool = False
    transparent: bool = True
    max_input_images: int = 16
    max_partials: int = 3
    # Flexible-size rules (gpt-image-2).
    size_multiple: int = 16
    max_edge: int = 3840
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400
    max_aspect: float = 3.0

    @property
    def flexible(self) -> bool:
        return self.sizes == "flexible"


_GPT_IMAGE_2 = ModelCaps("gpt-image-2", "flexible", input_fidelity=False, transparent=True)

KNOWN_MODELS: dict[str, ModelCaps] = {
    caps.name: caps
    for caps in (
        _GPT_IMAGE_2,
        replace(_GPT_IMAGE_2, name="gpt-image-2-2026-04-21"),
        ModelCaps("gpt-image-1.5", "fixed", input_fidelity=True, transparent=True),
        ModelCaps("gpt-image-1-mini", "fixed", input_fidelity=False, transparent=True),
        ModelCaps("gpt-image-1", "fixed", input_fidelity=True, transparent=True),
    )
}

DEFAULT_MODEL = "gpt-image-2"


def capabilities(model: str, custom: Mapping[str, str] | None = None) -> ModelCaps:
    """The capabilities of ``model``; names declared in settings take precedence."""
    kind = (custom or {}).get(model)
    if kind is not None:
        if kind not in ("flexible", "fixed"):
            raise InputError(
                f"Custom model {model!r} is declared as {kind!r}.",
                hint='Declare it as "flexible" (gpt-image-2 size rules) or "fixed" (three sizes).',
            )
        base = _GPT_IMAGE_2 if kind == "flexible" else KNOWN_MODELS["gpt-image-1.5"]
        return replace(base, name=model, sizes=kind)
    try:
        return KNOWN_MODELS[model]
    except KeyError:
        known = ", ".join(KNOWN_MODELS)
        raise InputError(
            f"Unknown model {model!r}.",
            hint=f"Use one of {known}, or declare it in settings as flexible or fixed.",
        ) from None
