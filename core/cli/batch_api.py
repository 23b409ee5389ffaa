"""``batch --batch-api`` (submit), ``batch status DIR``, ``batch fetch DIR [--wait]``, ``batch cancel DIR``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_OK, InputError
from ..pricing import precise_money
from ..settings import Settings
from .batch_report import Progress, confirm, invalid_rows, report
from .console import write_err, write_out
from .runtime import say_json


def _api(settings: Settings) -> Any:
    from ..client import ImageClient
    from ..client_batch import BatchApi
    from ..retry import RetryPolicy

    connection = settings.connection()
    client = ImageClient(connection, custom_models=settings.custom_models)
    # a create that may have reached the API is never repeated: it could make a second batch
    once = ImageClient(
        connection,
        custom_models=settings.custom_models,
        retry_policy=RetryPolicy(max_retries=0, rate_limit_retries=connection.max_retries),
    )
    return BatchApi(client, once)


def _state(folder: Path) -> Any:
    from ..batch.batchapi import STATE_FILE, BatchState
    from ..batch.state import Journal

    journal = Journal(folder)
    if not (journal.dir / STATE_FILE).exists():
        raise InputError(
            f"{folder} holds no Batch API run.",
            hint="Start one with: python -m core batch JOBS --out DIR --batch-api",
        )
    return BatchState(journal)


def submit(args: argparse.Namespace, settings: Settings, validated: Any, journal: Any) -> int:
    from ..batch.batchapi import batch_estimate, discount
    from ..batch.batchapi import submit as submit_jobs

    full = round(sum(job.estimate_usd for job in validated.jobs), 4)
    estimate = batch_estimate(full)
    Progress(args).announce(len(validated.jobs), validated.jobs, [], estimate, discount=discount())
    if args.max_cost is not None and estimate > args.max_cost + 1e-9:
        raise InputError(
            f"The estimate {precise_money(estimate)} exceeds --max-cost {precise_money(args.max_cost)}; "
            "nothing was submitted.",
            hint="Raise --max-cost, lower quality or resolution, or split the job file.",
        )
    if validated.jobs and not confirm(args, len(validated.jobs), estimate):
        write_err("Nothing was submitted.\n")
        return EXIT_BAD_INPUT
    started = time.monotonic()
    api = _api(settings)
    rows = submit_jobs(
        validated.jobs,
        journal,
        settings,
        api,
        skip_interrupted=args.skip_interrupted,
        on_status=lambda text: write_err(text + "\n"),
    )
    if args.wait:
        return _fetch(
            args, settings, journal.out_dir, api, started, invalid=invalid_rows(validated)
        )
    report(args, invalid_rows(validated) + rows, started=started, batches=_batch_ids(journal))
    if not args.json:
        write_out(f"follow it with: python -m core batch status {journal.out_dir}\n")
    from ..batch.rows import exit_code

    return exit_code(invalid_rows(validated) + rows)


def _batch_ids(journal: Any) -> list[str]:
    from ..batch.batchapi import BatchState

    return [c["batch_id"] for c in BatchState(journal).chunks if c.get("batch_id")]


def cmd_status(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    from ..batch.batchapi import refresh

    state = _state(folder)
    views = refresh(state, _api(settings))
    if args.json:
        say_json(args, {"out": str(folder), "batches": views})
        return EXIT_OK
    for view in views:
        write_out(_status_line(view) + "\n")
    return EXIT_OK


def _status_line(view: dict[str, Any]) -> str:
    counts = view.get("request_counts") or {}
    text = (
        f"{view['id']}  {view['status']:<11} {counts.get('completed', 0)} completed, "
        f"{counts.get('failed', 0)} failed of {counts.get('total', view['lines'])}"
        f"  ({view['model']}, {view['endpoint']})"
    )
    if view.get("fetched"):
        text += "  fetched"
    for error in view.get("errors") or []:
        where = f" line {error['line']}" if error.get("line") else ""
        text += f"\n    error{where}: {error.get('message')}"
    return text


def cmd_fetch(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    from ..batch.state import Journal

    journal = Journal(folder)
    _state(folder)
    with journal.exclusive():
        return _fetch(args, settings, folder, _api(settings), time.monotonic())


def _fetch(
    args: argparse.Namespace,
    settings: Settings,
    folder: Path,
    api: Any,
    started: float,
    invalid: list[Any] | None = None,
) -> int:
    from ..batch.batchapi import fetch, refresh, wait
    from ..batch.rows import exit_code
    from ..history import History

    state = _state(folder)
    if args.wait:

        def show(views: list[dict[str, Any]]) -> None:
            for view in views:
                write_err(_status_line(view).splitlines()[0] + "\n")

        try:
            wait(state, api, args.poll, show)
        except KeyboardInterrupt:
            write_err("stopped waiting; the batch runs on at OpenAI (batch fetch DIR later)\n")
            return EXIT_CANCELLED
    else:
        refresh(state, api)
    progress = Progress(args)
    rows = fetch(state, api, settings, History.from_settings(settings), folder, on_row=progress.row)
    rows = (invalid or []) + rows
    args.out = folder
    report(args, rows, started=started, batches=[c.get("batch_id") for c in state.chunks])
    return exit_code(rows)


def cmd_cancel(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    from ..client_batch import TERMINAL_STATUSES

    state = _state(folder)
    api = _api(settings)
    cancelled = []
    for entry in state.chunks:
        if entry.get("batch_id") and entry.get("status") not in TERMINAL_STATUSES:
            batch = api.cancel(entry["batch_id"])
            entry["status"] = batch.get("status")
            cancelled.append({"id": entry["batch_id"], "status": entry["status"]})
    state.save()
    if args.json:
        say_json(args, {"out": str(folder), "batches": cancelled})
    else:
        for item in cancelled:
            write_out(f"{item['id']}  {item['status']}\n")
        write_out("what finished before the cancel: python -m core batch fetch DIR --wait\n")
    return EXIT_OK
