"""Options and file inputs shared by the commands (image, selection, model, blend)."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from ..errors import InputError
from ..geometry import Bounds, Extent
from ..imagefile import SourceImage, open_image, open_mask
from ..models import DEFAULT_MODEL
from ..pipeline import BlendOptions
from ..selection import SelectionMask
from .console import write_err


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


def read_image(path: Path) -> SourceImage:
    """An image file as the person sees it (``core.imagefile``); what was adjusted on the way
    (first frame of an animation, colour profile) is said on stderr."""
    source = open_image(Path(path), str(path))
    for note in source.warnings:
        write_err(f"warning: {note}\n")
    return source


def read_image_raw(path: Path) -> Image.Image:
    """IMG's pixels in its own colour space, as displayed: RGBA when it has alpha, else RGB."""
    source = read_image(path)
    pixels = source.file_pixels
    return (
        pixels if pixels.mode == ("RGBA" if source.has_alpha else "RGB") else pixels.convert("RGB")
    )


def read_selection(args: argparse.Namespace, canvas: Extent) -> SelectionMask | None:
    """The selection from ``--selection`` or ``--rect``, checked against the canvas."""
    if getattr(args, "rect", None):
        return SelectionMask.from_rect(parse_rect(args.rect, canvas))
    path = getattr(args, "selection", None)
    if path is None:
        return None
    mask, read = open_mask(Path(path), str(path))
    for note in read.warnings:
        write_err(f"warning: {note}\n")
    if mask.size != canvas:
        raise InputError(
            f"The selection {path} is {mask.size[0]}x{mask.size[1]}; "
            f"the image is {canvas}. They must match."
        )
    return SelectionMask(mask)


#: Digits a --rect number may have: more can't be a pixel position on any accepted canvas.
_RECT_DIGITS = 6


def parse_rect(text: str, canvas: Extent | None = None) -> Bounds:
    """``X,Y,W,H`` in whole pixels, lying on ``canvas`` when given."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() and p.isascii() for p in parts):
        raise InputError(f"--rect takes X,Y,W,H in whole pixels, not {text!r}.")
    if any(len(p.lstrip("-")) > _RECT_DIGITS for p in parts):
        raise InputError(f"--rect {text}: numbers that large can't be pixels of an image.")
    x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0:
        raise InputError(f"--rect {text}: width and height must be positive.")
    if canvas is None:
        return Bounds(x, y, w, h)
    if x >= canvas.width or y >= canvas.height or x + w <= 0 or y + h <= 0:
        raise InputError(
            f"The selection is empty: --rect {text} lies outside the "
            f"{canvas.width}x{canvas.height} image."
        )
    if x < 0 or y < 0 or x + w > canvas.width or y + h > canvas.height:
        raise InputError(
            f"--rect {text} reaches past the {canvas.width}x{canvas.height} image.",
            hint=f"X+W must be at most {canvas.width} and Y+H at most {canvas.height}.",
        )
    return Bounds(x, y, w, h)
