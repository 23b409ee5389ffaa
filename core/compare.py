"""Compare models: the same job on several models or qualities, one request each, at once.

Each entry (``gpt-image-2:medium``, ``gpt-image-1.5``) becomes its own ``PreparedJob``, planned
for that model (a fixed-size model gets its own crop) from the same pixels, the same selection
and references; the summed estimate is known before anything is sent. The runs go out
concurrently, at most ``MAX_CONCURRENT`` at a time (image rate limits are a few requests a
minute on low tiers; a 429 is retried by the client after the server's Retry-After). Each run
is its own history entry, tagged with one ``compare_group`` id; one failing run never costs the
others their results.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from .client import CancelToken
from .errors import Cancelled, GptImageError, InputError, InternalError
from .geometry import Bounds, Extent
from .jobs import JobEvent, JobResult, JobSpec, PreparedJob, check_spec, prepare_job, run_job
from .models import capabilities
from .selection import SelectionMask
from .settings import Settings

#: Requests of one comparison in flight at once.
MAX_CONCURRENT = 3
MAX_ENTRIES = 8


def example_entries() -> str:
    """An example of what a comparison takes, from the model table (hosts' placeholders): the
    default model at the default quality beside the fast 2.5 model at its highest quality."""
    from .models import DEFAULT_MODEL, KNOWN_MODELS
    from .options import default

    other = next(
        (
            name
            for name, caps in KNOWN_MODELS.items()
            if name != DEFAULT_MODEL and not caps.snapshot_of
        ),
        DEFAULT_MODEL,
    )
    top = [q for q in capabilities(other).qualities if q != "auto"][-1]
    return f"{DEFAULT_MODEL}:{default('quality')}, {other}:{top}"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareEntry:
    """One model (and optionally quality) to run the job on."""

    model: str
    quality: str | None = None

    @classmethod
    def parse(cls, text: str) -> CompareEntry:
        """``MODEL`` or ``MODEL:QUALITY``; ``InputError`` for an empty part."""
        model, sep, quality = str(text).strip().partition(":")
        model, quality = model.strip(), quality.strip()
        if not model or (sep and not quality):
            raise InputError(f"--compare takes MODEL or MODEL:QUALITY, not {text!r}.")
        return cls(model, quality or None)

    @property
    def suffix(self) -> str:
        """``<model>[-<quality>]`` as used in output file names (safe on every file system)."""
        text = self.model if self.quality is None else f"{self.model}-{self.quality}"
        return _SAFE.sub("_", text)

    def label(self) -> str:
        return self.model if self.quality is None else f"{self.model}:{self.quality}"


def parse_entries(texts: Sequence[str], settings: Settings) -> list[CompareEntry]:
    """Entries checked up front: known models, no duplicates, at most ``MAX_ENTRIES``."""
    entries = [CompareEntry.parse(t) for t in texts]
    if len(entries) > MAX_ENTRIES:
        raise InputError(f"{len(entries)} models to compare; at most {MAX_ENTRIES}.")
    seen: set[tuple[str, str | None]] = set()
    for entry in entries:
        capabilities(entry.model, settings.custom_models)  # InputError naming the model
        key = (entry.model, entry.quality)
        if key in seen:
            raise InputError(f"--compare {entry.label()} is given twice.")
        seen.add(key)
    if len({e.suffix for e in entries}) != len(entries):
        raise InputError("Two --compare entries would write the same file name.")
    return entries


def spec_for_entry(spec: JobSpec, entry: CompareEntry) -> JobSpec:
    return replace(spec, model=entry.model, quality=entry.quality or spec.quality)


def prepare_compare(
    spec: JobSpec,
    entries: Sequence[CompareEntry],
    canvas: Extent | None,
    selection: SelectionMask | None,
    read_crop: Callable[[Bounds], Image.Image] | None,
    settings: Settings,
) -> list[PreparedJob]:
    """One prepared job per entry; every check runs before anything is sent. Main thread."""
    if not entries:
        raise InputError("Nothing to compare: give at least one model.")
    group = f"cmp-{secrets.token_hex(4)}"
    cache: dict[Bounds, Image.Image] = {}

    def read_once(bounds: Bounds) -> Image.Image:
        # models that share a crop read its pixels once
        if bounds not in cache:
            assert read_crop is not None
            cache[bounds] = read_crop(bounds)
        return cache[bounds]

    prepared = []
    for position, entry in enumerate(entries):
        one = check_spec(spec_for_entry(spec, entry), settings)
        job = prepare_job(one, canvas, selection, read_once if read_crop else None, settings)
        fields = {"compare_group": group, "compare_entry": entry.label(), "compare_index": position}
        prepared.append(replace(job, record_fields={**dict(job.record_fields), **fields}))
    return prepared


def total_estimate(prepared: Sequence[PreparedJob]) -> float:
    """What the whole comparison is estimated to cost (rounded up to 1/100 cent like each one)."""
    return round(sum(p.estimate_usd for p in prepared) + 1e-12, 4)


@dataclass(frozen=True)
class CompareRun:
    """How one entry went: its result, or the error it ended with."""

    entry: CompareEntry
    prepared: PreparedJob
    result: JobResult | None
    error: GptImageError | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class CompareOutcome:
    """All runs of a comparison, read like one ``JobResult`` where hosts need a summary."""

    runs: tuple[CompareRun, ...]

    @property
    def results(self) -> list[JobResult]:
        return [run.result for run in self.runs if run.result is not None]

    @property
    def failed(self) -> list[CompareRun]:
        return [run for run in self.runs if run.result is None]

    @property
    def failure(self) -> GptImageError | None:
        """The error to report when no run came back: one that says its request may have
        been billed first (a cancel that left a request at the API must say so, whichever
        run it was), else the first run's."""
        errors = [run.error for run in self.failed if run.error is not None]
        billed = [error for error in errors if error.details.get("may_be_billed")]
        return (billed or errors or [None])[0]

    @property
    def cost_usd(self) -> float | None:
        known = [r.cost_usd for r in self.results if r.cost_usd is not None]
        return round(sum(known), 6) if known else None

    @property
    def estimate_usd(self) -> float:
        return total_estimate([run.prepared for run in self.runs])

    @property
    def elapsed_s(self) -> float:
        return max((run.seconds for run in self.runs), default=0.0)

    @property
    def images(self) -> list[Any]:
        return [image for r in self.results for image in r.images]

    @property
    def patches(self) -> list[Any]:
        return [patch for r in self.results for patch in r.patches]

    @property
    def history_id(self) -> str | None:
        return self.results[0].history_id if self.results else None

    def where_kept(self) -> str:
        kept = [r.where_kept() for r in self.results]
        return "; ".join(kept) or "nowhere: every run failed"

    def after_cancel(self) -> tuple[bool | None, str]:
        """What a cancel left of this comparison, run by run (``job_handle.cancelled_after``
        asks): the runs that finished were billed and are in History, but a run cut off while
        its request was at the API may still be billed, and one never sent was not, so one
        sentence for the whole comparison would be untrue for some of its runs."""
        finished = len(self.results)
        cut_off = unknown = unsent = 0
        for run in self.failed:
            billed = None if run.error is None else run.error.details.get("may_be_billed", False)
            if isinstance(run.error, InternalError) or billed is None:
                unknown += 1
            elif billed:
                cut_off += 1
            else:
                unsent += 1
        parts = []
        if finished:
            parts.append(
                f"{finished} had finished, so "
                + ("it was billed and is" if finished == 1 else "they were billed and are")
                + " kept in History"
            )
        if cut_off:
            parts.append(f"{cut_off} had reached the API and may still be billed")
        if unknown:
            parts.append(
                f"for {unknown}, whether the request reached the API (and is billed) is not "
                "known; History will show it"
            )
        if unsent:
            parts.append(
                f"{unsent} had not reached the API or had failed, so nothing was billed for "
                + ("it" if unsent == 1 else "them")
            )
        text = f"Of {len(self.runs)} runs, " + "; ".join(parts) + "."
        billed: bool | None = True if finished or cut_off else (None if unknown else False)
        return billed, text if parts else "Nothing was run, so nothing was billed."


def run_compare(
    prepared: Sequence[PreparedJob],
    entries: Sequence[CompareEntry],
    settings: Settings,
    *,
    client_factory: Callable[[], Any],
    on_event: Callable[[int, JobEvent], None] | None = None,
    on_run: Callable[[CompareRun], None] | None = None,
    cancel: CancelToken | None = None,
    history: Any = None,
    max_concurrent: int = MAX_CONCURRENT,
) -> list[CompareRun]:
    """Run every prepared job, ``max_concurrent`` at a time; returns the runs in entry order.

    ``on_event(position, event)`` and ``on_run(run)`` are called from worker threads. A cancel
    stops every run still going; runs that already finished keep their results.
    """
    cancel = cancel or CancelToken()
    lock = threading.Lock()

    def one(position: int) -> CompareRun:
        started = time.monotonic()
        job, entry = prepared[position], entries[position]
        result: JobResult | None = None
        error: GptImageError | None = None
        if cancel.cancelled:
            error = Cancelled()
        else:
            try:
                emit = (lambda e: on_event(position, e)) if on_event else None
                result = run_job(
                    job,
                    settings,
                    on_event=emit,
                    cancel=cancel,
                    history=history,
                    client=client_factory(),
                )
            except GptImageError as exc:
                error = exc
            except Exception as exc:  # a bug in one run must not hide the others' results
                log.info("Internal error in a compare run:\n%s", traceback.format_exc())
                error = InternalError.from_exception(exc, request_sent=None)
        run = CompareRun(entry, job, result, error, round(time.monotonic() - started, 3))
        if on_run is not None:
            with lock:
                on_run(run)
        return run

    workers = max(1, min(max_concurrent, len(prepared)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gpt-image-compare") as pool:
        return list(pool.map(one, range(len(prepared))))


__all__ = [
    "MAX_CONCURRENT",
    "CompareEntry",
    "CompareOutcome",
    "CompareRun",
    "parse_entries",
    "prepare_compare",
    "run_compare",
    "spec_for_entry",
    "total_estimate",
]
