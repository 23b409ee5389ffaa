"""``batch``: the same job on many files, online (resumable, within budget) or via the Batch API.

    python -m core batch JOBS --out DIR [options]          # JOBS: .jsonl or .csv, one job a line
    python -m core batch --images 'in/*.jpg' --prompt P [--selections MASKDIR] --out DIR
    python -m core batch status DIR | fetch DIR [--wait] | cancel DIR   # after --batch-api

Flags given here are defaults for every line; a line's own fields win.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_OK, InputError
from ..options import OPTIONS
from ..pricing import precise_money
from ..settings import Settings
from .batch_report import invalid_rows, report
from .console import write_err, write_out
from .options import add_blend_options, add_model_options, add_option
from .runtime import add_verbose, say_json, with_settings

SUBCOMMANDS = ("status", "fetch", "cancel")
#: Job options settable for every line from the command line (core.options spells them).
BATCH_FLAGS = (
    "quality",
    "n",
    "output_format",
    "output_compression",
    "background",
    "moderation",
    "aspect",
    "references",
    "partial_images",
)


def add_batch_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "batch",
        help="the same edit on many images: resumable, within budget, or via the Batch API",
        description="Run every job of JOBS (JSONL or CSV: image, selection or rect, prompt, "
        "output and any job option per line) or of --images GLOB --prompt P, writing results "
        "into DIR. Every line is validated and the total estimated before anything is sent. "
        "Re-running the same command resumes: nothing already paid for is sent again. "
        "'batch status DIR', 'batch fetch DIR [--wait]' and 'batch cancel DIR' follow a "
        "--batch-api run.",
    )
    parser.add_argument("jobs", nargs="?", metavar="JOBS", help="job file (.jsonl or .csv)")
    parser.add_argument("folder", nargs="?", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (also keeps state)")
    parser.add_argument("--images", metavar="GLOB", help="shorthand: every image matching GLOB")
    parser.add_argument("--prompt", help="the prompt for --images (or a default for JOBS lines)")
    parser.add_argument(
        "--selections", type=Path, metavar="MASKDIR", help="masks named like the images' stems"
    )
    add_model_options(parser)
    for name in BATCH_FLAGS:
        add_option(parser, name)
    add_blend_options(parser)
    parser.add_argument("--skip-invalid", action="store_true", help="run the valid lines anyway")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask to confirm the cost")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="never spend more than USD")
    parser.add_argument(
        "--dry-run", action="store_true", help="write each job's upload files; send nothing"
    )
    parser.add_argument(
        "--concurrency", type=int, metavar="K", help="jobs at once (default 4; online path)"
    )
    parser.add_argument(
        "--skip-interrupted",
        action="store_true",
        help="do not send again jobs an earlier run sent without getting an answer back "
        "(they may have been billed); by default they are sent again, with a warning",
    )
    parser.add_argument(
        "--batch-api", action="store_true", help="send through OpenAI's Batch API (50%% off)"
    )
    parser.add_argument(
        "--wait", action="store_true", help="with --batch-api or fetch: wait for the batch"
    )
    parser.add_argument(
        "--poll", type=float, default=30.0, metavar="S", help="seconds between status checks"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_verbose(parser)
    parser.set_defaults(handler=with_settings(cmd_batch))


# --- entry -------------------------------------------------------------------------------------


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    if args.jobs in SUBCOMMANDS and not (args.folder is None and Path(args.jobs).is_file()):
        folder = args.folder or (str(args.out) if args.out else None)
        if not folder:
            raise InputError(f"batch {args.jobs} needs the batch's folder: batch {args.jobs} DIR")
        from .batch_api import cmd_cancel, cmd_fetch, cmd_status

        commands = {"status": cmd_status, "fetch": cmd_fetch, "cancel": cmd_cancel}
        return commands[args.jobs](args, settings, Path(folder))
    if args.folder is not None:
        raise InputError(f"Unexpected argument {args.folder!r}; the output folder is --out DIR.")
    if args.out is None:
        raise InputError("batch needs --out DIR (results and the batch's state go there).")
    _check_flags(args)
    try:
        return _run(args, settings)
    except _Refused as refused:  # one JSON object: the rows so far and the error
        write_err(f"error: {refused.error}\n")
        report(args, refused.rows, started=time.monotonic(), error=refused.error.to_dict())
        return refused.error.exit_code


class _Refused(Exception):
    """Nothing (more) is sent: the error, and the rows to report with it."""

    def __init__(self, error: InputError, rows: list[Any]) -> None:
        super().__init__(str(error))
        self.error, self.rows = error, rows


def _run(args: argparse.Namespace, settings: Settings) -> int:
    validated = _validate(args, settings)
    from ..batch.state import Journal

    journal = Journal(args.out)
    if args.dry_run:
        from .batch_report import dry_run

        return dry_run(args, settings, validated)
    with journal.exclusive():
        if args.batch_api:
            from .batch_api import submit

            return submit(args, settings, validated, journal)
        return _online(args, settings, validated, journal)


def _check_flags(args: argparse.Namespace) -> None:
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise InputError(f"--concurrency must be 1 to 64, not {args.concurrency}.")
    if args.max_cost is not None and not args.max_cost > 0:
        raise InputError(f"--max-cost must be a positive amount in USD, not {args.max_cost}.")
    if args.poll is not None and not args.poll > 0:
        raise InputError(f"--poll must be positive, not {args.poll}.")
    if args.batch_api and args.concurrency is not None:
        raise InputError("--concurrency is for the online path; the Batch API runs it all.")


def _defaults(args: argparse.Namespace) -> dict[str, Any]:
    """Flags as default fields for every line (by option name; None = not given)."""
    values: dict[str, Any] = {
        opt.name: getattr(args, opt.name, None) for opt in OPTIONS if opt.kind is not list
    }
    values["references"] = [str(Path(p).resolve()) for p in args.references] or None
    values["prompt"] = args.prompt if not args.images else None
    return values


def _validate(args: argparse.Namespace, settings: Settings) -> Any:
    from ..batch.jobfile import lines_from_images, read_job_file, validate_lines

    if args.images and args.jobs:
        raise InputError("Give a job file or --images, not both.")
    if args.images:
        lines = lines_from_images(args.images, args.prompt, args.selections)
        base = Path.cwd()
    elif args.jobs:
        if args.selections:
            raise InputError("--selections goes with --images; a job file names its selections.")
        lines = read_job_file(Path(args.jobs))
        base = Path(args.jobs).resolve().parent
    else:
        raise InputError("batch needs a job file (JSONL or CSV) or --images GLOB --prompt P.")
    if not lines:
        raise InputError("The job file has no jobs.")
    validated = validate_lines(
        lines, defaults=_defaults(args), settings=settings, out_dir=args.out, base_dir=base
    )
    if validated.errors:
        for error in validated.errors:
            write_err(f"invalid: {error}\n")
        if not args.skip_invalid or not validated.jobs:
            raise _Refused(
                InputError(
                    f"{len(validated.errors)} of {len(lines)} lines are invalid; nothing was sent.",
                    hint="Fix them, or pass --skip-invalid to run the valid ones.",
                ),
                invalid_rows(validated),
            )
        write_err(f"skipping {len(validated.errors)} invalid line(s) (--skip-invalid)\n")
    return validated


# --- online ------------------------------------------------------------------------------------


def _online(args: argparse.Namespace, settings: Settings, validated: Any, journal: Any) -> int:
    from ..batch.online import DEFAULT_CONCURRENCY, OnlineRun, make_client
    from ..batch.rows import exit_code
    from ..history import History
    from .batch_report import Progress, confirm

    concurrency = args.concurrency or DEFAULT_CONCURRENCY
    client, backoff = make_client(settings, concurrency)
    progress = Progress(args)
    run = OnlineRun(
        validated.jobs,
        journal,
        settings,
        history=History.from_settings(settings),
        client=client,
        backoff=backoff,
        concurrency=concurrency,
        max_cost=args.max_cost,
        skip_interrupted=args.skip_interrupted,
        on_row=progress.row,
        on_notice=lambda text: write_err(f"warning: {text}\n"),
    )
    progress.quiet = True  # rows settled by earlier runs are summarised, not listed
    todo = run.triage()
    progress.quiet = False
    previous = [r for r in run.ordered_rows()]
    spent_before = sum(r.cost_usd or 0.0 for r in previous)
    estimate = round(sum(job.estimate_usd for job in todo), 4)
    progress.announce(len(validated.jobs), todo, previous, estimate, discount=None)
    if args.max_cost is not None and spent_before + estimate > args.max_cost + 1e-9:
        raise _Refused(
            InputError(
                f"The estimate {precise_money(estimate)} (plus {precise_money(spent_before)} already spent) exceeds "
                f"--max-cost {precise_money(args.max_cost)}; nothing was sent.",
                hint="Raise --max-cost, lower quality or resolution, or split the job file.",
            ),
            invalid_rows(validated) + run.ordered_rows(),
        )
    if todo and not confirm(args, len(todo), estimate):
        write_err("Nothing was sent.\n")
        return EXIT_BAD_INPUT
    started = time.monotonic()
    try:
        rows = run.run(todo, on_tick=progress.tick)
    except KeyboardInterrupt:
        progress.end()
        rows = run.ordered_rows()
        report(args, invalid_rows(validated) + rows, started=started, **_waits(backoff))
        write_err("stopped; run the same command again to finish the rest\n")
        return EXIT_CANCELLED
    progress.end()
    rows = invalid_rows(validated) + rows
    report(args, rows, started=started, budget_hit=run.budget_hit, **_waits(backoff))
    return exit_code(rows) if rows else EXIT_OK


def _waits(backoff: Any) -> dict[str, Any]:
    """The shared back-off's record: how often a 429 paused every worker, and when."""
    return {
        "waits": backoff.holds,
        "rate_limit_holds": [{"at": at, "seconds": round(s, 3)} for at, s in backoff.log],
    }


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def stdin_is_tty() -> bool:
    return is_tty(sys.stdin)


__all__ = ["add_batch_command", "cmd_batch", "say_json", "write_out"]
