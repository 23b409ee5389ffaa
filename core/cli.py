"""``python -m core``: the plug-ins' jobs on files.

The library never prints; this module owns stdout/stderr and exit codes. Every failure is a
``GptImageError`` turned into one line on stderr and its ``exit_code``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import logging.handlers
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_OK,
    ApiUnavailable,
    Cancelled,
    ConfigError,
    GptImageError,
    InputError,
)
from .geometry import Bounds, Extent
from .history import image_extension
from .models import DEFAULT_MODEL
from .pipeline import BlendOptions, Mode, build_upload, plan_job
from .selection import SelectionMask
from .settings import RedactingFilter, Settings, atomic_write, data_dir, load_settings, redact

log = logging.getLogger(__name__)
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


# ------------------------------------------- generate, edit, estimate, check, history, improve
#
# These share one wrapper (``_with_settings``): settings from the config dir and environment,
# logging to stderr and ``<data dir>/logs/cli.log`` with the key blanked out, ``--json`` errors
# as ``{"error": {...}}`` on stdout, and the exit code of the ``GptImageError``. Jobs run on a
# worker thread so Ctrl-C cancels the request cleanly (exit 130, history says "cancelled").

#: Seconds a cancelled request gets to stop after Ctrl-C before the CLI leaves anyway.
CANCEL_GRACE_S = 10.0
LOG_FILE = "cli.log"
PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MAX_REFERENCES = 15
SettingsCommand = Callable[[argparse.Namespace, Settings], int]


def _say(args: argparse.Namespace, text: str) -> None:
    write_out(redact(text, getattr(args, "secret", None)) + "\n")


def _say_json(args: argparse.Namespace, payload: Any) -> None:
    text = json.dumps(payload, indent=2, ensure_ascii=True, default=str)
    write_out(redact(text, getattr(args, "secret", None)) + "\n")


def _report(error: GptImageError, args: argparse.Namespace) -> int:
    write_err(redact(f"error: {error}", getattr(args, "secret", None)) + "\n")
    log.info("exit %d: %s", error.exit_code, error)
    if getattr(args, "json", False):
        _say_json(args, {"error": error.to_dict()})
    return error.exit_code


def _with_settings(command: SettingsCommand, *, lenient: bool = False) -> Handler:
    """Wrap a command: settings, key-safe logging, errors mapped to exit codes."""

    def handler(args: argparse.Namespace) -> int:
        with _key_safe_logging(getattr(args, "verbose", 0)) as secret_filter:
            try:
                settings = _settings_or_defaults() if lenient else load_settings()
                args.secret = secret_filter.secret = settings.api_key
                return command(args, settings)
            except GptImageError as error:
                return _report(error, args)
            except KeyboardInterrupt:
                return _report(Cancelled(), args)
            except Exception as error:  # a bug: one line for the person, details in the log
                log.info("Internal error:\n%s", traceback.format_exc())  # to the log file, redacted
                return _report(
                    ApiUnavailable(
                        f"Internal error: {type(error).__name__}: {error}",
                        hint=f"Details are in {data_dir() / 'logs' / LOG_FILE}; please report it.",
                    ),
                    args,
                )

    handler.__name__ = handler.__qualname__ = command.__name__
    return handler


class _KeyFilter(RedactingFilter):
    """Blanks the key out of every log record; the key is set once settings are loaded."""

    def __init__(self) -> None:
        super().__init__(None)
        self.secret: Any = None

    def filter(self, record: logging.LogRecord) -> bool:
        self._secret = self.secret
        return super().filter(record)


@contextlib.contextmanager
def _key_safe_logging(verbosity: int) -> Iterator[_KeyFilter]:
    """stderr at WARNING (-v INFO, -vv DEBUG incl. the SDK) and a rotating log file in the data
    dir, both filtered for the key; removed afterwards (tests call ``main`` many times)."""
    key_filter = _KeyFilter()
    root = logging.getLogger()
    level = logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handlers: list[logging.Handler] = [console]
    try:
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            logs / LOG_FILE, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
        file.setLevel(min(level, logging.INFO))
        file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handlers.append(file)
    except OSError:
        pass  # no log file is better than no CLI
    sdk_loggers = {name: logging.getLogger(name) for name in ("openai", "httpx", "httpcore")}
    saved = (root.level, {name: lg.level for name, lg in sdk_loggers.items()})
    root.setLevel(min(level, logging.INFO))
    for logger in sdk_loggers.values():
        logger.setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    for handler in handlers:
        handler.addFilter(key_filter)
        root.addHandler(handler)
    try:
        yield key_filter
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        for name, logger in sdk_loggers.items():
            logger.setLevel(saved[1][name])


def _settings_or_defaults() -> Settings:
    """For commands that need neither key nor network (estimate, reading history): a broken
    settings file is reported as a warning and the defaults are used."""
    try:
        return load_settings()
    except ConfigError as error:
        log.warning("%s; using default settings", error)
        return Settings()


# -- options


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )


def _add_job_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    parser.add_argument("--prompt", required=True, help="what to make or change (any language)")
    add_model_options(parser)
    parser.add_argument("--quality", choices=("auto", "low", "medium", "high"))
    parser.add_argument("--aspect", metavar="W:H", help="shape for text-to-image, e.g. 16:9")
    parser.add_argument("-n", type=int, dest="n", metavar="N", help="number of images (1-10)")
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help=f"reference image (PNG/JPEG/WebP); repeat for more (up to {MAX_REFERENCES})",
    )
    parser.add_argument("--format", dest="output_format", choices=("png", "jpeg", "webp"))
    parser.add_argument("--compression", type=int, metavar="0-100", help="jpeg/webp only")
    parser.add_argument("--background", choices=("auto", "opaque", "transparent"))
    parser.add_argument("--moderation", choices=("auto", "low"))
    parser.add_argument(
        "--partials",
        type=int,
        default=0,
        metavar="K",
        help="partial previews to stream, 0-3, each +100 output tokens (default 0)",
    )
    if output:
        parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _add_verbose(parser)


def add_generate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate",
        help="text to image (with --reference: guided by reference images)",
        description="Make an image from a prompt and save it at the snapped API size "
        "(-n N: OUT-1 ... OUT-N). --aspect W:H picks the shape, --resolution the size.",
    )
    _add_job_options(parser)
    parser.set_defaults(handler=_with_settings(cmd_generate))


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
    parser.set_defaults(handler=_with_settings(cmd_edit))


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
    parser.set_defaults(handler=_with_settings(cmd_estimate, lenient=True))


def add_check_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check", help="verify the API key and endpoint")
    parser.add_argument("--json", action="store_true")
    _add_verbose(parser)
    parser.set_defaults(handler=_with_settings(cmd_check))


def add_history_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("history", help="list, search, show, delete or prune past jobs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="jobs, newest first")
    listing.add_argument("--search", metavar="TEXT", help="prompts containing TEXT (any case)")
    listing.add_argument("--limit", type=int, default=0, help="at most this many")
    show = actions.add_parser("show", help="one job: its record and files")
    show.add_argument("id")
    delete = actions.add_parser("delete", help="delete one job and its files")
    delete.add_argument("id")
    prune = actions.add_parser("prune", help="delete the oldest finished jobs beyond the cap")
    prune.add_argument("--max-mb", type=int, help="cap for this run (default from settings)")
    rerun = actions.add_parser(
        "rerun",
        help="send a past job again (same prompt, crop, mask, references and options)",
        description="Run a history entry again as a new entry. -o writes the results: text to "
        "image as files; edits composited into --image IMG when given (it must be the original "
        "canvas size), else as the masked layer of the edited area.",
    )
    rerun.add_argument("id")
    rerun.add_argument("-o", "--output", type=Path, metavar="OUT")
    rerun.add_argument("--image", type=Path, metavar="IMG", help="the original image (edits)")
    for sub, command in (
        (listing, cmd_history_list),
        (show, cmd_history_show),
        (delete, cmd_history_delete),
        (prune, cmd_history_prune),
        (rerun, cmd_history_rerun),
    ):
        sub.add_argument("--json", action="store_true")
        _add_verbose(sub)
        # reading history must work even when settings.json is broken
        lenient = command in (cmd_history_list, cmd_history_show, cmd_history_delete)
        sub.set_defaults(handler=_with_settings(command, lenient=lenient))


def add_improve_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "improve",
        help="rewrite a rough prompt with a text model (prints it; generates nothing)",
    )
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--edit", action="store_true", help="the prompt is for an edit")
    parser.add_argument("--model", help="text model (default: settings.improve_prompt_model)")
    parser.add_argument("--json", action="store_true")
    _add_verbose(parser)
    parser.set_defaults(handler=_with_settings(cmd_improve))


# -- job plumbing


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {what} {path}: {exc.strerror or exc}") from None


def _job_spec(args: argparse.Namespace, settings: Settings, mode: str, source: str = "") -> Any:
    from .jobs import JobSpec, reference_from_bytes
    from .sizing import parse_resolution

    if len(args.reference) > MAX_REFERENCES:
        raise InputError(f"{len(args.reference)} references; at most {MAX_REFERENCES}.")
    references = tuple(
        reference_from_bytes(path.name, _read_bytes(path, "reference")) for path in args.reference
    )
    if args.resolution:
        parse_resolution(args.resolution)  # InputError naming the value
    base_blend = settings.blend()
    blend = blend_from_args(args, base_blend) if hasattr(args, "padding") else base_blend
    return JobSpec.from_settings(
        settings,
        mode,
        args.prompt,
        model=args.model,
        quality=args.quality,
        resolution=args.resolution,
        n=args.n,
        partial_images=args.partials,
        output_format=args.output_format,
        output_compression=args.compression,
        background=args.background,
        moderation=args.moderation,
        references=references,
        blend=blend,
        source_document=source,
        aspect=args.aspect,
    )


def _edit_canvas(args: argparse.Namespace) -> tuple[Image.Image, SelectionMask | None, str, bool]:
    """IMG as RGBA, the selection, the mode, and whether IMG had alpha of its own."""
    raw = read_image_raw(args.image)
    had_alpha = raw.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in raw.info
    canvas_pixels = raw.convert("RGBA")
    selection = read_selection(args, Extent(*canvas_pixels.size))
    mode = Mode.EDIT_SELECTION if selection is not None else Mode.EDIT_IMAGE
    return canvas_pixels, selection, mode.value, had_alpha


def output_paths(out: Path, count: int, fmt: str = "png") -> list[Path]:
    """OUT for one image, OUT-1 ... OUT-N for several; OUT without a suffix gets ``fmt``'s."""
    path = Path(out)
    if not path.suffix:
        path = path.with_name(f"{path.name}.{'jpg' if fmt == 'jpeg' else fmt}")
    if PIL_FORMATS.get(path.suffix.lower()) is None:
        raise InputError(f"Unknown output type {path.suffix!r}; use .png, .jpg or .webp.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name.")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def _encode(image: Image.Image, path: Path) -> bytes:
    fmt = PIL_FORMATS[path.suffix.lower()]
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue()


def _result_files(outputs: list[Path], result: Any) -> list[tuple[Path, bytes]]:
    """The API's own bytes where the file type matches OUT's, else re-encoded."""
    files = []
    # the API may send fewer images than asked for: write what came
    for path, data, image in zip(outputs, result.encoded, result.images, strict=False):
        same_type = PIL_FORMATS[path.suffix.lower()] == image_extension(data).upper()
        files.append((path, data if same_type else _encode(image, path)))
    return files


def _save_outputs(files: list[tuple[Path, bytes]], history_id: str) -> None:
    """Write the outputs; a failure says where the paid results are kept."""
    for path, data in files:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        except OSError as exc:
            raise InputError(
                f"Cannot write {path}: {exc.strerror or exc}",
                hint=f"The results are kept in history {history_id} (history show {history_id}).",
            ) from None


def _run_cancellable(work: Callable[[Any], Any]) -> Any:
    """Run ``work(cancel_token)`` on a worker thread so Ctrl-C cancels the request cleanly."""
    from .client import CancelToken

    cancel = CancelToken()
    box: dict[str, Any] = {}
    # An Event, not Thread.join/is_alive: a KeyboardInterrupt inside join() can leave the
    # thread looking finished while it still runs (CPython before 3.13).
    finished = threading.Event()

    def target() -> None:
        try:
            box["result"] = work(cancel)
        except BaseException as exc:  # handed over to the main thread below
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, name="gpt-image-job", daemon=True).start()
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        write_err("cancelling…\n")
        cancel.cancel()
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
            finished.wait(CANCEL_GRACE_S)
        if not finished.is_set():
            raise Cancelled("Cancelled; the request was abandoned.") from None
        if not isinstance(box.get("error"), Cancelled):
            raise Cancelled() from None
    if "error" in box:
        raise box["error"]
    return box["result"]


def _image_client(settings: Settings) -> Any:
    from .client import ImageClient

    return ImageClient(settings.connection(), custom_models=settings.custom_models)


def _run_job(settings: Settings, prepared: Any) -> Any:
    from .jobs import JobEvent, run_job

    def on_event(event: JobEvent) -> None:
        if event.kind == "status":
            log.info("%s", event.message)
        else:
            log.info("%s %d after %.1f s", event.kind, event.index + 1, event.elapsed_s)

    client = _image_client(settings)
    return _run_cancellable(
        lambda cancel: run_job(prepared, settings, on_event=on_event, cancel=cancel, client=client)
    )


def _job_report(result: Any, prepared: Any, outputs: list[Path]) -> dict[str, Any]:
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


def _print_job(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        _say_json(args, report)
        return
    cost = report["cost_usd"]
    cost_text = f"${cost:.4f}" if cost is not None else "unknown (no usage reported)"
    for path in report["outputs"]:
        _say(args, f"saved {path}")
    _say(
        args,
        f"{report['model']} {report['mode']} {report['api_size']} {report['quality']}: "
        f"cost {cost_text}, estimate ${report['estimate_usd']:.4f}, {report['elapsed_s']:.1f} s",
    )
    _say(args, f"history {report['history_id']}  request {report['request_id']}")


# -- commands


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import prepare_job

    spec = _job_spec(args, settings, Mode.GENERATE.value)
    prepared = prepare_job(spec, None, None, None, settings)
    outputs = output_paths(args.output, spec.n, spec.output_format)
    result = _run_job(settings, prepared)
    files = _result_files(outputs, result)
    _save_outputs(files, result.history_id)
    _print_job(args, _job_report(result, prepared, [p for p, _ in files]))
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import prepare_job
    from .pipeline import composite

    if args.aspect:
        raise InputError("--aspect is for text-to-image; an edit keeps the image's shape.")
    canvas_pixels, selection, mode, had_alpha = _edit_canvas(args)
    spec = _job_spec(args, settings, mode, source=Path(args.image).name)
    prepared = prepare_job(
        spec,
        Extent(*canvas_pixels.size),
        selection,
        lambda bounds: canvas_pixels.crop(bounds.box),
        settings,
    )
    outputs = output_paths(args.output, spec.n)
    result = _run_job(settings, prepared)
    files = []
    for path, patch in zip(outputs, result.patches, strict=False):
        full = _flatten(composite(canvas_pixels, patch), had_alpha)
        files.append((path, _encode(full, path)))
    _save_outputs(files, result.history_id)
    _print_job(args, _job_report(result, prepared, [p for p, _ in files]))
    return EXIT_OK


def cmd_estimate(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import check_spec, estimate_for, plan_for

    if args.image is not None:
        canvas_pixels, selection, mode, _ = _edit_canvas(args)
        canvas: Extent | None = Extent(*canvas_pixels.size)
    else:
        if args.selection or args.rect:
            raise InputError("--selection and --rect need --image.")
        canvas, selection, mode = None, None, Mode.GENERATE.value
    spec = check_spec(_job_spec(args, settings, mode), settings)
    plan = plan_for(spec, canvas, selection, settings)
    estimate = estimate_for(spec, plan)
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
        _say_json(args, report)
        return EXIT_OK
    _say(
        args,
        f"${estimate.usd:.4f} for {spec.n} x {plan.api_size} {spec.quality} "
        f"({plan.model}, {plan.mode.value}; prices of {estimate.breakdown['prices_taken']})",
    )
    for note in estimate.breakdown["notes"]:
        _say(args, f"  note: {note}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    info = dict(_image_client(settings).check() or {})
    report = {"key_source": settings.key_source, **info}
    if args.json:
        _say_json(args, report)
        return EXIT_OK
    images = ", ".join(info.get("image_models") or []) or "none listed"
    _say(
        args,
        f"ok: {info.get('base_url')} accepted the key (from {settings.key_source}); "
        f"image models: {images}",
    )
    return EXIT_OK


def _history(settings: Settings, max_mb: int | None = None) -> Any:
    from .history import History

    history = History.from_settings(settings)
    if max_mb is not None:
        history.max_bytes = max_mb * 1024 * 1024 or None
    return history


def _history_line(record: Any) -> str:
    cost = record.data.get("cost_usd")
    cost_text = f"${cost:.4f}" if isinstance(cost, (int, float)) else "-"
    prompt = " ".join(record.prompt.split())
    prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    mode = str(record.data.get("mode", ""))
    return f"{record.id}  {record.status:<9} {mode:<14} {len(record.images)} img {cost_text:>8}  {prompt}"


def cmd_history_list(args: argparse.Namespace, settings: Settings) -> int:
    history = _history(settings)
    records = history.search(args.search) if args.search else history.list()
    if args.limit > 0:
        records = records[: args.limit]
    if args.json:
        _say_json(args, {"root": str(history.root), "jobs": [r.to_dict() for r in records]})
    elif not records:
        _say(args, "no jobs" + (f" matching {args.search!r}" if args.search else ""))
    else:
        for record in records:
            _say(args, _history_line(record))
    return EXIT_OK


def cmd_history_show(args: argparse.Namespace, settings: Settings) -> int:
    record = _history(settings).get(args.id)
    data = record.to_dict()
    if args.json:
        _say_json(args, data)
        return EXIT_OK
    for key in (
        "id", "status", "created", "mode", "model", "prompt", "api_size", "crop",
        "source_document", "request_id", "estimate_usd", "cost_usd", "path",
    ):  # fmt: skip
        if data.get(key) not in (None, ""):
            _say(args, f"{key}: {data[key]}")
    if isinstance(data.get("error"), dict):
        _say(args, f"error: {data['error'].get('message')}")
    for path in data["image_paths"]:
        _say(args, f"image: {path}")
    for role, path in record.inputs.items():
        _say(args, f"input {role}: {path}")
    return EXIT_OK


def cmd_history_delete(args: argparse.Namespace, settings: Settings) -> int:
    _history(settings).delete(args.id)
    if args.json:
        _say_json(args, {"deleted": args.id})
    else:
        _say(args, f"deleted {args.id}")
    return EXIT_OK


def cmd_history_prune(args: argparse.Namespace, settings: Settings) -> int:
    history = _history(settings, args.max_mb)
    removed = history.prune()
    kept = history.total_bytes()
    if args.json:
        _say_json(args, {"removed": removed, "total_bytes": kept})
    else:
        _say(args, f"removed {len(removed)} job(s); {kept / 1e6:.1f} MB kept")
    return EXIT_OK


def cmd_history_rerun(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import prepared_from_history
    from .pipeline import composite

    prepared = prepared_from_history(_history(settings).get(args.id), settings)
    plan = prepared.plan
    canvas_pixels, had_alpha = None, True
    if args.image is not None:
        raw = read_image_raw(args.image)
        had_alpha = raw.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in raw.info
        canvas_pixels = raw.convert("RGBA")
        if Extent(*canvas_pixels.size) != plan.canvas:
            raise InputError(
                f"{args.image} is {canvas_pixels.size[0]}x{canvas_pixels.size[1]}; the job was "
                f"made on a {plan.canvas} canvas."
            )
    outputs = output_paths(args.output, prepared.spec.n) if args.output else []
    result = _run_job(settings, prepared)
    if plan.mode is Mode.GENERATE:
        files = _result_files(outputs, result)
    elif canvas_pixels is not None:
        files = [
            (path, _encode(_flatten(composite(canvas_pixels, patch), had_alpha), path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    else:
        files = [
            (path, _encode(patch.masked(), path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    _save_outputs(files, result.history_id)
    report = _job_report(result, prepared, [p for p, _ in files])
    report["rerun_of"] = args.id
    _print_job(args, report)
    return EXIT_OK


def _flatten(image: Image.Image, keep_alpha: bool) -> Image.Image:
    return image if keep_alpha else image.convert("RGB")


def cmd_improve(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import improve

    if args.model:
        settings = settings.model_copy(update={"improve_prompt_model": args.model})
    mode = Mode.EDIT_IMAGE.value if args.edit else Mode.GENERATE.value
    rewritten = improve(args.prompt, settings, mode=mode, client=_image_client(settings))
    if args.json:
        _say_json(
            args,
            {"prompt": rewritten, "original": args.prompt, "model": settings.improve_prompt_model},
        )
    else:
        _say(args, rewritten)
    return EXIT_OK


# ------------------------------------------------------------------------------- the program

#: Each registers one subcommand; the job commands live beside ``plan``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_plan_command,
    add_generate_command,
    add_edit_command,
    add_estimate_command,
    add_check_command,
    add_history_command,
    add_improve_command,
]


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
