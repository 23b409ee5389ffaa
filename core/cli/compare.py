"""``--compare MODEL[:QUALITY]`` on ``generate`` and ``edit``: one request per entry, at once.

Files: ``OUT-<model>[-<quality>].png`` (with ``-n N``: ``OUT-<model>[-<quality>]-<i>.png``).
``--json``: ``{"runs": [{"model", "quality", "outputs", "seconds", "cost_usd", "request_id",
"history_id", ...}], "estimate_usd": <sum>, ...}``. The summed estimate is worked out (and
logged) before anything is sent; a run that fails is reported with its error while the others
keep their files, and the exit code is then that error's.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, InputError
from ..geometry import Extent
from ..history import History
from ..pipeline import Mode
from ..pricing import precise_money
from ..settings import Settings
from .console import write_err
from .runtime import run_cancellable, say, say_json

log = logging.getLogger("core.cli")


def add_compare_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="MODEL[:QUALITY]",
        help="run the same job on this model (and quality) too; repeat for more. Writes "
        "OUT-<model>[-<quality>].png per entry, one request each, sent concurrently",
    )


def compare_outputs(out: Path, suffix: str, count: int, fmt: str = "png") -> list[Path]:
    """OUT-<suffix>.png, or OUT-<suffix>-1.png ... for several images."""
    from .jobs import output_paths

    (base,) = output_paths(out, 1, fmt)
    return output_paths(base.with_name(f"{base.stem}-{suffix}{base.suffix}"), count, fmt)


def cmd_compare(args: argparse.Namespace, settings: Settings, mode: str) -> int:
    from ..compare import parse_entries, prepare_compare, run_compare, total_estimate
    from .jobs import _edit_source, _image_client, _job_spec, check_outputs, with_timeout

    settings = with_timeout(args, settings)
    entries = parse_entries(args.compare, settings)
    canvas_pixels, selection, source_image = None, None, None
    if mode == Mode.GENERATE.value:
        spec = _job_spec(args, settings, mode)
        canvas = None
    else:
        if args.aspect:
            raise InputError("--aspect is for text-to-image; an edit keeps the image's shape.")
        source_image, selection, mode = _edit_source(args)  # as displayed, sRGB for the model
        canvas_pixels = source_image.pixels
        spec = _job_spec(args, settings, mode, source=Path(args.image).name)
        canvas = Extent(*canvas_pixels.size)
    read = (lambda bounds: canvas_pixels.crop(bounds.box)) if canvas_pixels is not None else None
    prepared = prepare_compare(spec, entries, canvas, selection, read, settings)
    if canvas_pixels is not None:
        source = str(Path(args.image).resolve())
        prepared = [
            replace(p, record_fields={**p.record_fields, "source_path": source}) for p in prepared
        ]
    outputs = [
        compare_outputs(args.output, e.suffix, p.spec.n, p.spec.output_format)
        for e, p in zip(entries, prepared, strict=True)
    ]
    for paths, one in zip(outputs, prepared, strict=True):
        check_outputs(paths, one, settings, source_image)  # before anything is sent
    estimate = total_estimate(prepared)
    line = f"estimate {precise_money(estimate)} for {len(prepared)} runs: " + ", ".join(
        f"{e.label()} {precise_money(p.estimate_usd)}"
        for e, p in zip(entries, prepared, strict=True)
    )
    log.info("%s", line)
    if not args.json:
        write_err(line + "\n")
    runs = run_cancellable(
        lambda cancel, _emit: run_compare(
            prepared,
            entries,
            settings,
            client_factory=lambda: _image_client(settings),
            cancel=cancel,
        ),
        waiting=f"waiting for the API ({len(entries)} jobs, timeout {settings.timeout_s:g} s)…",
    )
    reports, first_error = [], None
    for run, paths in zip(runs, outputs, strict=True):
        written: list[str] = []
        error = run.error
        if run.result is not None:
            try:
                written = _write_run(run, paths, source_image, settings)
            except InputError as exc:
                error = exc
        first_error = first_error or error
        reports.append(_run_report(run, written, error))
    report = {
        "runs": reports,
        "mode": prepared[0].plan.mode.value,
        "estimate_usd": estimate,
        "cost_usd": _sum_known(r["cost_usd"] for r in reports),
    }
    _print(args, report)
    return first_error.exit_code if first_error is not None else EXIT_OK


def _write_run(run: Any, paths: list[Path], source: Any, settings: Settings) -> list[str]:
    """One run's files: composited in IMG's own colour space and depth, like ``edit``."""
    from .jobs import composite_file, result_files, save_outputs

    result = run.result
    if source is None:
        files = result_files(paths, result)
    else:
        files = [
            (path, composite_file(source, patch, path))
            for path, patch in zip(paths, result.patches, strict=False)
        ]
    save_outputs(files, result, History.from_settings(settings))
    return [str(p) for p, _ in files]


def _run_report(run: Any, outputs: list[str], error: Any) -> dict[str, Any]:
    result, prepared = run.result, run.prepared
    return {
        "model": prepared.plan.model,
        "quality": prepared.spec.quality,
        "outputs": outputs,
        "seconds": round(result.elapsed_s if result is not None else run.seconds, 3),
        "cost_usd": result.cost_usd if result is not None else None,
        "request_id": result.request_id
        if result is not None
        else getattr(error, "request_id", None),
        "history_id": result.history_id if result is not None else None,
        "estimate_usd": prepared.estimate_usd,
        "api_size": str(prepared.plan.api_size),
        "returned_size": result.size if result is not None else None,
        "usage": result.usage if result is not None else None,
        "crop": list(prepared.plan.crop),
        "error": error.to_dict() if error is not None else None,
    }


def _sum_known(values: Any) -> float | None:
    known = [v for v in values if isinstance(v, (int, float))]
    return round(sum(known), 6) if known else None


def _print(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        say_json(args, report)
        return
    for run in report["runs"]:
        label = f"{run['model']} {run['quality']}"
        if run["error"] is not None:
            say(args, f"{label}: failed: {run['error'].get('message')}")
            continue
        for path in run["outputs"]:
            say(args, f"saved {path}")
        cost = run["cost_usd"]
        cost_text = precise_money(cost, "unknown")
        say(
            args,
            f"{label} {run['api_size']}: cost {cost_text}, {run['seconds']:.1f} s, "
            f"history {run['history_id']}",
        )
    total = report["cost_usd"]
    total_text = precise_money(total, "unknown")
    say(args, f"total cost {total_text}, estimate {precise_money(report['estimate_usd'])}")
