"""``history``: list, search, show, delete, prune and re-run past jobs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import (
    EXIT_OK,
    InputError,
)
from ..geometry import Extent
from ..pipeline import Mode
from ..pricing import precise_money
from ..settings import Settings
from .console import write_err
from .jobs import (
    check_outputs,
    composite_file,
    encode,
    file_sha256,
    job_report,
    print_job,
    result_files,
    run_api_job,
)
from .options import read_image
from .outputs import PIL_FORMATS, output_paths, preflight, save_outputs
from .runtime import add_verbose, say, say_json, with_settings


def _history(settings: Settings, max_mb: int | None = None) -> Any:
    from ..history import History

    history = History.from_settings(settings)
    if max_mb is not None:
        history.max_bytes = max_mb * 1024 * 1024 or None
    return history


def _history_line(record: Any) -> str:
    cost = record.data.get("cost_usd")
    cost_text = precise_money(cost) if isinstance(cost, (int, float)) else "-"
    prompt = " ".join(record.prompt.split())
    prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    mode = str(record.data.get("mode", ""))
    if not record.readable:
        prompt = f"({record.unreadable_reason})"
    return f"{record.id}  {record.status:<9} {mode:<14} {len(record.images)} img {cost_text:>8}  {prompt}"


def cmd_history_list(args: argparse.Namespace, settings: Settings) -> int:
    history = _history(settings)
    records = history.search(args.search) if args.search else history.list()
    if args.limit > 0:
        records = records[: args.limit]
    if args.json:
        say_json(args, {"root": str(history.root), "jobs": [r.to_dict() for r in records]})
    elif not records:
        say(args, "no jobs" + (f" matching {args.search!r}" if args.search else ""))
    else:
        for record in records:
            say(args, _history_line(record))
    return EXIT_OK


def cmd_history_show(args: argparse.Namespace, settings: Settings) -> int:
    record = _history(settings).get(args.id)
    data = record.to_dict()
    if args.json:
        say_json(args, data)
        return EXIT_OK
    for key in (
        "id", "status", "unreadable_reason", "created", "mode", "model", "prompt", "api_size", "crop",
        "source_document", "request_id", "estimate_usd", "cost_usd", "path",
    ):  # fmt: skip
        if data.get(key) not in (None, ""):
            say(args, f"{key}: {data[key]}")
    if isinstance(data.get("error"), dict):
        say(args, f"error: {data['error'].get('message')}")
    for path in data["image_paths"]:
        say(args, f"image: {path}")
    for role, path in record.inputs.items():
        say(args, f"input {role}: {path}")
    return EXIT_OK


def cmd_history_delete(args: argparse.Namespace, settings: Settings) -> int:
    _history(settings).delete(args.id)
    if args.json:
        say_json(args, {"deleted": args.id})
    else:
        say(args, f"deleted {args.id}")
    return EXIT_OK


def cmd_history_prune(args: argparse.Namespace, settings: Settings) -> int:
    history = _history(settings, args.max_mb)
    removed = history.prune()
    kept = history.total_bytes()
    if args.json:
        say_json(args, {"removed": removed, "total_bytes": kept})
    else:
        say(args, f"removed {len(removed)} job(s); {kept / 1e6:.1f} MB kept")
    return EXIT_OK


def _original(image: Path | None, record: Any, canvas: Extent) -> Any:
    """The original picture of an edit: ``--image`` if given, else the file the job was made
    from when it is still there unchanged; ``None`` when neither is available."""
    from ..imagefile import SourceImage

    if image is None:
        recorded = record.data.get("source_path")
        if not isinstance(recorded, str) or not recorded or not Path(recorded).is_file():
            return None
        expected = record.data.get("source_sha256")
        if expected and file_sha256(Path(recorded)) != expected:
            raise InputError(
                f"{recorded} changed since job {record.id} was made.",
                hint="Give --image IMG to composite into it as it is now, or --raw for the result alone.",
            )
        image = Path(recorded)
    source: SourceImage = read_image(image)
    if Extent(*source.size) != canvas:
        raise InputError(
            f"{image} is {source.size[0]}x{source.size[1]}; the job was made on a {canvas} canvas."
        )
    return source


def cmd_history_rerun(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import prepared_from_history

    record = _history(settings).get_readable(args.id)
    prepared = prepared_from_history(record, settings)
    plan = prepared.plan
    source = None
    if args.image is not None:
        source = _original(args.image, record, plan.canvas)
    outputs = (
        output_paths(args.output, prepared.spec.n, stem=f"rerun-{args.id}") if args.output else []
    )
    if outputs:
        check_outputs(outputs, prepared, settings, source)
    result = run_api_job(settings, prepared)
    if plan.mode is Mode.GENERATE:
        files = result_files(outputs, result)
    elif source is not None:
        files = [
            (path, composite_file(source, patch, path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    else:
        files = [
            (path, encode(patch.masked(), path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    save_outputs(files, result, _history(settings))
    report = job_report(result, prepared, [p for p, _ in files])
    report["rerun_of"] = args.id
    print_job(args, report)
    return EXIT_OK


def _check_stored_image(data: bytes, stored: Path, job_id: str) -> None:
    """``InputError`` when a stored result is not a whole image (a damaged file is never
    exported as if it were the result)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"{stored.name} of history entry {job_id} is not a readable image ({exc}); "
            "nothing was written.",
            hint="The file may be damaged; `history show ID` lists the entry's files.",
        ) from None


def cmd_history_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write out a stored result: composited into the original image as the job would have
    done, or (``--raw``, text to image, or no original at hand) the result as the API sent it."""
    from ..jobs import patches_from_history

    history = _history(settings)
    record = history.get(args.id)
    images = record.images
    if not images:
        raise InputError(
            f"History entry {args.id} holds no result image (status {record.status}).",
            hint="Only results that arrived are kept; see `history show ID`.",
        )
    mode = str(record.data.get("mode", ""))
    source = None
    raw = args.raw or mode == Mode.GENERATE.value
    if not raw and not record.readable:
        history.get_readable(args.id)  # says why it can't be composited
    if not raw:
        canvas = record.data.get("canvas")
        try:
            extent = Extent(*canvas)
        except (TypeError, ValueError):
            raise InputError(f"History entry {args.id} does not record its canvas size.") from None
        source = _original(args.image, record, extent)
        if source is None:
            write_err(
                "warning: the original image is not available (give --image IMG to composite "
                "into it); writing the raw result as the API sent it.\n"
            )
            raw = True
    fmt = images[0].suffix.lstrip(".").lower()
    outputs = output_paths(args.output, len(images), "jpeg" if fmt == "jpg" else fmt, stem=args.id)
    if source is not None:
        width, height = source.size
        preflight(outputs, width * height * 4 * (2 if source.deep is not None else 1))
        patches = patches_from_history(record)
        files = [
            (path, composite_file(source, patch, path))
            for path, patch in zip(outputs, patches, strict=False)
        ]
    else:
        preflight(outputs, max(p.stat().st_size for p in images))
        files = []
        for path, stored in zip(outputs, images, strict=False):
            data = stored.read_bytes()
            _check_stored_image(data, stored, args.id)
            same = PIL_FORMATS[path.suffix.lower()] == PIL_FORMATS.get(stored.suffix.lower())
            if not same:
                from ..jobs import decode_image

                data = encode(decode_image(data), path)
            files.append((path, data))
    save_outputs(files, args.id, history)
    written = [str(p) for p, _ in files]
    if args.json:
        say_json(
            args,
            {
                "id": args.id,
                "outputs": written,
                "composited": source is not None,
                "status": record.status,
            },
        )
    else:
        for path in written:
            say(args, f"saved {path}")
    return EXIT_OK


def add_history_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "history", help="list, search, show, export, delete, prune or re-run past jobs"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="jobs, newest first")
    listing.add_argument("--search", metavar="TEXT", help="prompts containing TEXT (any case)")
    listing.add_argument("--limit", type=int, default=0, help="at most this many")
    searching = actions.add_parser("search", help="jobs whose prompt contains TEXT (any case)")
    searching.add_argument("search", metavar="TEXT")
    searching.add_argument("--limit", type=int, default=0, help="at most this many")
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
    rerun.add_argument("-o", "--output", metavar="OUT")
    rerun.add_argument("--image", type=Path, metavar="IMG", help="the original image (edits)")
    export = actions.add_parser(
        "export",
        help="write out a stored result (also of failed or interrupted jobs)",
        description="Write the results a history entry holds. An edit is composited into the "
        "original image as the job would have done: --image IMG, else the file the job was made "
        "from if it is unchanged. --raw (and text to image) writes the result as the API sent "
        "it. Several results: OUT-1 ... OUT-N.",
    )
    export.add_argument("id")
    export.add_argument("-o", "--output", required=True, metavar="OUT")
    export.add_argument("--image", type=Path, metavar="IMG", help="the original image (edits)")
    export.add_argument("--raw", action="store_true", help="the result as the API sent it")
    for sub, command in (
        (listing, cmd_history_list),
        (searching, cmd_history_list),
        (show, cmd_history_show),
        (delete, cmd_history_delete),
        (prune, cmd_history_prune),
        (rerun, cmd_history_rerun),
        (export, cmd_history_export),
    ):
        sub.add_argument("--json", action="store_true")
        add_verbose(sub)
        # reading history must work even when settings.json is broken
        lenient = command in (
            cmd_history_list, cmd_history_show, cmd_history_delete, cmd_history_export
        )  # fmt: skip
        sub.set_defaults(handler=with_settings(command, lenient=lenient))
