"""Generative expand: grow the canvas and let the model paint the new area (outpainting).

An expand is a masked edit of the *new* canvas (the old one plus borders) whose "selection" is
the new area plus a short feathered ramp into the original. Everything after planning is the
ordinary masked-edit path of ``pipeline`` and ``jobs``: the crop is read (the new area is
transparent), the mask is transparent where the model may paint, the result is mapped back by
the exact inverse of the crop → API resize, colour-matched where the original was kept, and
blended through the ramp, so original pixels farther than the overlap from the old edge are
bit-identical and the new area comes out fully opaque.

Coordinates: ``Expansion.offset`` is where the original's top-left lies on the new canvas;
``Plan.canvas`` of an expand plan is the *new* canvas and every box is in its pixels.

Large canvases: one request covers the whole new area. When that does not fit the model's
budget at native scale, the crop is scaled down uniformly (never distorted) to a valid size and
the new area is filled at that scale (``expand_note`` says so); see ``docs/expand.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from PIL import Image, ImageChops

from .errors import InputError
from .geometry import Bounds, Extent, Point
from .models import DEFAULT_MODEL, capabilities
from .options import ANCHOR_NAMES, MAX_CANVAS_EDGE, option
from .pipeline import MASK_SAFETY_PX, BlendOptions, Mode, Plan, _place
from .selection import SelectionMask
from .sizing import parse_aspect, parse_resolution, size_crop

#: Default and largest width (px) of the feathered band of the original the model may repaint.
DEFAULT_OVERLAP_PX: int = option("overlap_px").default
MAX_OVERLAP_PX: int = option("overlap_px").maximum or 256
#: Context of the original the crop keeps at least beyond the overlap (canvas px).
MIN_CONTEXT_PX = 64
#: A wider band of context may cost this much scale (sizes snap to multiples of 16).
BAND_SCALE_TOLERANCE = 0.01
#: The new canvas is refused beyond ``MAX_CANVAS_EDGE`` a side or this many pixels.
MAX_CANVAS_PIXELS = 300_000_000


def _placement(name: str) -> tuple[float, float]:
    """(x, y) fractions of the free space before the original, read from the anchor's name."""
    x = 0.0 if "left" in name else 1.0 if "right" in name else 0.5
    y = 0.0 if "top" in name else 1.0 if "bottom" in name else 0.5
    return x, y


#: Where the original sits in the new canvas, by anchor name (names: ``core.options``).
ANCHORS: dict[str, tuple[float, float]] = {name: _placement(name) for name in ANCHOR_NAMES}
_ANCHOR_ALIASES = {
    "centre": "center",
    "middle": "center",
    "c": "center",
    "n": "top",
    "s": "bottom",
    "w": "left",
    "e": "right",
    "nw": "top-left",
    "ne": "top-right",
    "sw": "bottom-left",
    "se": "bottom-right",
}

EXPAND_PROMPT = (
    "Extend this picture outward into the empty (transparent) area: continue the scene "
    "naturally and seamlessly, with the same perspective, lighting, colours, style and "
    "level of detail; add no frames, borders or text."
)


class Borders(NamedTuple):
    """Pixels added on each side of the original."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def is_empty(self) -> bool:
        return not any(self)


def parse_borders(text: str) -> Borders:
    """``L,T,R,B`` in whole pixels (0 or more, at least one above 0)."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        raise InputError(f"--by takes L,T,R,B in whole pixels, not {text!r}.")
    return check_borders(Borders(*(int(p) for p in parts)))


def check_borders(borders: Borders) -> Borders:
    """InputError for negative borders or nothing to add."""
    negative = [name for name, value in borders._asdict().items() if value < 0]
    if negative:
        raise InputError(
            f"Borders can't be negative ({', '.join(negative)}): expand only grows the canvas."
        )
    if borders.is_empty:
        raise InputError("Nothing to expand: every border is 0.")
    return borders


def parse_anchor(text: str | None) -> str:
    """A canonical anchor name from ``center``, ``top-left``, ``top_left``, ``nw``…"""
    clean = (text or "center").strip().lower().replace("_", "-").replace(" ", "-")
    clean = _ANCHOR_ALIASES.get(clean, clean)
    if clean not in ANCHORS:
        parts = clean.split("-")
        if len(parts) == 2 and "-".join(reversed(parts)) in ANCHORS:  # left-top
            clean = "-".join(reversed(parts))
        elif clean.replace("-", "") in {k.replace("-", "") for k in ANCHORS}:  # topleft
            clean = next(k for k in ANCHORS if k.replace("-", "") == clean.replace("-", ""))
        else:
            raise InputError(f"Unknown anchor {text!r}.", hint=f"Use one of {', '.join(ANCHORS)}.")
    return clean


def borders_for_size(image: Extent, size: Extent, anchor: str | None = "center") -> Borders:
    """The borders that make ``image`` into ``size``, the original placed by ``anchor``."""
    if size.width < image.width or size.height < image.height:
        raise InputError(
            f"The target {size} is smaller than the image ({image}); expand only grows it."
        )
    fx, fy = ANCHORS[parse_anchor(anchor)]
    free_x, free_y = size.width - image.width, size.height - image.height
    left, top = math.floor(free_x * fx), math.floor(free_y * fy)
    return check_borders(Borders(left, top, free_x - left, free_y - top))


def borders_for_aspect(image: Extent, aspect: str, anchor: str | None = "center") -> Borders:
    """The smallest canvas of shape ``W:H`` that holds ``image``, the original by ``anchor``."""
    ratio = parse_aspect(aspect)
    if image.width >= image.height * ratio:  # too wide already: add height
        size = Extent(image.width, max(image.height, round(image.width / ratio)))
    else:
        size = Extent(max(image.width, round(image.height * ratio)), image.height)
    if size == image:
        raise InputError(f"The image ({image}) already has the aspect {aspect}; nothing to add.")
    return borders_for_size(image, size, anchor)


@dataclass(frozen=True)
class Expansion:
    """The original (its size) inside the new canvas, and the overlap the model may repaint."""

    image: Extent
    borders: Borders
    overlap_px: int = DEFAULT_OVERLAP_PX

    def __post_init__(self) -> None:
        check_borders(self.borders)
        option("overlap_px").check(self.overlap_px)
        if self.image.width <= 0 or self.image.height <= 0:
            raise InputError(f"The image is empty ({self.image}).")
        canvas = self.canvas
        if max(canvas) > MAX_CANVAS_EDGE or canvas.pixels > MAX_CANVAS_PIXELS:
            raise InputError(
                f"The new canvas {canvas} is too large (at most {MAX_CANVAS_EDGE} px a side "
                f"and {MAX_CANVAS_PIXELS // 1_000_000} MP)."
            )

    @property
    def canvas(self) -> Extent:
        b = self.borders
        return Extent(self.image.width + b.left + b.right, self.image.height + b.top + b.bottom)

    @property
    def offset(self) -> Point:
        return Point(self.borders.left, self.borders.top)

    @property
    def original(self) -> Bounds:
        """Where the original lies on the new canvas."""
        return Bounds(*self.offset, *self.image)

    @property
    def new_area(self) -> Bounds:
        """The bounding box of the new area (the added strips)."""
        b, whole = self.borders, Bounds.of_extent(self.canvas)
        o = self.original
        strips = [
            Bounds(0, 0, b.left, whole.height) if b.left else None,
            Bounds(o.right, 0, b.right, whole.height) if b.right else None,
            Bounds(0, 0, whole.width, b.top) if b.top else None,
            Bounds(0, o.bottom, whole.width, b.bottom) if b.bottom else None,
        ]
        boxes = [s for s in strips if s is not None]
        return Bounds.from_box(
            min(s.x for s in boxes),
            min(s.y for s in boxes),
            max(s.right for s in boxes),
            max(s.bottom for s in boxes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": list(self.image),
            "borders": list(self.borders),
            "overlap_px": self.overlap_px,
            "canvas": list(self.canvas),
            "offset": list(self.offset),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Expansion:
        return Expansion(Extent(*data["image"]), Borders(*data["borders"]), int(data["overlap_px"]))


def expansion_of_record(record: Any) -> Expansion:
    """How a past expand grew its canvas (``InputError`` when its job.json does not say)."""
    try:
        return Expansion.from_dict(record.data["plan"]["expansion"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"History entry {record.id} does not say how it expanded.") from None


def regrow_needed(expansion: Expansion, now: Extent) -> bool:
    """Inserting a past expand into a canvas of size ``now``: True when the canvas must grow
    first (it is the original's size), False when it already has the expanded size;
    ``InputError`` for any other size (the result would not line up)."""
    if now == expansion.canvas:
        return False
    if now != expansion.image:
        raise InputError(
            f"This expand was made for a {expansion.image} canvas (growing to "
            f"{expansion.canvas}); this one is {now}. The result is in History."
        )
    return True


def expand_prompt(prompt: str | None) -> str:
    """The prompt sent: the continuation instruction, then the person's words if any.

    Idempotent, so a job re-run from history is not prefixed twice.
    """
    text = " ".join((prompt or "").split())
    if text.startswith(EXPAND_PROMPT):
        return text
    return f"{EXPAND_PROMPT} {text}" if text else EXPAND_PROMPT


def expand_words(prompt: str | None) -> str:
    """The person's part of an expand prompt: ``expand_prompt`` undone (what was sent, and what
    History keeps, starts with the continuation instruction); other text as it is."""
    text = " ".join((prompt or "").split())
    return text[len(EXPAND_PROMPT) :].strip() if text.startswith(EXPAND_PROMPT) else text


def expansion_mask(expansion: Expansion) -> SelectionMask:
    """255 over the new area, a smooth ramp to 0 over ``overlap_px`` into the original, 0 beyond.

    Only sides that grew get a ramp: an edge that stays a canvas edge is not repainted. Only
    thin strips are drawn (a corner takes the larger of its two ramps), so a huge canvas costs
    one 8-bit image.
    """
    whole = Bounds.of_extent(expansion.canvas)
    area = expansion.new_area.pad(expansion.overlap_px).intersect(whole)
    coverage = Image.new("L", area.extent, 255)
    inside = expansion.original.relative_to(area.offset)
    coverage.paste(0, inside.box)
    overlap, b = expansion.overlap_px, expansion.borders
    if overlap == 0:
        return SelectionMask(coverage, area.offset)
    profile = bytes(_smooth(1 - (d + 0.5) / overlap) for d in range(overlap))
    across_w, across_h = min(overlap, inside.width), min(overlap, inside.height)
    for grown, box, horizontal, reverse in (
        (b.left, (inside.x, inside.y, inside.x + across_w, inside.bottom), True, False),
        (b.right, (inside.right - across_w, inside.y, inside.right, inside.bottom), True, True),
        (b.top, (inside.x, inside.y, inside.right, inside.y + across_h), False, False),
        (b.bottom, (inside.x, inside.bottom - across_h, inside.right, inside.bottom), False, True),
    ):
        if not grown:
            continue
        width, height = box[2] - box[0], box[3] - box[1]
        length = width if horizontal else height
        values = profile[:length][::-1] if reverse else profile[:length]
        line = Image.frombytes("L", (length, 1) if horizontal else (1, length), values)
        strip = line.resize((width, height), Image.Resampling.NEAREST)
        coverage.paste(ImageChops.lighter(coverage.crop(box), strip), box[:2])
    return SelectionMask(coverage, area.offset)


def _smooth(t: float) -> int:
    t = min(max(t, 0.0), 1.0)
    return round(255 * t * t * (3 - 2 * t))


def plan_expand(
    image: Extent,
    borders: Borders,
    *,
    overlap_px: int = DEFAULT_OVERLAP_PX,
    model: str = DEFAULT_MODEL,
    resolution: str | Extent = "auto",
    custom_models: Mapping[str, str] | None = None,
) -> Plan:
    """The expand as one masked-edit plan on the new canvas; InputError when it can't be done.

    The crop holds the whole new area plus a band of the original: the widest band that costs
    no resolution at the chosen size (native scale under ``auto`` when the new area allows it);
    when even the new area alone is beyond the budget, a band of ``MIN_CONTEXT_PX`` and the
    crop is scaled down to a valid size.
    """
    expansion = Expansion(image, borders, overlap_px)
    caps = capabilities(model, custom_models)
    canvas = expansion.canvas
    whole = Bounds.of_extent(canvas)
    choice = parse_resolution(resolution) if isinstance(resolution, str) else resolution
    minimum = overlap_px + MASK_SAFETY_PX + MIN_CONTEXT_PX

    def want(band: int) -> Bounds:
        return expansion.new_area.pad(band).intersect(whole)

    if caps.flexible:
        _check_reachable(expansion, want(overlap_px + MASK_SAFETY_PX).extent, caps)
    band = _widest_band(want, minimum, max(canvas), caps, canvas, choice)
    region = want(band)
    sized = size_crop(region.extent, caps, choice, room=canvas)
    crop = _place(region, sized.crop, canvas)
    blend = BlendOptions(padding_px=0, grow_px=0, feather_px=0, match_colour=True)
    return Plan(
        Mode.EXPAND,
        caps.name,
        canvas,
        crop,
        sized.api_size,
        expansion_mask(expansion),
        blend,
        expansion=expansion,
    )


def _check_reachable(expansion: Expansion, need: Extent, caps: Any) -> None:
    """InputError when no crop within the new canvas holding the new area has a valid shape.

    A crop a few pixels past the canvas (sizes snap to multiples of 16) is harmless; one that
    must be far taller (or wider) than the canvas because of the aspect limit is not.
    """
    canvas, limit = expansion.canvas, caps.max_aspect
    short_h = need.width / limit > canvas.height + caps.size_multiple // 2
    short_w = need.height / limit > canvas.width + caps.size_multiple // 2
    if short_h or short_w:
        raise InputError(
            f"The new canvas {canvas} can't be reached: its new area spans "
            f"{expansion.new_area.width}x{expansion.new_area.height}, beyond the "
            f"{limit:g}:1 shape limit of one {caps.name} request.",
            hint=f"Keep the result within {limit:g}:1, or expand in two steps.",
        )


def _widest_band(
    want: Callable[[int], Bounds],
    low: int,
    high: int,
    caps: Any,
    canvas: Extent,
    resolution: str | Extent,
) -> int:
    """The largest band that costs no resolution: its crop goes at (about) the scale of the
    narrowest band, or at full scale, and stays on the canvas if the narrowest one does."""

    def sized(band: int) -> Any:
        return size_crop(want(band).extent, caps, resolution, room=canvas)

    def fits(crop: Extent) -> bool:
        return crop.width <= canvas.width and crop.height <= canvas.height

    narrow = sized(low)
    floor = min(narrow.scale, 1.0) * (1 - BAND_SCALE_TOLERANCE)
    inside = fits(narrow.crop)

    def good(band: int) -> bool:
        got = sized(band)
        return got.scale >= floor and (fits(got.crop) or not inside)

    if good(high):
        return high
    while high - low > 8:  # good(low) and not good(high)
        middle = (low + high) // 2
        low, high = (middle, high) if good(middle) else (low, middle)
    return low


def expand_canvas(original: Image.Image, expansion: Expansion) -> Image.Image:
    """The new canvas before any fill: transparent, the original at ``offset`` (RGBA)."""
    canvas = Image.new("RGBA", expansion.canvas, (0, 0, 0, 0))
    canvas.paste(original.convert("RGBA"), expansion.offset)
    return canvas


def expanded_reader(
    read_original: Callable[[Bounds], Image.Image], expansion: Expansion
) -> Callable[[Bounds], Image.Image]:
    """``read_crop`` on the new canvas from a reader of the (unchanged) original document.

    Hosts read before anything is resized: only the part of the box on the original is read,
    the new area stays transparent.
    """

    def read(bounds: Bounds) -> Image.Image:
        out = Image.new("RGBA", bounds.extent, (0, 0, 0, 0))
        part = bounds.intersect(expansion.original)
        if not part.is_empty:
            pixels = read_original(part.relative_to(expansion.offset)).convert("RGBA")
            out.paste(pixels, part.relative_to(bounds.offset).offset)
        return out

    return read


def expand_note(plan: Plan) -> str | None:
    """What a person should know about how the fill was made (resampled down), or None."""
    if plan.mode is not Mode.EXPAND or plan.scale >= 1 - 1e-9:
        return None
    why = " (more than one request holds at full size)" if plan.scale < 0.9 else ""
    return (
        f"Filled at {plan.scale:.0%} scale{why}: the {plan.crop.width}x{plan.crop.height} area "
        f"went to the API as {plan.api_size} and its fill was scaled back up."
    )


def request_summary(plan: Plan) -> list[dict[str, Any]]:
    """The requests an expand sends (one), for reports: crop, api_size, scale."""
    return [
        {
            "crop": list(plan.crop),
            "api_size": str(plan.api_size),
            "scale": round(plan.scale, 6),
            "scaled": plan.scale < 1 - 1e-9,
        }
    ]
