"""The Batch API for image requests: ``POST /v1/batches``, ``GET /v1/batches[/{id}]``,
``POST /v1/batches/{id}/cancel``, with the input and output files in the Files API.

A batch moves one step each time it is retrieved, so a test controls time by polling:
``validating → in_progress → finalizing → completed``. Validation is the real API's: the input
file has purpose ``batch``; each line is a JSON object with a unique ``custom_id``, ``method``
POST, the batch's ``url`` and a ``body``; one model per file; at most 50,000 lines. A bad file
fails the batch with ``errors.data`` naming the line. Lines run like the Images API (the same
validation, images and usage); edits take the JSON form (``images: [{"image_url": data URL} |
{"file_id"}]``, ``mask: {...}``). Non-2xx answers go to the error file with their response,
as the real API does.

Faults, written into any line's prompt: ``[[batch:fail]]`` fails the whole batch at validation;
``[[batch:expire:K]]`` runs only the first K lines before the 24 h window "runs out" (the rest
are ``batch_expired``). ``[[fault:...]]`` tokens fail that line as they would fail a request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import imaging
from .api_errors import ApiError, missing
from .faults import error_for, fault_from_prompt
from .files_api import FileStore, jsonl

__all__ = ["BatchStore", "FileStore", "handle"]
from .multipart import Part
from .validation import validate_params

ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
ALL_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    *ENDPOINTS,
)
MAX_LINES = 50_000
TERMINAL = ("completed", "failed", "expired", "cancelled")
_BATCH_TOKEN = re.compile(r"\[\[batch:([a-z]+)(?::([0-9]+))?\]\]")
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.S)


@dataclass
class Batch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, Any] | None
    created_at: int
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "completed": 0, "failed": 0}
    )
    stamps: dict[str, int] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    usage: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.stamps.get("in_progress_at"),
            "expires_at": self.created_at + 24 * 3600,
            "finalizing_at": self.stamps.get("finalizing_at"),
            "completed_at": self.stamps.get("completed_at"),
            "failed_at": self.stamps.get("failed_at"),
            "expired_at": self.stamps.get("expired_at"),
            "cancelling_at": self.stamps.get("cancelling_at"),
            "cancelled_at": self.stamps.get("cancelled_at"),
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
            "usage": self.usage,
        }


class BatchStore:
    """Batches by id, and a log of every line that reached the model (billable)."""

    def __init__(self, files: FileStore) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._batches: dict[str, Batch] = {}
        self.executed: list[dict[str, Any]] = []  # {"batch", "custom_id", "prompt"}

    # endpoints -----------------------------------------------------------------------------
    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not payload.get(name):
                raise missing(name)
        endpoint = payload["endpoint"]
        if endpoint not in ALL_ENDPOINTS:
            raise ApiError(
                400,
                f"Invalid value: '{endpoint}'. Supported values are: "
                + ", ".join(f"'{e}'" for e in ALL_ENDPOINTS)
                + ".",
                param="endpoint",
                code="invalid_value",
            )
        if payload["completion_window"] != "24h":
            raise ApiError(
                400,
                f"Invalid value: '{payload['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        source = self.files.get(payload["input_file_id"])
        if source.purpose != "batch":
            raise ApiError(
                400,
                f"File {source.id} has purpose '{source.purpose}'; a batch input needs 'batch'.",
                param="input_file_id",
                code="invalid_value",
            )
        metadata = payload.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
            raise ApiError(400, "Invalid 'metadata': at most 16 string pairs.", param="metadata")
        batch = Batch(
            id="batch_" + uuid.uuid4().hex[:24],
            endpoint=endpoint,
            input_file_id=source.id,
            completion_window="24h",
            metadata=metadata,
            created_at=int(time.time()),
        )
        with self._lock:
            self._batches[batch.id] = batch
        return batch.to_json()

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        batch = self._get(batch_id)
        with self._lock:
            self._advance(batch)
            return batch.to_json()

    def cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self._get(batch_id)
        with self._lock:
            if batch.status in TERMINAL or batch.status == "finalizing":
                raise ApiError(
                    409,
                    f"Cannot cancel a batch with status '{batch.status}'.",
                    code="batch_not_cancellable",
                )
            batch.status = "cancelling"
            batch.stamps["cancelling_at"] = int(time.time())
            return batch.to_json()

    def listing(self) -> dict[str, Any]:
        with self._lock:
            data = [
                b.to_json() for b in sorted(self._batches.values(), key=lambda b: -b.created_at)
            ]
        return {"object": "list", "data": data, "has_more": False}

    def _get(self, batch_id: str) -> Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", code="batch_not_found")
        return batch

    # the life of a batch -------------------------------------------------------------------
    def _advance(self, batch: Batch) -> None:
        now = int(time.time())
        if batch.status == "validating":
            errors = self._validate(batch)
            if errors:
                batch.status, batch.errors = "failed", errors
                batch.stamps["failed_at"] = now
                return
            batch.status = "in_progress"
            batch.stamps["in_progress_at"] = now
        elif batch.status == "in_progress":
            expired = self._run(batch)
            if expired:
                batch.status = "expired"
                batch.stamps["expired_at"] = now
            else:
                batch.status = "finalizing"
                batch.stamps["finalizing_at"] = now
        elif batch.status == "finalizing":
            batch.status = "completed"
            batch.stamps["completed_at"] = now
        elif batch.status == "cancelling":
            self._write_results(
                batch, [], [self._unrun(line, "batch_cancelled") for line in batch.lines]
            )
            batch.status = "cancelled"
            batch.stamps["cancelled_at"] = now

    def _validate(self, batch: Batch) -> list[dict[str, Any]]:
        text = self.files.get(batch.input_file_id).data.decode("utf-8", errors="replace")
        errors: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()
        url = batch.endpoint
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                errors.append(
                    _line_error(
                        number, "invalid_json_line", "This line is not parseable as valid JSON."
                    )
                )
                continue
            if not isinstance(line, dict):
                errors.append(
                    _line_error(number, "invalid_request", "Each line must be a JSON object.")
                )
                continue
            custom_id = line.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                errors.append(
                    _line_error(number, "missing_required_parameter", "Missing 'custom_id'.")
                )
            elif custom_id in seen:
                errors.append(
                    _line_error(
                        number,
                        "duplicate_custom_id",
                        f"The custom_id '{custom_id}' is used more than once in the input file.",
                    )
                )
            else:
                seen.add(custom_id)
            if line.get("method") != "POST":
                errors.append(
                    _line_error(number, "invalid_method", "Only the POST method is supported.")
                )
            if line.get("url") != url:
                errors.append(
                    _line_error(
                        number,
                        "mismatched_endpoint",
                        f"The URL provided for this request does not match the batch endpoint {url}.",
                    )
                )
            body = line.get("body")
            if not isinstance(body, dict):
                errors.append(_line_error(number, "invalid_request", "Missing 'body' object."))
                continue
            models.add(str(body.get("model")))
            if _batch_token(body) == ("fail", None):
                errors.append(
                    _line_error(number, "invalid_request", "The batch failed (injected).")
                )
            lines.append({"line": number, **line})
        if not lines and not errors:
            errors.append(_line_error(None, "empty_file", "The input file has no requests."))
        if len(lines) > MAX_LINES:
            errors.append(
                _line_error(
                    None, "too_many_requests", f"A batch can hold at most {MAX_LINES} requests."
                )
            )
        if len(models) > 1:
            errors.append(
                _line_error(
                    None,
                    "model_mismatch",
                    "All requests in a batch must use the same model; found "
                    + ", ".join(sorted(models))
                    + ".",
                )
            )
        if url not in ENDPOINTS:
            errors.append(
                _line_error(None, "invalid_endpoint", f"The stand-in runs only {ENDPOINTS}.")
            )
        batch.lines = lines
        batch.counts["total"] = len(lines)
        batch.model = next(iter(models)) if len(models) == 1 else None
        return errors

    def _run(self, batch: Batch) -> bool:
        """Run every line (or the first K before an injected expiry); True when it expired."""
        limit = None
        for line in batch.lines:
            token = _batch_token(line["body"])
            if token[0] == "expire":
                limit = int(token[1] or 0)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        for index, line in enumerate(batch.lines):
            if limit is not None and index >= limit:
                failed.append(self._unrun(line, "batch_expired"))
                continue
            status, body, request_id = self._execute(batch, line)
            entry = {
                "id": "batch_req_" + uuid.uuid4().hex[:24],
                "custom_id": line["custom_id"],
                "response": {"status_code": status, "request_id": request_id, "body": body},
                "error": None,
            }
            if status == 200:
                done.append(entry)
                for key in usage:
                    usage[key] += int(body.get("usage", {}).get(key) or 0)
            else:
                failed.append(entry)
        batch.usage = usage
        self._write_results(batch, done, failed)
        return limit is not None and limit < len(batch.lines)

    def _write_results(
        self, batch: Batch, done: list[dict[str, Any]], failed: list[dict[str, Any]]
    ) -> None:
        batch.counts["completed"] = len(done)
        batch.counts["failed"] = len(failed)
        if done:
            out = self.files.add(
                f"{batch.id}_output.jsonl", "batch_output", jsonl(done), "application/jsonl"
            )
            batch.output_file_id = out.id
        if failed:
            err = self.files.add(
                f"{batch.id}_error.jsonl", "batch_output", jsonl(failed), "application/jsonl"
            )
            batch.error_file_id = err.id

    @staticmethod
    def _unrun(line: dict[str, Any], code: str) -> dict[str, Any]:
        message = {
            "batch_expired": "This request could not be executed before the completion window expired.",
            "batch_cancelled": "This request was not executed because the batch was cancelled.",
        }[code]
        return {
            "id": "batch_req_" + uuid.uuid4().hex[:24],
            "custom_id": line["custom_id"],
            "response": None,
            "error": {"code": code, "message": message},
        }

    def _execute(self, batch: Batch, line: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        request_id = "req_" + uuid.uuid4().hex[:24]
        body = dict(line["body"])
        try:
            answer = self._image(batch, body, edit=batch.endpoint.endswith("/edits"))
        except ApiError as error:
            return error.status, error.body(), request_id
        self.executed.append(
            {"batch": batch.id, "custom_id": line["custom_id"], "prompt": body.get("prompt")}
        )
        return 200, answer, request_id

    def _image(self, batch: Batch, body: dict[str, Any], *, edit: bool) -> dict[str, Any]:
        fault = fault_from_prompt(str(body.get("prompt") or ""))
        if fault is not None:
            error = error_for(fault, str(body.get("model") or "gpt-image-2"))
            if error is not None:
                raise error
        if body.get("stream"):
            raise ApiError(
                400,
                "Streaming is not supported in the Batch API.",
                param="stream",
                code="invalid_value",
            )
        images = body.pop("images", None) if edit else None
        mask = body.pop("mask", None) if edit else None
        for name in ("image", "image[]"):
            if name in body:
                raise ApiError(
                    400,
                    f"Unknown parameter: '{name}'. JSON edit requests take 'images'.",
                    param=name,
                    code="unknown_parameter",
                )
        params = validate_params(body, edit=edit)
        uploads: list[imaging.Upload] = []
        mask_upload = None
        if edit:
            if not isinstance(images, list) or not images:
                raise missing("images")
            parts = [self._part("image[]", ref, i) for i, ref in enumerate(images)]
            if mask is not None:
                parts.append(self._part("mask", mask, 0))
            uploads = imaging.read_images(parts)
            mask_upload = imaging.read_mask(parts, uploads[0])
        finals = [
            imaging.edit(params, uploads[0], mask_upload, i)
            if edit
            else imaging.generate(params, i)
            for i in range(params.n)
        ]
        return {
            "created": int(time.time()),
            "background": "transparent" if params.background == "transparent" else "opaque",
            "data": [
                {"b64_json": base64.b64encode(imaging.encode(img, params)).decode()}
                for img in finals
            ],
            "output_format": params.output_format,
            "quality": params.quality if params.quality != "auto" else "medium",
            "size": "{}x{}".format(*finals[0].size),
            "usage": imaging.usage(params, finals[0].size, uploads),
        }

    def _part(self, name: str, ref: Any, index: int) -> Part:
        param = "mask" if name == "mask" else f"images[{index}]"
        if not isinstance(ref, dict) or len(ref) != 1 or not ({"image_url", "file_id"} & set(ref)):
            raise ApiError(
                400,
                f"Invalid '{param}': provide exactly one of 'image_url' or 'file_id'.",
                param=param,
                code="invalid_value",
            )
        if "file_id" in ref:
            stored = self.files.get(str(ref["file_id"]))
            return Part(name, stored.filename, stored.content_type, stored.data)
        match = _DATA_URL.match(str(ref["image_url"]))
        if match is None:
            raise ApiError(
                400,
                f"Invalid '{param}.image_url': the stand-in takes base64 data URLs only.",
                param=param,
                code="invalid_image_url",
            )
        try:
            data = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                400,
                f"Invalid '{param}.image_url': broken base64.",
                param=param,
                code="invalid_image_url",
            ) from None
        return Part(name, f"{name}-{index}", match.group(1), data)


def _line_error(line: int | None, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _batch_token(body: dict[str, Any]) -> tuple[str | None, str | None]:
    match = _BATCH_TOKEN.search(str(body.get("prompt") or ""))
    return (match.group(1), match.group(2)) if match else (None, None)


# --- routing (called from server._Handler._api) ------------------------------------------------


def handle(handler: Any, method: str, route: str, query: dict[str, list[str]], body: bytes) -> bool:
    """Serve ``/files...`` and ``/batches...``; False when ``route`` is neither."""
    from . import files_api

    state = handler.state
    parts = route.strip("/").split("/")
    if parts[0] == "files":
        if method == "POST" and len(parts) == 1:
            payload = files_api.upload(state.files, handler.headers.get("Content-Type") or "", body)
        elif method == "GET" and len(parts) == 1:
            payload = files_api.listing(state.files, query)
        elif method == "GET" and len(parts) == 2:
            payload = state.files.get(parts[1]).to_json()
        elif method == "DELETE" and len(parts) == 2:
            payload = files_api.deleted(state.files, parts[1])
        elif method == "GET" and len(parts) == 3 and parts[2] == "content":
            data, content_type = files_api.content(state.files, parts[1])
            handler._send_raw(200, data, content_type)
            return True
        else:
            raise ApiError(404, f"Invalid URL ({method} /v1{route})")
    elif parts[0] == "batches":
        if method == "POST" and len(parts) == 1:
            payload = state.batches.create(_json(body))
        elif method == "GET" and len(parts) == 1:
            payload = state.batches.listing()
        elif method == "GET" and len(parts) == 2:
            payload = state.batches.retrieve(parts[1])
        elif method == "POST" and len(parts) == 3 and parts[2] == "cancel":
            payload = state.batches.cancel(parts[1])
        else:
            raise ApiError(404, f"Invalid URL ({method} /v1{route})")
    else:
        return False
    handler._send_json(200, payload)
    return True


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"")
    except ValueError:
        raise ApiError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return payload
