"""``plan``: the dry run that writes the exact files an edit would upload."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import (
    EXIT_OK,
    InputError,
)
from ..geometry import Extent
from ..models import DEFAULT_MODEL
from ..pipeline import Mode, build_upload, plan_job
from .console import print_json, write_out
from .options import (
    add_blend_options,
    add_model_options,
    add_selection_options,
    blend_from_args,
    read_image,
    read_selection,
)


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
    source = read_image(args.image)
    canvas = Extent(*source.size)
    selection = read_selection(args, canvas)
    plan = plan_job(
        Mode.EDIT_SELECTION if selection is not None else Mode.EDIT_IMAGE,
        canvas,
        selection,
        model=args.model or DEFAULT_MODEL,
        resolution=args.resolution or "auto",
        blend=blend_from_args(args),
    )
    upload = build_upload(plan, source.pixels.crop(plan.source_bounds.box))
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
