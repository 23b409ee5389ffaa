"""Canvas geometry: immutable points, extents and boxes in integer pixel units.

Every box names its coordinate space in the variable that holds it (``canvas_bounds``,
``crop``); the types themselves are plain numbers so they unpack straight into host calls
(``node.pixelData(*crop)``).
"""

from __future__ import annotations

from typing import NamedTuple


class Point(NamedTuple):
    x: int
    y: int


class Extent(NamedTuple):
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def aspect(self) -> float:
        return self.width / self.height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @staticmethod
    def parse(text: str) -> Extent:
        """Read ``"WxH"``; raises ``ValueError`` on anything else."""
        w, sep, h = text.strip().lower().partition("x")
        if not sep or not w.isdigit() or not h.isdigit():
            raise ValueError(f"expected WIDTHxHEIGHT, got {text!r}")
        return Extent(int(w), int(h))


class Bounds(NamedTuple):
    x: int
    y: int
    width: int
    height: int

    @property
    def extent(self) -> Extent:
        return Extent(self.width, self.height)

    @property
    def offset(self) -> Point:
        return Point(self.x, self.y)

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Pillow's (left, upper, right, lower)."""
        return (self.x, self.y, self.right, self.bottom)

    @property
    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    @staticmethod
    def from_box(left: int, top: int, right: int, bottom: int) -> Bounds:
        return Bounds(left, top, right - left, bottom - top)

    @staticmethod
    def of_extent(extent: Extent) -> Bounds:
        return Bounds(0, 0, extent.width, extent.height)

    def translate(self, dx: int, dy: int) -> Bounds:
        return Bounds(self.x + dx, self.y + dy, self.width, self.height)

    def relative_to(self, origin: Point) -> Bounds:
        """The same box in the coordinate space whose origin is ``origin``."""
        return Bounds(self.x - origin.x, self.y - origin.y, self.width, self.height)

    def pad(self, amount: int) -> Bounds:
        return Bounds(
            self.x - amount, self.y - amount, self.width + 2 * amount, self.height + 2 * amount
        )

    def intersect(self, other: Bounds) -> Bounds:
        left, top = max(self.x, other.x), max(self.y, other.y)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        return Bounds(left, top, max(0, right - left), max(0, bottom - top))

    def union(self, other: Bounds) -> Bounds:
        """The smallest box holding both."""
        left, top = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Bounds(left, top, right - left, bottom - top)

    def contains(self, other: Bounds) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and self.right >= other.right
            and self.bottom >= other.bottom
        )

    def clamp_into(self, area: Bounds) -> Bounds:
        """Slide (never shrink, unless larger than ``area``) this box to lie inside ``area``."""
        width, height = min(self.width, area.width), min(self.height, area.height)
        x = min(max(self.x, area.x), area.right - width)
        y = min(max(self.y, area.y), area.bottom - height)
        return Bounds(x, y, width, height)
