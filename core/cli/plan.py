"""``plan``: the dry run that writes the exact files an edit (or expand) would upload."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import (
    EXIT_OK,
    InputError,
)
from ..expand import expanded_reader
from ..geometry import Extent
from ..options import default
from ..pipeline import build_upload, plan_job
from .console import print_json, write_out
from .expand import add_expand_target_options, expand_report, is_expand, plan_expand_from_args
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
    add_expand_target_options(parser, required=False)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from ..jobs import EDIT, choose_mode

    source = read_image(args.image)
    canvas_pixels = source.pixels
    canvas = Extent(*source.size)
    model = args.model or default("model")
    resolution = args.resolution or default("resolution")
    if is_expand(args):
        if args.selection or args.rect:
            raise InputError("--by/--to/--size expand the canvas; they take no selection.")
        plan = plan_expand_from_args(args, canvas_pixels, model=model, resolution=resolution)
        assert plan.expansion is not None
        read = expanded_reader(lambda box: canvas_pixels.crop(box.box), plan.expansion)
        extra = expand_report(plan)
    else:
        if args.anchor is not None or args.overlap is not None:
            raise InputError("--anchor and --overlap go with --by, --to or --size.")
        mode, selection = choose_mode(EDIT, read_selection(args, canvas), canvas)
        plan = plan_job(
            mode,
            canvas,
            selection,
            model=model,
            resolution=resolution,
            blend=blend_from_args(args),
        )
        read, extra = (lambda box: canvas_pixels.crop(box.box)), {}
    upload = build_upload(plan, read(plan.source_bounds))
    files = _write_upload(args.out, upload.image_png, upload.mask_png)
    report = {
        **plan.to_dict(),
        **extra,
        "crop": list(plan.crop),
        "source_bounds": list(plan.source_bounds),
        "files": {name: str(path) for name, path in files.items()},
        "upload_bytes": sum(path.stat().st_size for path in files.values()),
    }
    if args.json:
        print_json(report)
    else:
        x, y, w, h = plan.crop
        if extra:
            write_out(f"expand to {plan.canvas}, original at {tuple(extra['offset'])}\n")
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
