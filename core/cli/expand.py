"""``expand``: grow IMG's canvas and let the model fill the new area (and ``plan``'s targets).

``--by L,T,R,B`` | ``--to W:H [--anchor A]`` | ``--size WxH [--anchor A]`` say how the canvas
grows; ``plan`` takes the same three to write the exact upload files without sending.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import EXIT_OK, InputError
from ..expand import (
    DEFAULT_OVERLAP_PX,
    Borders,
    Expansion,
    borders_for_aspect,
    borders_for_size,
    expand_canvas,
    expand_note,
    parse_anchor,
    parse_borders,
    request_summary,
)
from ..geometry import Extent
from ..imagefile import SourceImage
from ..lazynp import np
from ..options import option
from ..pipeline import Mode, Plan
from ..pricing import precise_money
from ..settings import Settings
from .options import add_model_options, add_option, read_image
from .runtime import add_verbose, say, say_json, with_settings

#: argparse takes "-10,0,0,0" for an option; this lets it reach ``parse_borders``, which
#: explains that borders can't be negative.
_NUMBERS = re.compile(r"^-\d+$|^-\d*\.\d+$|^-?\d+(,\s*-?\d+)+$")


#: The job options ``expand`` takes besides the model, resolution and its own.
EXPAND_FLAGS = ("quality", "n", "references", "output_format", "output_compression", "moderation")


def add_expand_target_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--by`` / ``--to`` (+ ``--anchor``) / ``--size`` and ``--overlap``."""
    parser._negative_number_matcher = _NUMBERS  # type: ignore[attr-defined]
    target = parser.add_mutually_exclusive_group(required=required)
    target.add_argument("--by", metavar="L,T,R,B", help="pixels to add on each side")
    target.add_argument("--to", metavar="W:H", help="target aspect, e.g. 16:9 or 9:16")
    target.add_argument("--size", metavar="WxH", help="target canvas size in pixels")
    for name in ("anchor", "overlap_px"):
        opt = option(name)
        parser.add_argument(
            opt.flag,
            dest=name.removesuffix("_px"),
            type=opt.kind,
            default=None,
            metavar="A" if name == "anchor" else "PX",
            help=opt.describe(),
        )


def is_expand(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) for name in ("by", "to", "size"))


def borders_from_args(args: argparse.Namespace, image: Extent) -> Borders:
    """The borders ``--by``/``--to``/``--size`` ask for; InputError with the reason."""
    if args.anchor is not None and args.by:
        raise InputError("--anchor goes with --to or --size; --by already says each side.")
    if args.by:
        return parse_borders(args.by)
    anchor = parse_anchor(args.anchor)
    if args.to:
        return borders_for_aspect(image, args.to, anchor)
    try:
        size = Extent.parse(args.size)
    except ValueError:
        raise InputError(f"--size takes WxH in pixels, not {args.size!r}.") from None
    if size.width <= 0 or size.height <= 0:
        raise InputError(f"--size {args.size}: width and height must be positive.")
    return borders_for_size(image, size, anchor)


def overlap_from_args(args: argparse.Namespace) -> int:
    return DEFAULT_OVERLAP_PX if args.overlap is None else args.overlap


def expand_report(plan: Plan) -> dict[str, Any]:
    """What every expand report shares: new canvas, original's offset, the requests."""
    expansion = plan.expansion
    assert expansion is not None
    return {
        "canvas": list(expansion.canvas),
        "offset": list(expansion.offset),
        "borders": list(expansion.borders),
        "overlap_px": expansion.overlap_px,
        "requests": request_summary(plan),
        "note": expand_note(plan),
    }


def add_expand_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "expand",
        help="grow the canvas and let the model paint the new area",
        description="Add borders to IMG (--by per side, --to an aspect, --size a canvas) and "
        "fill them with the model; OUT is the new full canvas, the original's pixels unchanged "
        "beyond the feathered overlap. -n N writes OUT-1 ... OUT-N.",
    )
    parser.add_argument("--image", type=Path, required=True, metavar="IMG")
    add_expand_target_options(parser, required=True)
    parser.add_argument("--prompt", default="", help="what the new area shows (optional)")
    add_model_options(parser)
    for name in EXPAND_FLAGS:
        add_option(parser, name)
    # what an expand does not take, for the shared spec builder (no previews: the headless default)
    parser.set_defaults(aspect=None, background=None, partial_images=None)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help="output file (-n N: OUT-1 ... OUT-N); DIR/ for new files in DIR",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds to wait for the API (default: settings timeout_s, 300)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_expand))


def expanded_source(source: SourceImage, expansion: Expansion) -> SourceImage:
    """IMG placed on the new canvas, in every form ``SourceImage`` carries (pipeline sRGB, the
    file's own colour space, 16-bit values), so results are blended as ``edit`` blends them."""
    pixels = expand_canvas(source.pixels, expansion)
    if source.converted:
        file_pixels = Image.new(source.file_pixels.mode, expansion.canvas)
        file_pixels.paste(source.file_pixels, expansion.offset)
    else:
        file_pixels = pixels
    deep = None
    if source.deep is not None:
        x, y = expansion.offset
        h, w = source.deep.shape[:2]
        deep = np.zeros((*reversed(expansion.canvas), source.deep.shape[-1]), np.uint16)
        deep[y : y + h, x : x + w] = source.deep
    return replace(source, pixels=pixels, file_pixels=file_pixels, deep=deep)


def cmd_expand(args: argparse.Namespace, settings: Settings) -> int:
    from ..client import preload_sdk
    from ..history import History
    from ..jobs import prepare_job
    from .jobs import (
        _job_spec,
        check_outputs,
        composite_file,
        job_report,
        run_api_job,
        with_timeout,
    )
    from .outputs import output_paths, save_outputs

    settings = with_timeout(args, settings)
    preload_sdk()
    source = read_image(args.image)
    image = Extent(*source.size)
    borders = borders_from_args(args, image)
    spec = replace(
        _job_spec(args, settings, Mode.EXPAND.value, source=Path(args.image).name),
        borders=borders,
        overlap_px=overlap_from_args(args),
    )
    pixels = source.pixels
    prepared = prepare_job(spec, image, None, lambda box: pixels.crop(box.box), settings)
    expansion = prepared.plan.expansion
    assert expansion is not None
    canvas = expanded_source(source, expansion)
    stem = f"{Path(args.image).stem}-expanded"
    outputs = output_paths(args.output, prepared.spec.n, stem=stem)
    check_outputs(outputs, prepared, settings, canvas)
    result = run_api_job(settings, prepared)
    history = History.from_settings(settings)
    written = []
    for index, (path, patch) in enumerate(zip(outputs, result.patches, strict=False)):
        data = composite_file(canvas, patch, path)
        save_outputs([(path, data)], result, history, first_index=index)
        written.append(path)
    report = {**job_report(result, prepared, written), **expand_report(prepared.plan)}
    if args.json:
        say_json(args, report)
        return EXIT_OK
    for path in report["outputs"]:
        say(args, f"saved {path}")
    cost = report["cost_usd"]
    cost_text = precise_money(cost, "unknown (no usage reported)")
    say(
        args,
        f"expanded {image} → {prepared.plan.canvas} (original at {tuple(report['offset'])}); "
        f"cost {cost_text}, estimate {precise_money(report['estimate_usd'])}",
    )
    if report["note"]:
        say(args, f"note: {report['note']}")
    say(args, f"history {report['history_id']}  request {report['request_id']}")
    return EXIT_OK


def plan_expand_from_args(
    args: argparse.Namespace, original: Any, *, model: str, resolution: str
) -> Plan:
    """``plan --by/--to/--size``: the expand plan for IMG, as ``expand`` would make it."""
    from ..expand import plan_expand

    image = Extent(*original.size)
    return plan_expand(
        image,
        borders_from_args(args, image),
        overlap_px=overlap_from_args(args),
        model=model,
        resolution=resolution,
    )
