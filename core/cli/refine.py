"""``refine``: a new edit of a past result with a follow-up instruction (same crop and mask)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import EXIT_OK, InputError
from ..imagefile import SourceImage
from ..settings import Settings
from .jobs import (
    FAST_PNG_LEVEL,
    EditOutputs,
    check_outputs,
    job_report,
    output_paths,
    print_job,
    run_api_job,
)
from .options import add_option, read_image
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


def original_canvas(record: Any, image_path: Path | None) -> SourceImage:
    """The image a job was made on, read as ``edit`` reads it (orientation, depth, colour
    profile: ``core.imagefile``): ``--image``, else the file the CLI recorded, else, for
    text-to-image made without one, a transparent canvas."""
    from ..jobs import stored_job
    from ..pipeline import Mode

    _, plan, _ = stored_job(record)
    source = record.data.get("source_path")
    if image_path is None and isinstance(source, str) and source and Path(source).is_file():
        image_path = Path(source)
    if image_path is None:
        if plan.mode is Mode.GENERATE or record.data.get("blank_canvas"):
            blank = Image.new("RGBA", plan.canvas, (0, 0, 0, 0))
            return SourceImage(pixels=blank, file_pixels=blank, has_alpha=True)
        raise InputError(
            f"History entry {record.id} was made on an image this command can't find.",
            hint="Give it with --image IMG (the image the job edited, same size).",
        )
    read = read_image(image_path)
    if read.size != plan.canvas:
        raise InputError(
            f"{image_path} is {read.size[0]}x{read.size[1]}; history entry {record.id} was "
            f"made on a {plan.canvas} canvas."
        )
    return read


def cmd_refine(args: argparse.Namespace, settings: Settings) -> int:
    """Refine in the same steps as ``edit``: IMG read once, the model shown sRGB, each result
    blended back in IMG's own colour space and depth (a 16-bit or Adobe RGB file keeps its
    values outside the selection)."""
    from ..history import History
    from ..refine import prepare_refine, seen_canvas

    history = History.from_settings(settings)
    record = history.get_readable(args.id)
    variant = args.variant - 1
    if not 0 <= variant < len(record.images):
        raise InputError(
            f"History entry {record.id} has {len(record.images)} result(s); "
            f"--variant {args.variant} is not one of them."
        )
    source = original_canvas(record, args.image)
    seen = seen_canvas(record, source.pixels, variant)
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
    seen = None
    outputs = output_paths(args.output, prepared.spec.n)
    check_outputs(outputs, prepared, settings, source)
    files = EditOutputs(source, outputs, prepared.plan, FAST_PNG_LEVEL)
    try:
        result = run_api_job(settings, prepared, on_sent=files.start)
        written = files.write(result, history)
    finally:
        files.close()
    report = job_report(result, prepared, written)
    report.update(parent_id=record.id, parent_variant=args.variant, prompt=prepared.spec.prompt)
    print_job(args, report)
    return EXIT_OK
