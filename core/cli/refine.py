"""``refine``: a new edit of a past result with a follow-up instruction (same crop and mask)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import EXIT_OK, InputError
from ..settings import Settings
from .jobs import encode, flatten, job_report, output_paths, print_job, run_api_job, save_outputs
from .options import add_option, read_image_raw
from .runtime import add_verbose, with_settings


def add_refine_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "refine",
        help="refine a past result with a follow-up instruction",
        description="Edit result --variant K of history entry ID again, through the same crop "
        "and mask, starting from that result composited over the original image, with the "
        "original instruction plus the follow-up --prompt. Writes the full-size composite (the "
        "original image with the refined patch); -n N writes OUT-1 ... OUT-N. The new history "
        "entry records parent_id.",
    )
    parser.add_argument("id", metavar="HISTORY_ID")
    parser.add_argument("--prompt", required=True, help="the follow-up instruction")
    parser.add_argument("-o", "--output", required=True, metavar="OUT")  # str keeps DIR/
    add_option(parser, "n", help="variants (default: as ID)")
    parser.add_argument(
        "--variant", type=int, default=1, metavar="K", help="which result of ID to refine (1)"
    )
    parser.add_argument(
        "--image",
        type=Path,
        metavar="IMG",
        help="the image ID was made on (default: the file the edit read, when it still exists)",
    )
    add_option(parser, "quality", help="quality (default: as ID)")
    add_option(parser, "partial_images")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_refine))


def original_canvas(record: Any, image_path: Path | None) -> tuple[Image.Image, bool]:
    """The image a job was made on (RGBA) and whether it had alpha of its own: ``--image``, else
    the file the CLI recorded, else, for text-to-image made without one, a transparent canvas."""
    from ..jobs import stored_job
    from ..pipeline import Mode

    _, plan, _ = stored_job(record)
    source = record.data.get("source_path")
    if image_path is None and source and Path(source).is_file():
        image_path = Path(source)
    if image_path is None:
        if plan.mode is Mode.GENERATE or record.data.get("blank_canvas"):
            return Image.new("RGBA", plan.canvas, (0, 0, 0, 0)), False
        raise InputError(
            f"History entry {record.id} was made on an image this command can't find.",
            hint="Give it with --image IMG (the image the job edited, same size).",
        )
    raw = read_image_raw(image_path)
    had_alpha = raw.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in raw.info
    pixels = raw.convert("RGBA")
    if pixels.size != plan.canvas:
        raise InputError(
            f"{image_path} is {pixels.size[0]}x{pixels.size[1]}; history entry {record.id} was "
            f"made on a {plan.canvas} canvas."
        )
    return pixels, had_alpha


def cmd_refine(args: argparse.Namespace, settings: Settings) -> int:
    from ..history import History
    from ..pipeline import composite
    from ..refine import prepare_refine, seen_canvas

    record = History.from_settings(settings).get(args.id)
    variant = args.variant - 1
    if not 0 <= variant < len(record.images):
        raise InputError(
            f"History entry {record.id} has {len(record.images)} result(s); "
            f"--variant {args.variant} is not one of them."
        )
    canvas, had_alpha = original_canvas(record, args.image)
    seen = seen_canvas(record, canvas, variant)
    prepared = prepare_refine(
        record,
        lambda bounds: seen.crop(bounds.box),
        args.prompt,
        settings,
        variant=variant,
        n=args.n,
        quality=args.quality,
        partial_images=args.partial_images,
    )
    outputs = output_paths(args.output, prepared.spec.n)
    result = run_api_job(settings, prepared)
    files = []
    for path, patch in zip(outputs, result.patches, strict=False):
        full = composite(canvas, patch)
        keep_alpha = had_alpha or full.getchannel("A").getextrema()[0] < 255
        files.append((path, encode(flatten(full, keep_alpha), path)))
    save_outputs(files, result.history_id)
    report = job_report(result, prepared, [p for p, _ in files])
    report.update(parent_id=record.id, parent_variant=args.variant, prompt=prepared.spec.prompt)
    print_job(args, report)
    return EXIT_OK
