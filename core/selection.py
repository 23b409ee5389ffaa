"""The selection as the pipeline sees it: 8-bit coverage placed on the canvas.

Hosts hand over only the selection's bounding box, so a small selection on a huge canvas costs
a small buffer; ``origin`` says where that box sits in canvas coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .errors import InputError
from .geometry import Bounds, Extent, Point

CANVAS_ORIGIN = Point(0, 0)


@dataclass(frozen=True)
class SelectionMask:
    """Coverage 0–255 (anti-aliased or feathered) of the box at ``origin``, in canvas pixels."""

    coverage: Image.Image
    origin: Point = CANVAS_ORIGIN

    def __post_init__(self) -> None:
        if self.coverage.mode != "L":
            raise ValueError(f"selection coverage must be mode L, not {self.coverage.mode}")

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.origin.x, self.origin.y, *self.coverage.size)

    @staticmethod
    def from_bytes(data: bytes, bounds: Bounds) -> SelectionMask:
        """One byte per pixel, row-major, as Krita's and GIMP's selection buffers give it."""
        if len(data) != bounds.width * bounds.height:
            raise InputError(
                f"Selection data has {len(data)} bytes; {bounds.width}x{bounds.height} needs "
                f"{bounds.width * bounds.height}."
            )
        image = Image.frombytes("L", (bounds.width, bounds.height), bytes(data))
        return SelectionMask(image, bounds.offset)

    @staticmethod
    def from_rect(rect: Bounds) -> SelectionMask:
        if rect.is_empty:
            raise InputError(f"The rectangle {rect.width}x{rect.height} is empty.")
        return SelectionMask(Image.new("L", (rect.width, rect.height), 255), rect.offset)

    @staticmethod
    def from_image(image: Image.Image) -> SelectionMask:
        """A canvas-sized mask image: alpha if it varies, else brightness; white = selected."""
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
            alpha = image.convert("RGBA").getchannel("A")
            low, high = alpha.getextrema()
            if low != high:
                return SelectionMask(alpha)
        return SelectionMask(image.convert("L"))

    def content_bounds(self) -> Bounds | None:
        """The tight box of non-zero coverage, in canvas coordinates."""
        box = self.coverage.getbbox()
        if box is None:
            return None
        return Bounds.from_box(*box).translate(*self.origin)

    def covers(self, canvas: Extent) -> bool:
        """True when every canvas pixel is fully selected: the same as no mask at all."""
        whole = Bounds.of_extent(canvas)
        if not self.bounds.contains(whole):
            return False
        low, _ = self.region(whole).getextrema()
        return low == 255

    def region(self, area: Bounds) -> Image.Image:
        """Coverage over ``area`` (canvas coordinates); zero where the selection has no data."""
        return self.coverage.crop(area.relative_to(self.origin).box)
