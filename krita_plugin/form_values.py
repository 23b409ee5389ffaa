"""The docker form's values without widgets: what a job needs from the form (no Qt, no Krita).

``FormValues`` is what the docker reads from the form and what History writes back into it;
the options' defaults, the model list and the qualities per model come from ``core``. Kept
apart from ``form`` (widgets) so the form's job path runs, and is tested, without Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .core.models import KNOWN_MODELS, capabilities, picker_label
from .core.options import RESOLUTIONS as RESOLUTION_CHOICES
from .core.options import option
from .core.pipeline import Mode

MODES = (
    (Mode.EDIT_SELECTION.value, "Edit selection"),
    (Mode.EDIT_IMAGE.value, "Edit image"),
    (Mode.GENERATE.value, "Generate"),
    (Mode.EXPAND.value, "Expand canvas"),
)
SOURCES = (("layer", "Active layer"), ("composite", "Visible composite"))
#: The picker's models: every model core knows, with its short description (fast, precise…).
MODELS = tuple((name, picker_label(caps)) for name, caps in KNOWN_MODELS.items())
RESOLUTIONS = RESOLUTION_CHOICES
MAX_REFERENCES = option("references").maximum
REFERENCES_FULL = f"That reference is already listed, or {MAX_REFERENCES} are."


def qualities_for(model: str, custom: Any = None) -> tuple[str, ...]:
    """The qualities ``model`` takes (core's capability table); every quality for a name core
    does not know (the API will say)."""
    try:
        return capabilities(model, custom).qualities
    except Exception:  # an unknown or half-typed name
        return option("quality").choices


@dataclass
class Reference:
    """A reference picked in the form: a layer (by id) or an image file."""

    kind: str  # "layer" | "file"
    label: str
    key: Any  # layer uniqueId or file path


@dataclass
class FormValues:
    prompt: str = ""
    mode: str = Mode.EDIT_SELECTION.value
    source: str = "layer"
    model: str = option("model").default
    quality: str = option("quality").default
    resolution: str = option("resolution").default
    n: int = option("n").default
    padding_px: int = option("padding_px").default
    grow_px: int = option("grow_px").default
    feather_px: int = option("feather_px").default
    partial_images: int = option("partial_images").default
    references: list[Reference] = field(default_factory=list)


def form_from_settings(settings: Any) -> FormValues:
    return FormValues(
        model=settings.model,
        quality=settings.quality,
        resolution=settings.resolution,
        n=settings.n,
        padding_px=settings.padding_px,
        grow_px=settings.grow_px,
        feather_px=settings.feather_px,
        partial_images=settings.partial_images,
    )


def form_from_record(data: dict) -> FormValues:
    """Form values from a history job.json (prompt, mode, model and the stored options)."""
    from .core.job_record import record_options

    opts = record_options(data)
    blend = opts["blend"]
    return FormValues(
        prompt=str(data.get("prompt", "")),
        mode=str(data.get("mode", Mode.EDIT_SELECTION.value)),
        model=opts["model"],
        quality=str(opts["quality"]),
        resolution=str(opts["resolution"]),
        n=int(opts["n"]),
        padding_px=int(blend["padding_px"]),
        grow_px=int(blend["grow_px"]),
        feather_px=int(blend["feather_px"]),
        partial_images=int(opts["partial_images"]),
    )
