"""Options and file inputs shared by the commands (image, selection, model, blend)."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import (
    InputError,
)
from ..geometry import Bounds, Extent
from ..models import DEFAULT_MODEL
from ..pipeline import BlendOptions
from ..selection import SelectionMask


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help=f"image model (default {DEFAULT_MODEL})")
    parser.add_argument(
        "--resolution",
        default=None,
        help="auto (native scale), 1K (~1 MP), 2K (~4 MP), 4K (largest valid) or WxH",
    )


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--selection",
        metavar="MASK.png",
        type=Path,
        help="mask the size of the image: grayscale or alpha, white/opaque = selected",
    )
    where.add_argument("--rect", metavar="X,Y,W,H", help="a rectangular selection in pixels")


def add_blend_options(parser: argparse.ArgumentParser) -> None:
    defaults = BlendOptions()
    parser.add_argument(
        "--padding",
        type=int,
        default=None,
        help=f"context around the selection, px ({defaults.padding_px})",
    )
    parser.add_argument(
        "--grow", type=int, default=None, help=f"grow the selection by px ({defaults.grow_px})"
    )
    parser.add_argument(
        "--feather", type=int, default=None, help=f"soft edge width, px ({defaults.feather_px})"
    )


def blend_from_args(args: argparse.Namespace, base: BlendOptions | None = None) -> BlendOptions:
    base = base or BlendOptions()
    return BlendOptions(
        padding_px=base.padding_px if args.padding is None else args.padding,
        grow_px=base.grow_px if args.grow is None else args.grow,
        feather_px=base.feather_px if args.feather is None else args.feather,
    )


def read_image(path: Path) -> Image.Image:
    """An image file as pipeline RGBA, or an InputError that names the file."""
    try:
        with Image.open(path) as image:
            return image.convert("RGBA")
    except FileNotFoundError:
        raise InputError(f"No such image: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"Cannot read {path} as an image: {exc}") from None


def read_selection(args: argparse.Namespace, canvas: Extent) -> SelectionMask | None:
    """The selection from ``--selection`` or ``--rect``, checked against the canvas."""
    if getattr(args, "rect", None):
        return SelectionMask.from_rect(parse_rect(args.rect))
    path = getattr(args, "selection", None)
    if path is None:
        return None
    mask = read_image_raw(path)
    if mask.size != canvas:
        raise InputError(
            f"The selection {path} is {mask.size[0]}x{mask.size[1]}; "
            f"the image is {canvas}. They must match."
        )
    return SelectionMask.from_image(mask)


def read_image_raw(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError:
        raise InputError(f"No such file: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"Cannot read {path} as an image: {exc}") from None


def parse_rect(text: str) -> Bounds:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        raise InputError(f"--rect takes X,Y,W,H in whole pixels, not {text!r}.")
    x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0:
        raise InputError(f"--rect {text}: width and height must be positive.")
    return Bounds(x, y, w, h)
