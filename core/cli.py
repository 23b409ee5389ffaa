"""``python -m core``: the plug-ins' jobs on files.

The library never prints; this module owns stdout/stderr and exit codes. Every failure is a
``GptImageError`` turned into one line on stderr and its ``exit_code``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_OK, GptImageError, InputError
from .geometry import Bounds, Extent
from .models import DEFAULT_MODEL
from .pipeline import BlendOptions, Mode, build_upload, plan_job
from .selection import SelectionMask

Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------ shared options and inputs


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


def print_json(payload: dict[str, Any]) -> None:
    write_out(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def write_out(text: str) -> None:
    """Write to stdout without crashing on consoles that can't encode the text."""
    stream = sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def write_err(text: str) -> None:
    stream = sys.stderr
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


# ----------------------------------------------------------------------------------- plan


def add_plan_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "plan",
        help="dry run: write the exact files an edit would upload, print crop and size",
        description="Write into DIR the files an edit would upload (image.png, and mask.png for "
        "a masked edit) and print where the crop lies and at what size it goes to the API. "
        "Nothing is sent anywhere.",
    )
    parser.add_argument("--image", type=Path, required=True, help="the canvas image")
    add_selection_options(parser)
    add_model_options(parser)
    add_blend_options(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    canvas_pixels = read_image(args.image)
    canvas = Extent(*canvas_pixels.size)
    selection = read_selection(args, canvas)
    plan = plan_job(
        Mode.EDIT_SELECTION if selection is not None else Mode.EDIT_IMAGE,
        canvas,
        selection,
        model=args.model or DEFAULT_MODEL,
        resolution=args.resolution or "auto",
        blend=blend_from_args(args),
    )
    upload = build_upload(plan, canvas_pixels.crop(plan.source_bounds.box))
    files = _write_upload(args.out, upload.image_png, upload.mask_png)
    report = {
        **plan.to_dict(),
        "crop": list(plan.crop),
        "source_bounds": list(plan.source_bounds),
        "files": {name: str(path) for name, path in files.items()},
        "upload_bytes": sum(path.stat().st_size for path in files.values()),
    }
    if args.json:
        print_json(report)
    else:
        x, y, w, h = plan.crop
        write_out(
            f"{plan.mode.value}: crop {w}x{h} at ({x}, {y}) → {plan.api_size} "
            f"(scale {plan.scale:.4f}) for {plan.model}\n"
        )
        for path in files.values():
            write_out(f"  {path}\n")
    return EXIT_OK


def _write_upload(folder: Path, image_png: bytes | None, mask_png: bytes | None) -> dict[str, Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, data in (("image", image_png), ("mask", mask_png)):
            path = folder / f"{name}.png"
            if data is None:
                path.unlink(missing_ok=True)  # a stale mask would misdescribe this plan
                continue
            path.write_bytes(data)
            written[name] = path
        return written
    except OSError as exc:
        raise InputError(f"Cannot write to {folder}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------------------- the program

#: Each registers one subcommand; the job commands live beside ``plan``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_plan_command]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="OpenAI gpt-image edits, generation and dry runs on image files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except GptImageError as error:
        write_err(f"error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        write_err("cancelled\n")
        return EXIT_CANCELLED


__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "build_parser", "main"]
