"""Expand…'s run options (``plug-in-gpt-image-expand``), plain Python like ``arguments``.

The procedure's argument table lives in ``arguments`` with the others (``EXPAND_ARGS``: the
common options re-declared for this procedure, ``left``/``top``/``right``/``bottom`` in pixels,
or ``aspect`` + ``anchor``, and ``overlap``); here they become checked ``ExpandOptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.options import option

from .arguments import (
    ANCHOR_NAMES,
    DEFAULT_OVERLAP,
    EXPAND_ARGS,
    EXPAND_PROC,
    MAX_BORDER,
    RefEntry,
    model_values,
    references_from_values,
)

__all__ = ["ANCHOR_NAMES", "EXPAND_ARGS", "EXPAND_PROC", "MAX_BORDER", "ExpandOptions"]


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
    anchor: str = option("anchor").default
    overlap: int = DEFAULT_OVERLAP
    timeout_s: float = 0.0
    references: tuple[RefEntry, ...] = ()

    @property
    def sides(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


def expand_options(values: dict[str, Any]) -> ExpandOptions:
    """``ExpandOptions`` by argument name; ``ValueError`` names what is wrong."""
    model = model_values(values)
    sides = [int(values.get(name) or 0) for name in ("left", "top", "right", "bottom")]
    aspect = (values.get("aspect") or "").strip()
    anchor = values.get("anchor") or option("anchor").default
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
        **model,
        left=sides[0],
        top=sides[1],
        right=sides[2],
        bottom=sides[3],
        aspect=aspect,
        anchor=anchor,
        overlap=int(values.get("overlap", DEFAULT_OVERLAP)),
        timeout_s=max(0.0, float(values.get("timeout") or 0.0)),
        references=references_from_values(values),
    )
