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
from ..settings import Settings
from .jobs import (
    encode,
    flatten,
    job_report,
    output_paths,
    print_job,
    result_files,
    run_api_job,
    save_outputs,
)
from .options import read_image_raw
from .runtime import add_verbose, say, say_json, with_settings


def _history(settings: Settings, max_mb: int | None = None) -> Any:
    from ..history import History

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
        "id", "status", "created", "mode", "model", "prompt", "api_size", "crop",
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


def cmd_history_rerun(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs import prepared_from_history
    from ..pipeline import composite

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
    result = run_api_job(settings, prepared)
    if plan.mode is Mode.GENERATE:
        files = result_files(outputs, result)
    elif canvas_pixels is not None:
        files = [
            (path, encode(flatten(composite(canvas_pixels, patch), had_alpha), path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    else:
        files = [
            (path, encode(patch.masked(), path))
            for path, patch in zip(outputs, result.patches, strict=False)
        ]
    save_outputs(files, result.history_id)
    report = job_report(result, prepared, [p for p, _ in files])
    report["rerun_of"] = args.id
    print_job(args, report)
    return EXIT_OK


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
        add_verbose(sub)
        # reading history must work even when settings.json is broken
        lenient = command in (cmd_history_list, cmd_history_show, cmd_history_delete)
        sub.set_defaults(handler=with_settings(command, lenient=lenient))
