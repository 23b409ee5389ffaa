"""Options and file inputs shared by the commands (image, selection, model, blend)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..geometry import Bounds, Extent
from ..imagefile import SourceImage, open_image, open_mask
from ..options import RESOLUTIONS, option
from ..pipeline import BlendOptions
from ..selection import SelectionMask
from .console import write_err


def add_option(parser: argparse.ArgumentParser, name: str, **extra: Any) -> None:
    """A flag for the job option ``name``, spelled, typed, limited and explained by
    ``core.options``. Its default is None: settings (or the option's default) fill it in."""
    opt = option(name)
    flag = opt.flag
    assert flag is not None, name
    help_text = opt.describe(headless=True)
    kwargs: dict[str, Any] = {"default": None, "help": help_text, "dest": opt.name}
    if opt.kind is int:
        kwargs["type"] = int
        span = opt.allowed()
        if isinstance(span, range) and len(span):
            kwargs["metavar"] = f"{span.start}-{span[-1]}"
    elif opt.choices:
        kwargs["choices"] = opt.choices
    if opt.kind is list:
        kwargs.update(action="append", default=[], type=Path, metavar="FILE")
        kwargs["help"] = f"{opt.help} Repeat for more (up to {opt.maximum})."
    kwargs.update(extra)
    kwargs["help"] = kwargs["help"].replace("%", "%%")  # argparse formats help with %
    parser.add_argument(flag, **kwargs)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "model", metavar="MODEL")
    add_option(parser, "resolution", metavar="|".join(RESOLUTIONS) + "|WxH")


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--selection",
        metavar="MASK.png",
        type=Path,
        help="mask the size of the image: grayscale or alpha, white/opaque = selected",
    )
    where.add_argument("--rect", metavar="X,Y,W,H", help="a rectangular selection in pixels")


BLEND_OPTIONS = ("padding_px", "grow_px", "feather_px")


def add_blend_options(parser: argparse.ArgumentParser) -> None:
    for name in BLEND_OPTIONS:
        add_option(parser, name)


def blend_from_args(args: argparse.Namespace, base: BlendOptions | None = None) -> BlendOptions:
    base = base or BlendOptions()
    given = {name: getattr(args, name) for name in BLEND_OPTIONS if getattr(args, name) is not None}
    return replace(base, **given)


def read_image(path: Path) -> SourceImage:
    """An image file as the person sees it (``core.imagefile``; read already when ``python -m
    core`` started reading it early, ``core.startup``); what was adjusted on the way (first
    frame of an animation, colour profile) is said on stderr."""
    from ..startup import early_image

    source = early_image(path) or open_image(Path(path), str(path))
    for note in source.warnings:
        write_err(f"warning: {note}\n")
    return source


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
    if x < 0 or y < 0:
        raise InputError(
            f"--rect {text} starts left of or above the {canvas.width}x{canvas.height} image.",
            hint="X and Y are the top-left corner, 0 or more.",
        )
    if x + w > canvas.width or y + h > canvas.height:
        raise InputError(
            f"--rect {text} reaches past the {canvas.width}x{canvas.height} image.",
            hint=f"X+W must be at most {canvas.width} and Y+H at most {canvas.height}.",
        )
    return Bounds(x, y, w, h)
