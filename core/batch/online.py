"""The online path: K workers run the jobs through ``run_job``, sharing one client and one back-off.

Resuming: before anything is sent, every job is matched with what the folder's journal says
(see ``state``). A job that finished is not touched; one whose paid result reached history but
not its output file is written out from history; everything else is sent. A job that was on
its way to the API when an earlier run died (a ``kill -9`` mid-request: no answer, so no result
in history) is sent again with a warning that the lost attempt may have been billed, unless the
caller holds such jobs back (``skip_interrupted``).

Ctrl-C stops starting jobs and lets those in flight finish (their results are paid for); a
second Ctrl-C cancels them.

Budget: with ``max_cost`` a job starts only when the money spent so far, plus the estimates of
the jobs in flight, plus its own estimate stays within it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..backoff import SharedBackoff
from ..client import CancelToken, ImageClient
from ..errors import Cancelled, GptImageError, InputError
from ..history import History
from ..jobs import run_job
from ..retry import RetryPolicy
from ..settings import Settings
from .apply import outputs_from_history, prepare, write_outputs
from .jobfile import BatchJob
from .rows import Row, error_dict
from .state import JobState, Journal

log = logging.getLogger(__name__)

#: A 429 rate_limit_exceeded is never billed: a batch waits it out this many times per job.
RATE_LIMIT_RETRIES = 30
#: Default workers: a handful keeps a tier-1 key (5 images a minute) busy without a 429 storm.
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64


@dataclass
class Snapshot:
    """Progress for the bar: counts, money, time."""

    total: int
    done: int
    failed: int
    running: int
    remaining: int
    spent_usd: float
    elapsed_s: float
    eta_s: float | None
    waits: int  # 429 back-offs so far


class _Announcing:
    """The history, but each new record is announced (journalled) before the request leaves."""

    def __init__(self, history: History, on_create: Callable[[str], None]) -> None:
        self._history = history
        self._on_create = on_create

    def create(self, **fields: Any) -> Any:
        record = self._history.create(**fields)
        self._on_create(record.id)
        return record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._history, name)


class _CtrlC:
    """Ctrl-C counted, not raised, while a run waits for its workers.

    A KeyboardInterrupt lands at whichever bytecode the main thread is at when the signal is
    seen, and some of those lie outside any ``try`` of the wait loop (its test, its jump back):
    there it skipped the wait for the jobs in flight, and a result the API had already sent was
    never written down, so the next run sent that job again. A counting handler has no such
    gaps. Only in the main thread, and only over Python's own handler (an ignored SIGINT, or
    one a caller installed, is left alone).
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> _CtrlC:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class _Announced:
    """The shared client, journalling each request of one job just before it leaves."""

    def __init__(self, client: ImageClient, on_send: Callable[[], None]) -> None:
        self._client = client
        self._on_send = on_send

    def run(self, request: Any, **kwargs: Any) -> Any:
        return self._client.run(request, on_send=self._on_send, **kwargs)


def batch_fields(job: BatchJob, journal: Journal) -> dict[str, Any]:
    """What a batch job's history record says about where it came from (refine can use it)."""
    fields: dict[str, Any] = {
        "batch": {"out": str(journal.out_dir), "line": job.line, "key": job.key}
    }
    if job.image is not None:
        fields["source_path"] = str(job.image)
    return fields


def make_client(settings: Settings, concurrency: int) -> tuple[ImageClient, SharedBackoff]:
    """One client for all workers: the settings' retries, long patience for 429s, one gate."""
    backoff = SharedBackoff(concurrency)
    policy = RetryPolicy(max_retries=settings.max_retries, rate_limit_retries=RATE_LIMIT_RETRIES)
    client = ImageClient(
        settings.connection(),
        custom_models=settings.custom_models,
        retry_policy=policy,
        backoff=backoff,
    )
    return client, backoff


class OnlineRun:
    """One run over the batch's jobs; ``run()`` returns a row per job in line order."""

    def __init__(
        self,
        jobs: Sequence[BatchJob],
        journal: Journal,
        settings: Settings,
        *,
        history: History,
        client: ImageClient,
        backoff: SharedBackoff | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_cost: float | None = None,
        skip_interrupted: bool = False,
        on_row: Callable[[Row], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.journal = journal
        self.settings = settings
        self.history = history
        self.client = client
        self.backoff = backoff
        self.concurrency = max(1, min(MAX_CONCURRENCY, int(concurrency)))
        self.max_cost = max_cost
        self.skip_interrupted = skip_interrupted
        self.on_notice = on_notice
        self.resent: set[str] = set()  # keys sent again after an interrupted attempt
        self.on_row = on_row
        self.rows: dict[str, Row] = {}
        self._lock = threading.Lock()
        self._queue: deque[BatchJob] = deque()
        self._tokens: dict[str, CancelToken] = {}
        self._reserved: dict[str, float] = {}
        self._stopping = threading.Event()
        self._budget_hit = False
        self._started = time.monotonic()
        self._durations: list[float] = []

    # resume ---------------------------------------------------------------------------------
    def triage(self) -> list[BatchJob]:
        """Rows for what earlier runs settled; the jobs still to send, in line order."""
        states = self.journal.states()
        todo = []
        for job in self.jobs:
            state = states.get(job.key)
            row = self._settled(job, state) if state is not None else None
            if row is None:
                todo.append(job)
            else:
                self._finish(row, announce=False)
        return todo

    def _settled(self, job: BatchJob, state: JobState) -> Row | None:
        base = Row(job.line, "done", job.key, estimate_usd=job.estimate_usd, previous=True)
        base.history_id, base.request_id = state.history_id, state.request_id
        if state.event == "done" and all(p.exists() for p in job.outputs):
            base.outputs, base.cost_usd = [str(p) for p in job.outputs], state.cost_usd
            return base
        record = self._record(state.history_id)
        if record is not None and record.images:
            try:  # paid for and in history: write it out, send nothing
                paths = outputs_from_history(job, record, self.history)
            except GptImageError as error:
                base.status, base.error = "failed", error.to_dict()
                return base
            cost = record.data.get("cost_usd")
            self.journal.append(
                "done",
                job.key,
                line=job.line,
                history_id=record.id,
                outputs=[str(p) for p in paths],
                cost_usd=cost,
                request_id=record.data.get("request_id"),
                recovered=True,
            )
            base.outputs, base.cost_usd = [str(p) for p in paths], cost
            base.request_id = record.data.get("request_id")
            return base
        if state.event == "submitted":
            base.status = "submitted"
            base.error = error_dict(
                f"Submitted to the Batch API (batch {state.batch_id}); not sent online.",
                "submitted",
                hint="Get its result with: python -m core batch fetch DIR",
            )
            return base
        billed = state.may_be_billed or state.event == "done" or state.sent
        if billed and self.skip_interrupted:
            base.status = "interrupted"
            base.error = error_dict(
                "The request may have reached the API (and been billed) before the earlier "
                "run stopped, and no result arrived; it was not sent again (--skip-interrupted).",
                "interrupted",
                hint="Run without --skip-interrupted to send it once more.",
            )
            return base
        if billed:
            self.resent.add(job.key)
            self._notice(
                f"line {job.line}: done by an earlier run, but its output and its history copy "
                "are gone; sending it again (billed again)"
                if state.event == "done"
                else f"line {job.line}: was on its way to the API when an earlier run stopped "
                "and no result came back; sending it again (that attempt may have been billed)"
            )
        return None  # not settled: send it

    def _notice(self, text: str) -> None:
        if self.on_notice is not None:
            self.on_notice(text)

    def _record(self, history_id: str | None) -> Any:
        if not history_id:
            return None
        try:
            return self.history.get(history_id)
        except (InputError, OSError, KeyError, ValueError):
            return None

    # running --------------------------------------------------------------------------------
    def run(
        self, todo: Sequence[BatchJob], on_tick: Callable[[Snapshot], None] | None = None
    ) -> list[Row]:
        self._queue.extend(todo)
        workers = [
            threading.Thread(target=self._worker, name=f"gpt-image-batch-{i}", daemon=True)
            for i in range(min(self.concurrency, max(1, len(todo))))
        ]
        for worker in workers:
            worker.start()
        stopping = False
        with _CtrlC() as ctrl_c:
            try:
                while any(w.is_alive() for w in workers):
                    for worker in workers:
                        worker.join(0.1)
                    if ctrl_c.count > 1:  # the second Ctrl-C: abandon what is in flight
                        self.cancel()
                        for worker in workers:
                            worker.join(10.0)
                        raise KeyboardInterrupt
                    if ctrl_c.count and not stopping:
                        stopping = True
                        self._stopping.set()
                        self._notice(
                            f"stopping: finishing {len(self._tokens)} job(s) in flight "
                            "(their results are paid for); Ctrl-C again to abandon them"
                        )
                    if on_tick is not None:
                        on_tick(self.snapshot())
            finally:
                self._drain("pending")
        if stopping:
            raise KeyboardInterrupt
        return self.ordered_rows()

    def cancel(self) -> None:
        """Stop starting jobs and cancel those in flight (Ctrl-C)."""
        self._stopping.set()
        with self._lock:
            tokens = list(self._tokens.values())
        for token in tokens:
            token.cancel()

    def _next(self) -> BatchJob | None:
        with self._lock:
            while self._queue:
                if self._stopping.is_set():
                    return None
                job = self._queue.popleft()
                if self._within_budget(job):
                    self._reserved[job.key] = job.estimate_usd
                    self._tokens[job.key] = CancelToken()
                    return job
                self._budget_hit = True
                self._queue.appendleft(job)
                self._stopping.set()
                return None
            return None

    def _within_budget(self, job: BatchJob) -> bool:
        if self.max_cost is None:
            return True
        spent = sum(r.cost_usd or 0.0 for r in self.rows.values())
        # Estimates can be low (a size the price table scales): learn from what was billed.
        ratios = [
            r.cost_usd / r.estimate_usd
            for r in self.rows.values()
            if r.cost_usd and r.estimate_usd and not r.previous
        ]
        factor = max([1.0, *ratios])
        planned = spent + factor * (sum(self._reserved.values()) + job.estimate_usd)
        return planned <= self.max_cost + 1e-9

    def _worker(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            started = time.monotonic()
            try:
                row = self._run_one(job)
            except BaseException as exc:  # a bug: the job fails, the batch goes on
                log.exception("Batch line %d failed unexpectedly", job.line)
                row = Row(job.line, "failed", job.key, estimate_usd=job.estimate_usd)
                row.error = error_dict(f"Internal error: {type(exc).__name__}: {exc}", "internal")
            with self._lock:
                self._reserved.pop(job.key, None)
                self._tokens.pop(job.key, None)
                self._durations.append(time.monotonic() - started)
            self._finish(row)

    def _run_one(self, job: BatchJob) -> Row:
        row = Row(job.line, "failed", job.key, estimate_usd=job.estimate_usd)
        row.resent = job.key in self.resent
        token = self._tokens[job.key]
        try:
            prepared, canvas = prepare(job, self.settings)
        except GptImageError as error:  # nothing sent
            row.error = error.to_dict()
            self.journal.append("failed", job.key, line=job.line, error=row.error)
            return row
        row.estimate_usd = prepared.estimate_usd
        prepared = replace(
            prepared, record_fields={**prepared.record_fields, **batch_fields(job, self.journal)}
        )

        def started(history_id: str) -> None:
            row.history_id = history_id
            self.journal.append("started", job.key, line=job.line, history_id=history_id)

        history = _Announcing(self.history, started)
        client = _Announced(
            self.client, lambda: self.journal.append("sending", job.key, line=job.line)
        )
        try:
            result = run_job(prepared, self.settings, history=history, client=client, cancel=token)  # type: ignore[arg-type]
        except GptImageError as error:
            row.status = "cancelled" if isinstance(error, Cancelled) else "failed"
            row.error, row.request_id = error.to_dict(), error.request_id
            billed = bool(error.details.get("may_be_billed"))
            self.journal.append(
                "failed",
                job.key,
                line=job.line,
                history_id=row.history_id,
                error=row.error,
                may_be_billed=billed,
            )
            return row
        row.history_id, row.request_id, row.cost_usd = (
            result.history_id,
            result.request_id,
            result.cost_usd,
        )
        try:
            paths = write_outputs(job, canvas, result, self.history)
        except GptImageError as error:
            row.error = error.to_dict()
            row.error["hint"] = f"The result is kept in history {result.history_id}."
            self.journal.append(
                "failed", job.key, line=job.line, history_id=result.history_id, error=row.error
            )
            return row
        row.status, row.outputs = "done", [str(p) for p in paths]
        self.journal.append(
            "done",
            job.key,
            line=job.line,
            history_id=result.history_id,
            outputs=row.outputs,
            cost_usd=result.cost_usd,
            request_id=result.request_id,
        )
        return row

    # bookkeeping ------------------------------------------------------------------------------
    def _finish(self, row: Row, announce: bool = True) -> None:
        with self._lock:
            self.rows[row.key] = row
        if self.on_row is not None:
            self.on_row(row)

    def _drain(self, status: str) -> None:
        """Rows for jobs never started: held back by the budget, or stopped by a cancel."""
        while self._queue:
            job = self._queue.popleft()
            row = Row(job.line, status, job.key, estimate_usd=job.estimate_usd)
            if self._budget_hit:
                row.status = "skipped"
                row.error = error_dict(
                    f"Not sent: it would take the spend past --max-cost ${self.max_cost:.4f}.",
                    "max_cost",
                )
            else:
                row.error = error_dict("Not sent: the run was stopped first.", "not_sent")
            self._finish(row)

    @property
    def budget_hit(self) -> bool:
        return self._budget_hit

    def ordered_rows(self) -> list[Row]:
        with self._lock:
            return sorted(self.rows.values(), key=lambda r: r.line)

    def snapshot(self) -> Snapshot:
        with self._lock:
            rows = list(self.rows.values())
            running = len(self._tokens)
            durations = list(self._durations)
        done = sum(1 for r in rows if r.status == "done")
        failed = len(rows) - done
        remaining = len(self.jobs) - len(rows)
        eta = None
        if durations and remaining:
            eta = sum(durations) / len(durations) * remaining / self.concurrency
        return Snapshot(
            total=len(self.jobs),
            done=done,
            failed=failed,
            running=running,
            remaining=remaining,
            spent_usd=round(sum(r.cost_usd or 0.0 for r in rows), 6),
            elapsed_s=time.monotonic() - self._started,
            eta_s=eta,
            waits=self.backoff.holds if self.backoff is not None else 0,
        )
