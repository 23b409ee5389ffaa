"""The Batch API path: submit the jobs as Batch JSONL, follow the batches, fetch and apply results.

Submit: each job is prepared exactly as online (``prepare_job``), its request becomes one line
(``client_batch.request_body``), lines are grouped per endpoint and model (the API takes one of
each per batch) and split below the input-file limits, every file is kept in
``DIR/.gpt-image-batch/`` and uploaded (Files API, purpose ``batch``), and each batch's id is
recorded before the jobs are marked ``submitted`` in the journal.

Fetch: the output and error files are downloaded into the same folder first; then each returned
image goes through ``run_job`` with a client that replays the line's answer, so it lands in
history (inputs, images, usage) exactly as an online result does, before it is composited into
its output. Cost is the line's ``usage`` at the batch price. A line whose inputs changed since
submission keeps its images in ``DIR/.gpt-image-batch/unplaced/``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..client import CancelToken, ImageResult
from ..client_batch import (
    TERMINAL_STATUSES,
    BatchApi,
    LineResult,
    batch_line,
    parse_result_line,
    request_body,
)
from ..errors import ApiUnavailable, GptImageError, InputError
from ..history import History, image_extension
from ..jobs import PreparedJob, build_request, run_job
from ..pricing import actual_cost, batch_price, load_pricing
from ..settings import Settings
from .apply import prepare, write_outputs
from .jobfile import BatchJob, build_job, recipe_line
from .online import batch_fields
from .rows import Row, error_dict
from .state import Journal, write_file

STATE_FILE = "batch-api.json"
#: Stay well under the API's 200 MB per input file and 50,000 requests per batch.
MAX_FILE_BYTES = 190 * 1024 * 1024
MAX_LINES = 50_000


@dataclass(frozen=True)
class RequestLine:
    custom_id: str
    key: str
    url: str
    model: str
    data: bytes


def custom_id(job: BatchJob) -> str:
    return f"line-{job.line}-{job.key[:12]}"


def batch_estimate(usd: float) -> float:
    """An estimate at the Batch API's price (rounded up to 1/100 of a cent)."""
    discounted = batch_price(usd) or 0.0
    return math.ceil(discounted * 10_000 - 1e-9) / 10_000


def discount() -> float:
    return load_pricing().batch_discount


def request_line(job: BatchJob, prepared: PreparedJob, upload: Any = None) -> RequestLine:
    request = build_request(prepared)
    url, body = request_body(request, upload=upload)
    cid = custom_id(job)
    return RequestLine(cid, job.key, url, request.model, batch_line(cid, url, body))


def group_lines(lines: Iterable[RequestLine]) -> list[list[RequestLine]]:
    """One group per (endpoint, model), each split below the file and request limits."""
    groups: dict[tuple[str, str], list[list[RequestLine]]] = {}
    for line in lines:
        chunks = groups.setdefault((line.url, line.model), [[]])
        current = chunks[-1]
        size = sum(len(x.data) for x in current)
        if current and (len(current) >= MAX_LINES or size + len(line.data) > MAX_FILE_BYTES):
            current = []
            chunks.append(current)
        current.append(line)
    return [chunk for chunks in groups.values() for chunk in chunks if chunk]


def write_request_files(folder: Path, lines: Sequence[RequestLine], start: int = 1) -> list[Path]:
    paths = []
    for number, chunk in enumerate(group_lines(lines), start=start):
        path = Path(folder) / f"requests-{number}.jsonl"
        write_file(path, b"".join(line.data for line in chunk))
        paths.append(path)
    return paths


# --- state -------------------------------------------------------------------------------------


class BatchState:
    """``DIR/.gpt-image-batch/batch-api.json``: the batches made and the job behind each line."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.path = journal.dir / STATE_FILE
        self.data: dict[str, Any] = {"version": 1, "chunks": [], "lines": {}}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"The batch state {self.path} cannot be read: {exc}") from None

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return self.data["chunks"]

    @property
    def lines(self) -> dict[str, dict[str, Any]]:
        return self.data["lines"]

    def save(self) -> None:
        write_file(self.path, json.dumps(self.data, indent=2, default=str).encode("utf-8"))


# --- submit ------------------------------------------------------------------------------------


def submit(
    jobs: Sequence[BatchJob],
    journal: Journal,
    settings: Settings,
    api: BatchApi,
    *,
    skip_interrupted: bool = False,
    on_status: Callable[[str], None] | None = None,
) -> list[Row]:
    """Send the jobs not yet settled as batches; rows say ``submitted`` / earlier outcomes."""
    state = BatchState(journal)
    states = journal.states()
    rows: list[Row] = []
    todo: list[tuple[BatchJob, RequestLine]] = []
    upload = _image_uploader(api)
    for job in jobs:
        known = states.get(job.key)
        row = Row(job.line, "submitted", job.key, estimate_usd=batch_estimate(job.estimate_usd))
        if known is not None and known.event == "done" and all(p.exists() for p in job.outputs):
            row.status, row.previous = "done", True
            row.outputs, row.cost_usd = list(known.outputs), known.cost_usd
            row.history_id = known.history_id
        elif known is not None and known.event == "submitted":
            row.previous = True
        elif (
            known is not None
            and known.event in ("started", "failed")
            and (known.sent or known.may_be_billed)
            and skip_interrupted
        ):
            row.status, row.previous = "interrupted", True
            row.error = error_dict(
                "An earlier online run may have sent this job without getting an answer; "
                "it was not submitted again (--skip-interrupted).",
                "interrupted",
                hint="Run without --skip-interrupted to submit it anyway.",
            )
        else:
            try:
                prepared, _ = prepare(job, settings)
                todo.append((job, request_line(job, prepared, upload)))
            except GptImageError as error:
                row.status, row.error = "failed", error.to_dict()
        rows.append(row)
    by_key = {job.key: job for job, _ in todo}
    for chunk in group_lines(line for _, line in todo):
        entry = _send_chunk(state, api, chunk, by_key, on_status)
        for line in chunk:
            journal.append(
                "submitted",
                line.key,
                line=by_key[line.key].line,
                batch_id=entry["batch_id"],
                custom_id=line.custom_id,
            )
    return rows


def _image_uploader(api: BatchApi) -> Callable[[str, bytes, str], str]:
    def upload(name: str, data: bytes, mime: str) -> str:
        return api.upload(name, data, "vision", mime)

    return upload


def _send_chunk(
    state: BatchState,
    api: BatchApi,
    chunk: list[RequestLine],
    jobs: dict[str, BatchJob],
    on_status: Callable[[str], None] | None,
) -> dict[str, Any]:
    number = len(state.chunks) + 1
    name = f"requests-{number}.jsonl"
    data = b"".join(line.data for line in chunk)
    write_file(state.journal.dir / name, data)
    entry: dict[str, Any] = {
        "number": number,
        "file": name,
        "endpoint": chunk[0].url,
        "model": chunk[0].model,
        "custom_ids": [line.custom_id for line in chunk],
        "input_file_id": None,
        "batch_id": None,
        "status": None,
        "fetched": False,
        "submitted_at": None,
    }
    for line in chunk:
        job = jobs[line.key]
        state.lines[line.custom_id] = {
            "key": line.key,
            "line": job.line,
            "chunk": number,
            "recipe": job.recipe,
            "estimate_usd": job.estimate_usd,
        }
    state.chunks.append(entry)
    state.save()
    entry["input_file_id"] = api.upload(name, data, "batch")
    state.save()
    batch = api.create(entry["input_file_id"], entry["endpoint"], {"gpt_image_batch": f"{number}"})
    entry.update(batch_id=batch["id"], status=batch.get("status"), submitted_at=time.time())
    state.save()
    if on_status is not None:
        on_status(f"batch {batch['id']}: {len(chunk)} request(s) to {entry['endpoint']}")
    return entry


def recover_unsent(state: BatchState, api: BatchApi) -> None:
    """A chunk whose batch was being created when the run died: find it, or create it now."""
    for entry in state.chunks:
        if entry.get("batch_id") or not entry.get("input_file_id"):
            continue
        batch = api.find(entry["input_file_id"]) or api.create(
            entry["input_file_id"], entry["endpoint"], {"gpt_image_batch": str(entry["number"])}
        )
        entry.update(batch_id=batch["id"], status=batch.get("status"), submitted_at=time.time())
        state.save()
        for cid in entry["custom_ids"]:
            info = state.lines[cid]
            state.journal.append(
                "submitted", info["key"], line=info["line"], batch_id=batch["id"], custom_id=cid
            )


# --- status ------------------------------------------------------------------------------------


def refresh(state: BatchState, api: BatchApi) -> list[dict[str, Any]]:
    """Every batch's current state from the API (recorded in the state file)."""
    recover_unsent(state, api)
    views = []
    for entry in state.chunks:
        if not entry.get("batch_id"):
            continue
        batch = api.retrieve(entry["batch_id"])
        entry["status"] = batch.get("status")
        entry["request_counts"] = batch.get("request_counts")
        entry["output_file_id"] = batch.get("output_file_id")
        entry["error_file_id"] = batch.get("error_file_id")
        entry["errors"] = (batch.get("errors") or {}).get("data") if batch.get("errors") else None
        views.append(
            {
                "id": entry["batch_id"],
                "status": entry["status"],
                "endpoint": entry["endpoint"],
                "model": entry["model"],
                "request_counts": entry["request_counts"],
                "output_file_id": entry["output_file_id"],
                "error_file_id": entry["error_file_id"],
                "errors": entry["errors"],
                "fetched": entry.get("fetched", False),
                "lines": len(entry["custom_ids"]),
            }
        )
    state.save()
    return views


def wait(
    state: BatchState,
    api: BatchApi,
    poll_s: float,
    on_status: Callable[[list[dict[str, Any]]], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[dict[str, Any]]:
    """Poll until every batch has ended (Ctrl-C stops waiting; the batches run on)."""
    token = cancel or CancelToken()
    while True:
        views = refresh(state, api)
        if on_status is not None:
            on_status(views)
        if all(v["status"] in TERMINAL_STATUSES for v in views):
            return views
        if token.wait(poll_s):
            return views


# --- fetch -------------------------------------------------------------------------------------


class _Replay:
    """A client whose answer is a Batch API line: ``run_job`` stores and maps it as usual."""

    def __init__(self, result: LineResult, request_id: str | None) -> None:
        self._result = result
        self._request_id = request_id

    def run(
        self,
        request: Any,
        *,
        on_partial: Any = None,
        on_image: Any = None,
        cancel: Any = None,
        on_sent: Any = None,  # never called: this request went out with the batch
    ) -> ImageResult:
        for index, data in enumerate(self._result.images):
            if on_image is not None:
                on_image(index, data)
        return ImageResult(
            images=list(self._result.images),
            request_id=self._request_id,
            usage=self._result.usage,
            size=self._result.size,
            output_format=self._result.output_format or request.output_format,
            elapsed_s=0.0,
        )


def fetch(
    state: BatchState,
    api: BatchApi,
    settings: Settings,
    history: History,
    out_dir: Path,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Download and apply every ended batch not fetched yet; rows for every line."""
    journal = state.journal
    known = journal.states()
    rows: dict[str, Row] = {}
    for entry in state.chunks:
        status = entry.get("status")
        if status not in TERMINAL_STATUSES:
            for cid in entry["custom_ids"]:
                info = state.lines[cid]
                row = Row(info["line"], "submitted", info["key"])
                row.estimate_usd = batch_estimate(info.get("estimate_usd") or 0.0)
                row.error = error_dict(f"Batch {entry.get('batch_id')} is {status}.", "pending")
                rows[cid] = row
            continue
        results = _download(journal, api, entry)
        for cid in entry["custom_ids"]:
            info = state.lines[cid]
            previous = known.get(info["key"])
            if (
                previous is not None
                and previous.event in ("done", "failed")
                and entry.get("fetched")
            ):
                row = Row(info["line"], previous.event, info["key"], previous=True)
                row.outputs, row.cost_usd = list(previous.outputs), previous.cost_usd
                row.history_id, row.error = previous.history_id, previous.error
            else:
                row = _apply_line(
                    cid, info, entry, results.get(cid), settings, history, out_dir, journal
                )
            row.estimate_usd = batch_estimate(info.get("estimate_usd") or 0.0)
            rows[cid] = row
            if on_row is not None:
                on_row(row)
        entry["fetched"] = True
        state.save()
    return sorted(rows.values(), key=lambda r: r.line)


def _download(journal: Journal, api: BatchApi, entry: dict[str, Any]) -> dict[str, LineResult]:
    """The output and error files, saved beside the requests before anything is read."""
    results: dict[str, LineResult] = {}
    for kind in ("output", "error"):
        file_id = entry.get(f"{kind}_file_id")
        if not file_id:
            continue
        path = journal.dir / f"{kind}-{entry['number']}.jsonl"
        if not path.exists():
            write_file(path, api.content(file_id))
        for raw in path.read_bytes().splitlines():
            parsed = parse_result_line(raw)
            if parsed is not None:
                results[parsed.custom_id] = parsed
    return results


def _apply_line(
    cid: str,
    info: dict[str, Any],
    entry: dict[str, Any],
    result: LineResult | None,
    settings: Settings,
    history: History,
    out_dir: Path,
    journal: Journal,
) -> Row:
    key, line = info["key"], info["line"]
    row = Row(line, "failed", key)
    if result is None:
        errors = entry.get("errors") or []
        reason = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        error = ApiUnavailable(
            f"Batch {entry['batch_id']} ended {entry['status']} without running this line."
            + (f" {reason}" if reason else ""),
            code=f"batch_{entry['status']}",
        )
        return _failed(row, journal, error)
    row.request_id = result.request_id
    if result.error is not None:
        return _failed(row, journal, result.error)
    try:
        job = build_job(recipe_line(info["recipe"]), {}, settings, out_dir, Path("/"))
        if job.key != key:
            raise InputError("Its input files or options changed since it was submitted.")
        prepared, canvas = prepare(job, settings)
    except GptImageError as error:
        kept = _keep_unplaced(journal, cid, result.images)
        error.hint = f"The returned image(s) are kept in {kept}."
        return _failed(row, journal, error)
    prepared = replace(
        prepared, record_fields={**prepared.record_fields, **batch_fields(job, journal)}
    )
    replay = _Replay(result, result.request_id)
    try:
        done = run_job(prepared, settings, history=history, client=replay)  # type: ignore[arg-type]
    except GptImageError as error:
        return _failed(row, journal, error)
    cost = batch_price(actual_cost(result.usage, prepared.plan.model))
    history.update(
        done.history_id,
        cost_usd=cost,
        batch={
            **done_batch_fields(history, done.history_id),
            "id": entry["batch_id"],
            "custom_id": cid,
            "discount": discount(),
        },
    )
    row.history_id, row.cost_usd = done.history_id, cost
    try:
        paths = write_outputs(job, canvas, done, history)
    except GptImageError as error:
        error.hint = f"The result is kept in history {done.history_id}."
        return _failed(row, journal, error, history_id=done.history_id, cost_usd=cost)
    row.status, row.outputs = "done", [str(p) for p in paths]
    journal.append(
        "done",
        key,
        line=line,
        history_id=done.history_id,
        outputs=row.outputs,
        cost_usd=cost,
        request_id=result.request_id,
        batch_id=entry["batch_id"],
    )
    return row


def done_batch_fields(history: History, history_id: str) -> dict[str, Any]:
    return dict(history.get(history_id).data.get("batch") or {})


def _failed(row: Row, journal: Journal, error: GptImageError, **fields: Any) -> Row:
    row.status, row.error = "failed", error.to_dict()
    journal.append("failed", row.key, line=row.line, error=row.error, **fields)
    return row


def _keep_unplaced(journal: Journal, cid: str, images: list[bytes]) -> Path:
    folder = journal.dir / "unplaced"
    for index, data in enumerate(images, start=1):
        write_file(folder / f"{cid}-{index}.{image_extension(data)}", data)
    return folder
