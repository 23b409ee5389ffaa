"""Expand…'s arguments (``plug-in-gpt-image-expand``), plain Python like ``arguments``.

The common options (prompt, model, quality, resolution, variants, timeout) are the Edit…
arguments themselves, re-declared for this procedure only where their wording differs; the
borders are ``left``/``top``/``right``/``bottom`` in pixels, or ``aspect`` + ``anchor``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.options import ANCHOR_NAMES as ANCHOR_CHOICES
from core.options import MAX_CANVAS_EDGE, option

from .arguments import ARGS, QUALITIES, RESOLUTION_RE, Arg, RefEntry, parse_references

EXPAND_PROC = "plug-in-gpt-image-expand"
#: The anchor names, the overlap's default and range, the canvas limit: ``core.options`` (pure
#: Python, so registering the procedure still needs no third-party package).
ANCHOR_NAMES = ANCHOR_CHOICES
MAX_BORDER = MAX_CANVAS_EDGE
_OVERLAP = option("overlap_px")
DEFAULT_OVERLAP: int = _OVERLAP.default


def _common(name: str, **changes: Any) -> Arg:
    arg = next(a for a in ARGS if a.name == name)
    return replace(arg, procs=(EXPAND_PROC,), **changes)


def _side(name: str, label: str) -> Arg:
    return Arg(
        name,
        "int",
        label,
        f"Pixels to add on the {name} (0-{MAX_BORDER}); ignored when aspect is set.",
        0,
        0,
        MAX_BORDER,
        procs=(EXPAND_PROC,),
    )


EXPAND_ARGS: tuple[Arg, ...] = (
    _common(
        "prompt",
        blurb="What the new area shows (optional: without one the scene is continued).",
    ),
    _common("model"),
    _common("quality"),
    _common("resolution"),
    _common("variants"),
    _common("references"),
    _common("reference-layer"),
    _common("reference-layer-2"),
    _common("reference-layer-3"),
    _side("left", "_Left"),
    _side("top", "_Top"),
    _side("right", "_Right"),
    _side("bottom", "_Bottom"),
    Arg(
        "aspect",
        "string",
        "_Aspect",
        "Target shape W:H (e.g. 16:9): the smallest canvas of that shape holding the image. "
        "Empty: use left/top/right/bottom.",
        "",
        procs=(EXPAND_PROC,),
    ),
    Arg(
        "anchor",
        "choice",
        "Anc_hor",
        "Where the original sits when aspect is set.",
        "center",
        choices=ANCHOR_NAMES,
        procs=(EXPAND_PROC,),
    ),
    Arg(
        "overlap",
        "int",
        "_Overlap",
        _OVERLAP.help.removeprefix("Expand: ").capitalize(),
        DEFAULT_OVERLAP,
        _OVERLAP.minimum,
        _OVERLAP.maximum,
        procs=(EXPAND_PROC,),
    ),
    _common("timeout"),
)


@dataclass(frozen=True)
class ExpandOptions:
    """A run's checked arguments, without libgimp objects."""

    prompt: str
    model: str
    quality: str
    resolution: str
    variants: int
    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0
    aspect: str = ""
    anchor: str = "center"
    overlap: int = DEFAULT_OVERLAP
    timeout_s: float = 0.0
    references: tuple[RefEntry, ...] = ()

    @property
    def sides(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


def expand_options(values: dict[str, Any]) -> ExpandOptions:
    """``ExpandOptions`` by argument name; ``ValueError`` names what is wrong."""
    resolution = (values.get("resolution") or "auto").strip()
    if not RESOLUTION_RE.match(resolution):
        raise ValueError(
            f"Resolution {resolution!r} is not auto, 1K, 2K, 4K or WIDTHxHEIGHT (e.g. 1536x1024)."
        )
    quality = values.get("quality") or "medium"
    if quality not in QUALITIES:
        raise ValueError(f"Quality {quality!r} is not one of {', '.join(QUALITIES)}.")
    variants = int(values.get("variants") or 1)
    if not 1 <= variants <= 10:
        raise ValueError(f"Variants must be 1 to 10, not {variants}.")
    sides = [int(values.get(name) or 0) for name in ("left", "top", "right", "bottom")]
    aspect = (values.get("aspect") or "").strip()
    anchor = values.get("anchor") or "center"
    if anchor not in ANCHOR_NAMES:
        raise ValueError(f"Anchor {anchor!r} is not one of {', '.join(ANCHOR_NAMES)}.")
    if aspect and any(sides):
        raise ValueError("Give either left/top/right/bottom or an aspect, not both.")
    if not aspect and not any(sides):
        raise ValueError("Nothing to expand: set left, top, right or bottom, or an aspect.")
    if any(side < 0 for side in sides):
        raise ValueError("Borders can't be negative: expand only grows the canvas.")
    return ExpandOptions(
        prompt=(values.get("prompt") or "").strip(),
        model=(values.get("model") or "gpt-image-2").strip(),
        quality=quality,
        resolution=resolution,
        variants=variants,
        left=sides[0],
        top=sides[1],
        right=sides[2],
        bottom=sides[3],
        aspect=aspect,
        anchor=anchor,
        overlap=int(values.get("overlap", DEFAULT_OVERLAP)),
        timeout_s=max(0.0, float(values.get("timeout") or 0.0)),
        references=parse_references(values.get("references") or ""),
    )
