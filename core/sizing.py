"""Snap a region to a size the Images API accepts, without distorting it.

A crop of the canvas goes to the API at ``api_size``; the crop is then grown in one dimension so
its aspect equals the API size's aspect to within half a source pixel, and the scale is uniform.
``snap_size`` only chooses the API size. ``crop_for`` grows a region to that aspect.

gpt-image-2 accepts any W×H with: W and H multiples of 16, longest edge ≤ 3840, long edge ≤
3 × short edge, and 655,360 ≤ W×H ≤ 8,294,400. Older models accept three fixed shapes only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

from .errors import InputError
from .geometry import Extent
from .models import ModelCaps

#: Pixel targets of the named resolutions; ``4K`` means the largest valid size.
RESOLUTION_PIXELS: dict[str, int] = {"1K": 1024 * 1024, "2K": 2048 * 2048}
RESOLUTION_NAMES = ("auto", "1K", "2K", "4K")


def parse_resolution(text: str) -> str | Extent:
    """``auto``/``1K``/``2K``/``4K`` (any case) as a name, ``WxH`` as an Extent."""
    clean = text.strip()
    for name in RESOLUTION_NAMES:
        if clean.lower() == name.lower():
            return name
    try:
        return Extent.parse(clean)
    except ValueError:
        raise InputError(
            f"Unknown resolution {text!r}.",
            hint="Use auto, 1K, 2K, 4K or an explicit size such as 1536x1024.",
        ) from None


def size_problem(size: Extent, caps: ModelCaps) -> str | None:
    """The first rule ``size`` breaks for ``caps``, in words, or None when it is valid."""
    w, h = size
    if not caps.flexible:
        if size in caps.fixed_sizes:
            return None
        shapes = ", ".join(str(s) for s in caps.fixed_sizes)
        return f"{caps.name} accepts only {shapes}"
    m = caps.size_multiple
    if w <= 0 or h <= 0:
        return "width and height must be positive"
    if w % m or h % m:
        return f"width and height must both be multiples of {m}"
    if max(w, h) > caps.max_edge:
        return f"the longest edge must be at most {caps.max_edge} px"
    if max(w, h) > caps.max_aspect * min(w, h):
        return f"the long edge must be at most {caps.max_aspect:g} × the short edge"
    if w * h < caps.min_pixels:
        return f"it must have at least {caps.min_pixels:,} pixels"
    if w * h > caps.max_pixels:
        return f"it must have at most {caps.max_pixels:,} pixels"
    return None


def validate_size(size: Extent, caps: ModelCaps) -> None:
    """Raise an InputError naming the broken rule and the nearest valid size."""
    problem = size_problem(size, caps)
    if problem is None:
        return
    nearest = nearest_valid_size(size, caps)
    raise InputError(
        f"Size {size} is not valid for {caps.name}: {problem}.",
        hint=f"The nearest valid size is {nearest}.",
        code="invalid_size",
    )


def nearest_valid_size(size: Extent, caps: ModelCaps) -> Extent:
    """The valid size closest in shape and pixel count to ``size``."""
    region = Extent(max(1, size.width), max(1, size.height))
    if not caps.flexible:
        return _nearest_fixed(region, caps)
    m = caps.size_multiple
    rounded = [
        Extent(w, h)
        for w in {region.width // m * m, _round_up(region.width, m)}
        for h in {region.height // m * m, _round_up(region.height, m)}
        if size_problem(Extent(w, h), caps) is None
    ]
    if rounded:
        return min(
            rounded,
            key=lambda s: (abs(s.width - size.width) + abs(s.height - size.height), -s.pixels),
        )
    target = min(max(region.pixels, caps.min_pixels), caps.max_pixels)
    return _scaled_size(region, caps, target)


class SizedCrop(NamedTuple):
    """The API size and the crop extent (canvas pixels) that maps onto it without distortion."""

    api_size: Extent
    crop: Extent

    @property
    def scale(self) -> float:
        return self.api_size.width / self.crop.width


def size_crop(
    region: Extent, caps: ModelCaps, resolution: str | Extent = "auto", room: Extent | None = None
) -> SizedCrop:
    """Choose the API size for a crop around ``region`` and grow the crop to its aspect.

    ``room`` is how far the crop may grow (the canvas). ``auto`` keeps the native pixel scale
    whenever the region is, or can be grown within ``room`` to, a valid size; otherwise small
    regions are scaled up to the minimum budget and large ones down.
    """
    if region.width <= 0 or region.height <= 0:
        raise InputError(f"Cannot size an empty region ({region}).")
    choice = parse_resolution(resolution) if isinstance(resolution, str) else resolution
    if isinstance(choice, Extent):
        validate_size(choice, caps)
        return SizedCrop(choice, crop_for(region, choice))
    if not caps.flexible:
        size = _nearest_fixed(region, caps)
        crop = crop_for(region, size)
        if choice == "auto" and room is not None:
            crop = _grow_at_aspect(crop, size, room)
        return SizedCrop(size, crop)
    if choice == "auto":
        native = _native_size(region, caps, room)
        if native is not None:
            return SizedCrop(native, native)
        region = _grow_context(region, caps.min_pixels, room, caps.max_aspect)
        target = region.pixels
    elif choice == "4K":
        target = caps.max_pixels
    else:
        target = RESOLUTION_PIXELS[choice]
    target = min(max(target, caps.min_pixels), caps.max_pixels)
    size = _scaled_size(region, caps, target, room)
    return SizedCrop(size, crop_for(region, size))


def snap_size(
    region: Extent, caps: ModelCaps, resolution: str | Extent = "auto", room: Extent | None = None
) -> Extent:
    """The API size for a region of ``region`` pixels: always valid for ``caps``."""
    return size_crop(region, caps, resolution, room).api_size


def parse_aspect(aspect: str) -> float:
    """``W:H`` (or one number, W/H) as width / height; InputError for anything else."""
    a, sep, b = aspect.strip().partition(":")
    try:
        ratio = float(a) / float(b) if sep else float(a)
    except (ValueError, ZeroDivisionError):
        raise InputError(
            f"Unknown aspect {aspect!r}.", hint="Write it as W:H, e.g. 16:9."
        ) from None
    if not 0 < ratio < math.inf:
        raise InputError(f"Unknown aspect {aspect!r}.", hint="Write it as W:H, e.g. 16:9.")
    return ratio


def size_for_aspect(aspect: str, caps: ModelCaps, resolution: str | Extent = "auto") -> Extent:
    """The API size for text-to-image with no canvas: ``W:H`` shape at the chosen resolution."""
    ratio = parse_aspect(aspect)
    if max(ratio, 1 / ratio) > caps.max_aspect * (1 + 1e-9):
        raise InputError(
            f"Aspect {aspect} is more elongated than {caps.name} makes images "
            f"(at most {caps.max_aspect:g}:1).",
            hint="Generate at the widest shape and crop, e.g. --aspect 3:1.",
        )
    # A nominal 1 MP region of that shape: auto then means "about a megapixel".
    height = math.sqrt(RESOLUTION_PIXELS["1K"] / ratio)
    region = Extent(max(1, round(height * ratio)), max(1, round(height)))
    if resolution == "auto":
        resolution = "1K"
    return snap_size(region, caps, resolution)


def crop_for(region: Extent, api_size: Extent) -> Extent:
    """Grow ``region`` in one dimension so its aspect equals ``api_size``'s (±½ px)."""
    if api_size.width * region.height >= region.width * api_size.height:
        width = max(region.width, round(region.height * api_size.width / api_size.height))
        return Extent(width, region.height)
    height = max(region.height, round(region.width * api_size.height / api_size.width))
    return Extent(region.width, height)


# ---------------------------------------------------------------------------------- internals


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _nearest_fixed(region: Extent, caps: ModelCaps) -> Extent:
    aspect = math.log(region.width / region.height)
    return min(caps.fixed_sizes, key=lambda s: abs(math.log(s.width / s.height) - aspect))


def _native_size(region: Extent, caps: ModelCaps, room: Extent | None) -> Extent | None:
    """The smallest valid size ≥ region that fits ``room``: the crop at scale 1, or None."""
    m = caps.size_multiple
    limit_w = min(caps.max_edge, room.width if room else caps.max_edge)
    limit_h = min(caps.max_edge, room.height if room else caps.max_edge)
    best: tuple[float, Extent] | None = None
    aspect = math.log(region.width / region.height)
    base = _round_up(region.width, m) * _round_up(region.height, m)
    for w in range(_round_up(region.width, m), limit_w + 1, m):
        h = max(
            _round_up(region.height, m),
            _round_up(-(-caps.min_pixels // w), m),
            _round_up(math.ceil(w / caps.max_aspect), m),
        )
        if h > limit_h or max(w, h) > caps.max_aspect * min(w, h) or w * h > caps.max_pixels:
            continue
        # Least extra context, spread evenly over both axes (a square stays square).
        score = math.log(w * h / base) + abs(math.log(w / h) - aspect)
        if best is None or score < best[0]:
            best = (score, Extent(w, h))
    return best[1] if best else None


def _grow_at_aspect(crop: Extent, size: Extent, room: Extent) -> Extent:
    """Grow a crop towards scale 1 at the API aspect, within ``room``: context, not upscaling."""
    factor = min(size.width / crop.width, room.width / crop.width, room.height / crop.height)
    if factor <= 1:
        return crop
    grown = crop_for(Extent(int(crop.width * factor), int(crop.height * factor)), size)
    if grown.width > room.width or grown.height > room.height:  # rounding overshoot
        grown = crop_for(Extent(grown.width - 1, grown.height - 1), size)
    return grown if grown.width <= room.width and grown.height <= room.height else crop


def _grow_context(region: Extent, pixels: int, room: Extent | None, max_aspect: float) -> Extent:
    """Grow a small region towards ``pixels`` within ``room``: more context, less upscaling."""
    if room is None or region.pixels >= pixels:
        return region
    factor = math.sqrt(pixels / region.pixels)
    width = min(room.width, max(region.width, math.ceil(region.width * factor)))
    height = min(room.height, max(region.height, math.ceil(region.height * factor)))
    if width * height < pixels:  # one side hit the room: spend the rest on the other
        width = min(room.width, max(width, math.ceil(pixels / height)))
        height = min(room.height, max(height, math.ceil(pixels / width)))
    # Context beyond the API's aspect limit would only be cut away again.
    width = max(region.width, min(width, math.floor(height * max_aspect)))
    height = max(region.height, min(height, math.floor(width * max_aspect)))
    return Extent(width, height)


def _candidates(region: Extent, caps: ModelCaps) -> Iterator[Extent]:
    m = caps.size_multiple
    units = caps.max_edge // m
    ratio = region.width / region.height
    for b in range(1, units + 1):
        low = max(1, math.ceil(b / caps.max_aspect))
        high = min(units, math.floor(b * caps.max_aspect))
        ideal = b * ratio
        for a in {math.floor(ideal), math.ceil(ideal), low, high}:
            a = min(max(a, low), high)
            w, h = a * m, b * m
            if caps.min_pixels <= w * h <= caps.max_pixels:
                yield Extent(w, h)


def _scaled_size(
    region: Extent, caps: ModelCaps, target: int, room: Extent | None = None
) -> Extent:
    """The valid size nearest ``target`` pixels whose aspect needs the least crop growth."""

    def cost(size: Extent) -> float:
        crop = crop_for(region, size)
        growth = crop.pixels / region.pixels - 1.0
        cost = abs(math.log(size.pixels / target)) + 4.0 * growth
        if room is not None:  # a crop past the canvas edge is padded: allow only a sliver
            inside = min(crop.width, room.width) * min(crop.height, room.height)
            cost += 50.0 * (crop.pixels - inside) / region.pixels
        return cost

    return min(_candidates(region, caps), key=cost)
