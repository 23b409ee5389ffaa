"""What ``batch`` shows: the estimate and confirmation, progress, the summary, ``--json``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..batch.state import write_file
from ..errors import EXIT_OK
from ..pricing import precise_money
from ..settings import Settings
from .console import redraw, write_err, write_out
from .runtime import say_json

BAR_WIDTH = 24


def _tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """A bar on a terminal (stdout, or stderr under --json), else one line per finished job."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = bool(args.json)
        self.stream = sys.stderr if self.json else sys.stdout
        self.bar = _tty(self.stream)
        self.lines = not self.json and not self.bar
        self.quiet = False
        self._drawn = False
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        (write_err if self.stream is sys.stderr else write_out)(text)

    def announce(
        self,
        total: int,
        todo: Sequence[Any],
        previous: Sequence[Any],
        estimate: float,
        *,
        discount: float | None,
    ) -> None:
        """How many jobs, how many settled before, what the rest should cost (to stderr)."""
        done = sum(1 for r in previous if r.status == "done")
        held = len(previous) - done
        parts = [f"{total} job(s)"]
        if previous:
            parts.append(f"{done} done by an earlier run")
        if held:
            parts.append(f"{held} held back (see below)")
        parts.append(f"{len(todo)} to send")
        note = f" with the Batch API's {discount:.0%} discount" if discount else ""
        write_err(
            f"{', '.join(parts)}; estimate {precise_money(estimate)}{note} (an upper bound)\n"
        )

    def row(self, row: Any) -> None:
        if self.quiet or not self.lines:
            return
        where = row.outputs[0] if row.outputs else ""
        error = f" {row.error.get('message')}" if row.error else ""
        with self._lock:
            write_out(
                f"line {row.line}: {row.status} {where} {precise_money(row.cost_usd)}{error}".rstrip()
                + "\n"
            )

    def tick(self, snap: Any) -> None:
        if not self.bar:
            return
        finished = snap.done + snap.failed
        filled = int(BAR_WIDTH * finished / snap.total) if snap.total else BAR_WIDTH
        width = shutil.get_terminal_size((100, 20)).columns
        text = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {snap.done} done, {snap.failed} failed, "
            f"{snap.remaining} remaining | {precise_money(snap.spent_usd)} spent | "
            f"ETA {_duration(snap.eta_s)}"
        )
        if snap.waits:
            text += f" | {snap.waits} rate-limit wait(s)"
        with self._lock:
            redraw(text[: width - 1], err=self.stream is sys.stderr)
            self._drawn = True

    def end(self) -> None:
        if self._drawn:
            self._write("\n")
            self._drawn = False


def confirm(args: argparse.Namespace, count: int, estimate: float) -> bool:
    """On a terminal, ask before spending (``--yes`` skips); elsewhere there is nobody to ask."""
    if args.yes or not _tty(sys.stdin):
        return True
    write_err(f"Send {count} job(s) for about {precise_money(estimate)}? [y/N] ")
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def invalid_rows(validated: Any) -> list[Any]:
    from ..batch.rows import Row, error_dict

    return [
        Row(e.line, "invalid", error=error_dict(e.message, "invalid_line"))
        for e in validated.errors
    ]


def report(args: argparse.Namespace, rows: Sequence[Any], *, started: float, **extra: Any) -> None:
    """The summary table (or the --json object) at the end of a run."""
    from ..batch.rows import STATUSES, totals

    error = extra.pop("error", None)
    summary = totals(rows, elapsed_s=time.monotonic() - started, **extra)
    if args.json:
        payload = {"out": str(args.out), "rows": [r.to_dict() for r in rows], "totals": summary}
        if error is not None:
            payload["error"] = error
        say_json(args, payload)
        return
    trouble = [r for r in rows if r.status != "done"]
    if trouble:
        write_out(f"{'line':>6}  {'status':<12} message\n")
        for r in trouble:
            message = (r.error or {}).get("message") or ""
            write_out(f"{r.line:>6}  {r.status:<12} {message}\n")
    write_out(f"{'status':<12} {'jobs':>6}\n")
    for status in STATUSES:
        if summary[status]:
            write_out(f"{status:<12} {summary[status]:>6}\n")
    write_out(
        f"{'total':<12} {summary['jobs']:>6}   cost {precise_money(summary['cost_usd'])} "
        f"(this run {precise_money(summary['cost_this_run_usd'])}), estimate "
        f"{precise_money(summary['estimate_usd'])}, {_duration(summary['elapsed_s'])}\n"
    )


def dry_run(args: argparse.Namespace, settings: Settings, validated: Any) -> int:
    """Write each job's exact upload files (and, with --batch-api, the Batch JSONL)."""
    from ..batch.apply import prepare
    from ..jobs import build_request

    root = Path(args.out) / "dry-run"
    jobs_out = []
    lines = []
    for job in validated.jobs:
        prepared, _ = prepare(job, settings)
        folder = root / f"line-{job.line}"
        files = _write_upload(folder, prepared)
        request = build_request(prepared)
        description = {
            "line": job.line,
            "mode": prepared.plan.mode.value,
            "model": prepared.plan.model,
            "api_size": str(prepared.plan.api_size),
            "crop": list(prepared.plan.crop),
            "quality": request.quality,
            "n": request.n,
            "prompt": request.prompt,
            "outputs": [str(p) for p in job.outputs],
            "estimate_usd": prepared.estimate_usd,
            "files": {name: str(path) for name, path in files.items()},
        }
        write_file(folder / "job.json", json.dumps(description, indent=2).encode())
        jobs_out.append(description)
        if args.batch_api:
            from ..batch.batchapi import request_line

            lines.append(request_line(job, prepared))
    report_data: dict[str, Any] = {
        "out": str(args.out),
        "dry_run": True,
        "jobs": jobs_out,
        "estimate_usd": round(sum(j["estimate_usd"] for j in jobs_out), 4),
    }
    if args.batch_api:
        from ..batch.batchapi import batch_estimate, write_request_files

        report_data["batch_files"] = [str(p) for p in write_request_files(root, lines)]
        report_data["estimate_usd"] = batch_estimate(report_data["estimate_usd"])
    if args.json:
        say_json(args, report_data)
    else:
        for job in jobs_out:
            write_out(
                f"line {job['line']}: {job['mode']} {job['api_size']} {precise_money(job['estimate_usd'])}"
                f" -> {', '.join(job['files'].values())}\n"
            )
        for path in report_data.get("batch_files", []):
            write_out(f"batch file {path}\n")
        write_out(f"estimate {precise_money(report_data['estimate_usd'])}; nothing was sent\n")
    return EXIT_OK


def _write_upload(folder: Path, prepared: Any) -> dict[str, Path]:
    files = {}
    for name, data in (("image", prepared.upload.image_png), ("mask", prepared.upload.mask_png)):
        path = folder / f"{name}.png"
        if data is None:
            path.unlink(missing_ok=True)
            continue
        write_file(path, data)
        files[name] = path
    for i, ref in enumerate(prepared.spec.references, start=1):
        path = folder / f"reference-{i}{Path(ref.name).suffix or '.png'}"
        write_file(path, ref.data)
        files[f"reference-{i}"] = path
    return files
