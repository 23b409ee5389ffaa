"""``generate``, ``edit``, ``estimate``, ``check`` and ``improve``."""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import logging.handlers
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from .. import png_bands
from ..errors import (
    EXIT_OK,
    InputError,
)
from ..geometry import Bounds, Extent
from ..history import History, image_extension
from ..imagefile import SourceImage, compose, encode_output, for_jpeg
from ..options import option
from ..pipeline import Mode
from ..pixels import is_opaque
from ..png_bands import BandedPng
from ..pricing import precise_money
from ..selection import SelectionMask
from ..settings import Settings, check_setting
from .compare import add_compare_option, cmd_compare
from .console import write_err
from .options import (
    add_blend_options,
    add_model_options,
    add_option,
    add_selection_options,
    blend_from_args,
    read_image,
    read_selection,
)
from .outputs import PIL_FORMATS, expected_bytes, output_paths, preflight, save_outputs
from .runtime import add_verbose, run_cancellable, say, say_json, with_settings

log = logging.getLogger("core.cli")


#: zlib level of PNG files written here unless --compression asks for more: level 6 (Pillow's
#: default) takes ~4x as long for a few % fewer bytes on photos.
FAST_PNG_LEVEL = 1


#: The job options every job command takes, in --help order (spelled by ``core.options``).
JOB_FLAGS = (
    "quality",
    "aspect",
    "n",
    "references",
    "output_format",
    "output_compression",
    "background",
    "moderation",
    "partial_images",
)


#: What this command adds to an option's own help (the output files it writes).
_FLAG_EXTRAS: dict[str, dict[str, Any]] = {
    "aspect": {"metavar": "W:H"},
    "output_compression": {
        "help": "the API's jpeg/webp compression; for a .png file written here also the zlib "
        f"effort (100 = smallest, slowest; default zlib level {FAST_PNG_LEVEL}, fast)"
    },
}


def _add_job_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    parser.add_argument("--prompt", required=True, help="what to make or change (any language)")
    add_model_options(parser)
    for name in JOB_FLAGS:
        add_option(parser, name, **_FLAG_EXTRAS.get(name, {}))
    if output:
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="OUT",  # a str: Path() would drop the trailing "/" of DIR/
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


def add_generate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate",
        help="text to image (with --reference: guided by reference images)",
        description="Make an image from a prompt and save it at the snapped API size "
        "(-n N: OUT-1 ... OUT-N). --aspect W:H picks the shape, --resolution the size.",
    )
    _add_job_options(parser)
    add_compare_option(parser)
    parser.set_defaults(handler=with_settings(cmd_generate))


def add_edit_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "edit",
        help="edit an image, or only a selection of it",
        description="Edit IMG where the selection says (or all of it) and save the full-size "
        "composite: outside the selection OUT is identical to IMG. -n N writes OUT-1 ... OUT-N.",
    )
    parser.add_argument("--image", type=Path, required=True, metavar="IMG")
    add_selection_options(parser)
    add_blend_options(parser)
    _add_job_options(parser)
    add_compare_option(parser)
    parser.set_defaults(handler=with_settings(cmd_edit))


def add_estimate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "estimate",
        help="what a job would cost, without calling anything",
        description="Price a generate job (or, with --image, an edit). No key, no network.",
    )
    parser.add_argument("--image", type=Path, metavar="IMG", help="estimate an edit of IMG")
    add_selection_options(parser)
    add_blend_options(parser)
    _add_job_options(parser, output=False)
    parser.set_defaults(handler=with_settings(cmd_estimate, lenient=True))


def add_check_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check", help="verify the API key and endpoint")
    parser.add_argument("--json", action="store_true")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_check))


def add_improve_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "improve",
        help="rewrite a rough prompt with a text model (prints it; generates nothing)",
    )
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--edit", action="store_true", help="the prompt is for an edit")
    parser.add_argument("--model", help="text model (default: settings.improve_prompt_model)")
    parser.add_argument("--json", action="store_true")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_improve))


def _read_bytes(path: Path, what: str) -> bytes:
    from ..imagefile import refuse_special_file

    if Path(path).exists():  # a missing file gets the plain "Cannot read" below
        refuse_special_file(Path(path), f"The {what} {path}")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {what} {path}: {exc.strerror or exc}") from None


def _job_spec(args: argparse.Namespace, settings: Settings, mode: str, source: str = "") -> Any:
    from ..jobs import JobSpec, reference_from_bytes
    from ..sizing import parse_resolution

    limit = option("references").maximum
    if len(args.references) > limit:
        raise InputError(f"{len(args.references)} references; at most {limit}.")
    references = tuple(
        reference_from_bytes(path.name, _read_bytes(path, "reference")) for path in args.references
    )
    if args.resolution:
        parse_resolution(args.resolution)  # InputError naming the value
    base_blend = settings.blend()
    blend = blend_from_args(args, base_blend) if hasattr(args, "padding_px") else base_blend
    return JobSpec.from_settings(
        settings,
        mode,
        args.prompt,
        model=args.model,
        quality=args.quality,
        resolution=args.resolution,
        n=args.n,
        partial_images=_headless("partial_images", args.partial_images),
        output_format=args.output_format,
        output_compression=args.output_compression,
        background=args.background,
        moderation=args.moderation,
        references=references,
        blend=blend,
        source_document=source,
        aspect=args.aspect,
    )


def _headless(name: str, value: Any) -> Any:
    """A flag's value, or the option's default for callers that show no previews."""
    return option(name).headless_default if value is None else value


def _edit_source(args: argparse.Namespace) -> tuple[SourceImage, SelectionMask | None, str]:
    """IMG as the person sees it (``core.imagefile``: oriented, full depth, sRGB for the model),
    decoded once; the selection and the mode."""
    from ..jobs import EDIT, choose_mode

    source = read_image(args.image)
    selection = read_selection(args, Extent(*source.size))
    mode, selection = choose_mode(EDIT, selection, Extent(*source.size))
    return source, selection, mode.value


def _edit_canvas(args: argparse.Namespace) -> tuple[Image.Image, SelectionMask | None, str, bool]:
    """IMG's pipeline pixels (RGB, or RGBA when it has alpha), the selection, the mode, and
    whether IMG had alpha of its own."""
    source, selection, mode = _edit_source(args)
    return source.pixels, selection, mode, source.has_alpha


def canvas_mode(raw: Image.Image, had_alpha: bool) -> Image.Image:
    """IMG as the output keeps it: RGBA when it has alpha of its own, else RGB (which Pillow
    stores as four bytes a pixel too, so an RGB or RGBA file is used as decoded, not copied)."""
    if raw.mode == ("RGBA" if had_alpha else "RGB"):
        return raw
    rgba = raw.convert("RGBA")
    return rgba if had_alpha else rgba.convert("RGB")


def crop_reader(canvas: Image.Image) -> Any:
    """``read_crop`` for ``prepare_job``: the crop's pixels (the canvas itself when the crop is
    all of it: no copy of a whole large image)."""
    whole = Bounds.of_extent(Extent(*canvas.size))
    return lambda bounds: canvas if bounds == whole else canvas.crop(bounds.box)


def png_level(compression: int | None) -> int:
    """zlib level for a PNG written here: ``--compression`` 0-100 mapped onto 0-9, else fast."""
    if compression is None:
        return FAST_PNG_LEVEL
    if isinstance(compression, bool) or not 0 <= compression <= 100:
        raise InputError(f"--compression must be 0-100, not {compression!r}.")
    return round(compression * 9 / 100)


def writer(
    image: Image.Image, path: Path, level: int = FAST_PNG_LEVEL, icc: bytes | None = None
) -> Callable[[Any], None]:
    """A function that encodes ``image`` for ``path``'s file type straight into a file (a large
    image is never held encoded in memory), with IMG's colour profile when it had one."""
    fmt = PIL_FORMATS[path.suffix.lower()]
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if fmt == "PNG":
        options["compress_level"] = level
    elif fmt == "WEBP":
        options["lossless"] = True
    if fmt == "JPEG":
        image = for_jpeg(image)
    return lambda handle: image.save(handle, fmt, **options)


def whole_picture_writer(
    image: Image.Image, mode: str, path: Path, level: int, icc: bytes | None
) -> Callable[[Any], None]:
    """The writer of a result that is the whole output, in IMG's mode: a PNG is converted and
    compressed band by band on all cores (no full-size copy), other types through Pillow."""
    if PIL_FORMATS[path.suffix.lower()] == "PNG" and png_bands.supports(image):
        with BandedPng(image, (0, image.height), mode=mode, level=level, icc_profile=icc) as png:
            return png.writer()
    return writer(image if image.mode == mode else image.convert(mode), path, level, icc)


def encode(image: Image.Image, path: Path, level: int = FAST_PNG_LEVEL) -> bytes:
    buffer = io.BytesIO()
    writer(image, path, level)(buffer)
    return buffer.getvalue()


def result_files(outputs: list[Path], result: Any) -> list[tuple[Path, bytes]]:
    """The API's own bytes where the file type matches OUT's, else re-encoded."""
    files = []
    # the API may send fewer images than asked for: write what came
    for path, data, image in zip(outputs, result.encoded, result.images, strict=False):
        same_type = PIL_FORMATS[path.suffix.lower()] == image_extension(data).upper()
        files.append((path, data if same_type else encode(image, path)))
    return files


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file (None when unreadable): tells ``history export`` if it changed."""
    try:
        with Path(path).open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def sha256_beside(path: Path) -> Callable[[], str | None]:
    """``file_sha256`` of a regular file on a background thread (hashing releases the GIL, so it
    runs beside the decode); the function returned waits for it. Anything else (a device, a
    pipe) is only hashed when asked, after the image was read: it is never read twice or
    forever, and a refused one never at all."""
    if not Path(path).is_file():
        return lambda: file_sha256(path)
    box: dict[str, str | None] = {}
    thread = threading.Thread(
        target=lambda: box.update(digest=file_sha256(path)), name="gpt-image-hash", daemon=True
    )
    thread.start()

    def result() -> str | None:
        thread.join()
        return box.get("digest")

    return result


def composite_file(source: SourceImage, patch: Any, path: Path) -> bytes:
    """One result as a full-size file, blended in IMG's own colour space and depth (a 16-bit
    PNG stays 16-bit, outside the selection value for value)."""
    picture = compose(source, patch.image, patch.mask, patch.bounds.offset)
    return encode_output(picture, PIL_FORMATS[path.suffix.lower()], source, source.has_alpha)


def check_outputs(
    outputs: list[Path], prepared: Any, settings: Settings, canvas: SourceImage | None = None
) -> None:
    """Refuse, before anything is sent, outputs that can't be written or have no room, or
    that can't hold the transparency asked for (say when one will lose IMG's)."""
    jpegs = [path for path in outputs if PIL_FORMATS[path.suffix.lower()] == "JPEG"]
    if jpegs and prepared.spec.background == "transparent":
        raise InputError(
            f"{jpegs[0]} would be a JPEG, which has no transparency, but a transparent "
            "background was asked for.",
            hint="Write a .png or .webp file.",
        )
    if jpegs and canvas is not None and _is_see_through(canvas):
        write_err(
            f"warning: {jpegs[0]} is a JPEG, which has no transparency: the image's "
            "transparent parts are flattened onto white.\n"
        )
    api = prepared.plan.api_size
    if canvas is not None:
        (width, height), depth = canvas.size, 2 if canvas.deep is not None else 1
    else:
        (width, height), depth = api, 1
    preflight(
        outputs,
        expected_bytes(width, height, 4, depth),
        history_root=History.from_settings(settings).root,
        history_bytes=expected_bytes(api.width, api.height) * prepared.spec.n,
    )


def _is_see_through(source: SourceImage) -> bool:
    """Whether any pixel of IMG is less than opaque (an RGBA file may well be opaque)."""
    return source.has_alpha and not is_opaque(source.file_pixels)


def with_timeout(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with ``--timeout S`` applied, checked against the setting's own range."""
    if getattr(args, "timeout", None) is None:
        return settings
    check_setting("timeout_s", args.timeout, "--timeout")
    return settings.model_copy(update={"timeout_s": float(args.timeout)})


def _image_client(settings: Settings) -> Any:
    from ..client import ImageClient

    return ImageClient(settings.connection(), custom_models=settings.custom_models)


def run_api_job(
    settings: Settings, prepared: Any, on_sent: Callable[[], None] | None = None
) -> Any:
    """Run the job, cancellable with Ctrl+C; ``on_sent`` runs (on this thread) each time a
    request of it is out."""
    from ..jobs import run_job

    def on_update(update: Any) -> None:
        if update.kind == "sent" and on_sent is not None:
            on_sent()
        elif update.kind == "progress":
            log.info("%s", update.message)
        elif update.kind in ("partial", "image"):
            log.info("%s %d after %.1f s", update.kind, update.index + 1, update.elapsed_s)

    client = _image_client(settings)
    return run_cancellable(
        lambda cancel, emit: run_job(
            prepared, settings, on_event=emit, cancel=cancel, client=client
        ),
        waiting=f"waiting for the API (timeout {settings.timeout_s:g} s)…",
        on_update=on_update,
    )


def job_report(result: Any, prepared: Any, outputs: list[Path]) -> dict[str, Any]:
    return {
        "outputs": [str(p) for p in outputs],
        "api_size": str(prepared.plan.api_size),
        "returned_size": result.size,
        "model": prepared.plan.model,
        "mode": prepared.plan.mode.value,
        "quality": prepared.spec.quality,
        "n": prepared.spec.n,
        "request_id": result.request_id,
        "usage": result.usage,
        "cost_usd": result.cost_usd,
        "estimate_usd": result.estimate_usd,
        "history_id": result.history_id,
        "history_files": [str(p) for p in result.paths],
        "crop": list(prepared.plan.crop),
        "elapsed_s": round(result.elapsed_s, 3),
    }


def print_job(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        say_json(args, report)
        return
    cost = report["cost_usd"]
    cost_text = precise_money(cost, "unknown (no usage reported)")
    for path in report["outputs"]:
        say(args, f"saved {path}")
    say(
        args,
        f"{report['model']} {report['mode']} {report['api_size']} {report['quality']}: "
        f"cost {cost_text}, estimate {precise_money(report['estimate_usd'])}, {report['elapsed_s']:.1f} s",
    )
    say(args, f"history {report['history_id']}  request {report['request_id']}")


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import prepare_job

    settings = with_timeout(args, settings)
    if args.compare:
        return cmd_compare(args, settings, Mode.GENERATE.value)
    spec = _job_spec(args, settings, Mode.GENERATE.value)
    prepared = prepare_job(spec, None, None, None, settings)
    outputs = output_paths(args.output, spec.n, spec.output_format, stem="generated")
    check_outputs(outputs, prepared, settings)
    result = run_api_job(settings, prepared)
    files = result_files(outputs, result)
    save_outputs(files, result, History.from_settings(settings))
    print_job(args, job_report(result, prepared, [p for p, _ in files]))
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    """Edit IMG: decoded once (while the SDK loads), each result blended into it and streamed to
    its file, so a large image is in memory about once. IMG with a colour profile other than
    sRGB, or 16 bits per channel, is blended in its own space and depth instead."""
    from ..client import preload_sdk
    from ..jobs import prepare_job

    settings = with_timeout(args, settings)
    if args.compare:
        return cmd_compare(args, settings, Mode.EDIT_IMAGE.value)
    if args.aspect:
        raise InputError("--aspect is for text-to-image; an edit keeps the image's shape.")
    level = png_level(args.output_compression)
    preload_sdk()
    image_path = Path(args.image)
    digest = sha256_beside(image_path)
    source, selection, mode = _edit_source(args)
    canvas_pixels = source.pixels
    spec = _job_spec(args, settings, mode, source=image_path.name)
    prepared = prepare_job(
        spec, Extent(*canvas_pixels.size), selection, crop_reader(canvas_pixels), settings
    )
    # where the image was read from, so `refine` and `history export` can composite onto it
    fields = {"source_path": str(image_path.resolve()), "source_sha256": digest()}
    prepared = replace(prepared, record_fields=fields)
    outputs = output_paths(args.output, spec.n, stem=f"{image_path.stem}-edited")
    check_outputs(outputs, prepared, settings, source)
    files = EditOutputs(source, outputs, prepared.plan, level)
    source = canvas_pixels = None  # ``files`` keeps what it needs (of a whole-image edit: nothing)
    try:
        result = run_api_job(settings, prepared, on_sent=files.start)
        written = files.write(result, History.from_settings(settings))
    finally:
        files.close()
    print_job(args, job_report(result, prepared, written))
    return EXIT_OK


class EditOutputs:
    """The output files of an edit: each result blended into IMG and streamed to its file.

    ``start`` (once the request is out: before, every core is needed to send it) gets ahead
    where it can: a PNG's rows that no result touches are compressed while the API works
    (``core.png_bands``), once for all variants; ``write`` starts it itself when nothing did.
    For an edit of the whole image, whose results are the outputs, IMG's pixels are let go of
    at once.
    IMG with a colour profile other than sRGB, or 16 bits per channel, is blended in its own
    space and depth. The canvas (``source.pixels``) is blended into in place.
    """

    def __init__(self, source: SourceImage, outputs: list[Path], plan: Any, level: int) -> None:
        self.outputs, self.level, self.plan = outputs, level, plan
        self.plain = source.deep is None and not source.converted
        self.replaced = self.plain and plan is not None and replaces_everything(plan)
        self.mode, self.icc = source.pixels.mode, source.icc_profile
        self.source: SourceImage | None = None if self.replaced else source
        self.banded: BandedPng | None = None
        self.started = False

    def start(self) -> EditOutputs:
        """Begin compressing the rows no result touches (once; later calls do nothing). A head
        start only: it runs once the request is out, so if it fails the outputs are written the
        plain way instead of failing an edit that may be billed."""
        if self.started:
            return self
        self.started = True
        pngs = all(PIL_FORMATS[path.suffix.lower()] == "PNG" for path in self.outputs)
        source = self.source
        usable = source is not None and self.plain and png_bands.supports(source.pixels)
        if usable and pngs and self.plan is not None:
            rows = self.plan.source_bounds
            banded = None
            try:
                banded = BandedPng(
                    source.pixels, (rows.y, rows.bottom), level=self.level, icc_profile=self.icc
                )
                self.banded = banded.start()
            except Exception:
                if banded is not None:
                    banded.close()
                log.exception("compressing the untouched rows ahead failed; writing it whole")
        return self

    def write(self, result: Any, history: History) -> list[Path]:
        from ..pipeline import composite_into

        self.start()
        written = []
        under = None  # the original pixels under the results, for the variants after the first
        for index, (path, patch) in enumerate(zip(self.outputs, result.patches, strict=False)):
            if self.source is None:  # the result is the whole picture
                data: Any = whole_picture_writer(patch.image, self.mode, path, self.level, self.icc)
            elif self.plain:
                canvas = self.source.pixels
                if self.banded is not None:
                    self.banded.wait()  # the rows outside are read: the canvas may change now
                if under is None and len(result.patches) > 1:
                    under = canvas.crop(patch.bounds.box)
                composite_into(canvas, patch, under)
                if self.banded is not None:
                    data = self.banded.writer()
                else:
                    data = writer(canvas, path, self.level, self.icc)
            else:
                data = composite_file(self.source, patch, path)
            save_outputs([(path, data)], result, history, first_index=index)
            written.append(path)
        return written

    def close(self) -> None:
        if self.banded is not None:
            self.banded.close()


def replaces_everything(plan: Any) -> bool:
    """Whether every result of ``plan`` covers all of the canvas through a full mask (an edit
    of the whole image): then the output file is the result alone."""
    return (
        plan.mode is Mode.EDIT_IMAGE
        and not plan.masked
        and plan.source_bounds == Bounds.of_extent(plan.canvas)
    )


def write_edit_outputs(
    source: SourceImage,
    outputs: list[Path],
    result: Any,
    history: History,
    level: int = FAST_PNG_LEVEL,
) -> list[Path]:
    """Each of ``result.patches`` blended into IMG and streamed to its output (``edit`` and
    ``batch`` alike; see ``EditOutputs``)."""
    files = EditOutputs(source, outputs, getattr(result, "plan", None), level)
    try:
        return files.write(result, history)
    finally:
        files.close()


def cmd_estimate(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import estimate_job

    if args.image is not None:
        source, selection, mode = _edit_source(args)
        canvas: Extent | None = Extent(*source.size)
    else:
        if args.selection or args.rect:
            raise InputError("--selection and --rect need --image.")
        canvas, selection, mode = None, None, Mode.GENERATE.value
    spec = _job_spec(args, settings, mode)
    plan, estimate = estimate_job(spec, canvas, selection, settings)
    report = {
        "estimate_usd": estimate.usd,
        "api_size": str(plan.api_size),
        "model": plan.model,
        "mode": plan.mode.value,
        "quality": spec.quality,
        "n": spec.n,
        "partial_images": spec.partial_images,
        "references": len(spec.references),
        "crop": list(plan.crop),
        "breakdown": estimate.breakdown,
    }
    if args.json:
        say_json(args, report)
        return EXIT_OK
    say(
        args,
        f"{precise_money(estimate.usd)} for {spec.n} x {plan.api_size} {spec.quality} "
        f"({plan.model}, {plan.mode.value}; prices of {estimate.breakdown['prices_taken']})",
    )
    for note in estimate.breakdown["notes"]:
        say(args, f"  note: {note}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    info = dict(_image_client(settings).check() or {})
    report = {"key_source": settings.key_source, **info}
    if args.json:
        say_json(args, report)
        return EXIT_OK
    images = ", ".join(info.get("image_models") or []) or "none listed"
    say(
        args,
        f"ok: {info.get('base_url')} accepted the key (from {settings.key_source}); "
        f"image models: {images}",
    )
    return EXIT_OK


def cmd_improve(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import improve

    if args.model:
        settings = settings.model_copy(update={"improve_prompt_model": args.model})
    mode = Mode.EDIT_IMAGE.value if args.edit else Mode.GENERATE.value
    rewritten = improve(args.prompt, settings, mode=mode, client=_image_client(settings))
    if args.json:
        say_json(
            args,
            {"prompt": rewritten, "original": args.prompt, "model": settings.improve_prompt_model},
        )
    else:
        say(args, rewritten)
    return EXIT_OK


def flatten(image: Image.Image, keep_alpha: bool) -> Image.Image:
    return image if keep_alpha else image.convert("RGB")
