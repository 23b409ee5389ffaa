"""The Files API, as the Batch API needs it: ``POST /v1/files`` (multipart ``file`` + ``purpose``),
``GET /v1/files``, ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``, ``DELETE /v1/files/{id}``.

Files live in memory for the stand-in's lifetime. Checks follow the real API: ``purpose`` is
required and one of the known values, a batch input must be a ``.jsonl`` file of at most 200 MB
with one JSON object per line, and unknown ids are 404 with the API's wording.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .api_errors import ApiError, missing
from .multipart import parse_multipart

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes = field(repr=False)
    created_at: int
    content_type: str = "application/octet-stream"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


class FileStore:
    """Uploaded and generated (batch output) files by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}

    def add(self, filename: str, purpose: str, data: bytes, content_type: str) -> StoredFile:
        stored = StoredFile(
            id="file-" + uuid.uuid4().hex[:24],
            filename=filename,
            purpose=purpose,
            data=data,
            created_at=int(time.time()),
            content_type=content_type,
        )
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(
                404,
                f"No such File object: {file_id}",
                param="id",
                code=None,
            )
        return stored

    def delete(self, file_id: str) -> None:
        self.get(file_id)
        with self._lock:
            self._files.pop(file_id, None)

    def all(self) -> list[StoredFile]:
        with self._lock:
            return sorted(self._files.values(), key=lambda f: f.created_at, reverse=True)


def upload(store: FileStore, content_type: str, body: bytes) -> dict[str, Any]:
    """``POST /v1/files``: the multipart upload, checked like the real API checks it."""
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, "Invalid Content-Type header: expected multipart/form-data.")
    parts = parse_multipart(content_type, body)
    fields = {p.name: p for p in parts}
    purpose_part = fields.get("purpose")
    if purpose_part is None or purpose_part.is_file:
        raise missing("purpose")
    purpose = purpose_part.text()
    if purpose not in PURPOSES:
        raise ApiError(
            400,
            f"Invalid value for 'purpose': {purpose!r}. Supported values are "
            + ", ".join(f"'{p}'" for p in PURPOSES)
            + ".",
            param="purpose",
            code="invalid_value",
        )
    file_part = fields.get("file")
    if file_part is None or not file_part.is_file:
        raise missing("file")
    data = file_part.data
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(400, "File is too large. The maximum file size is 512 MB.", param="file")
    if purpose == "batch":
        _check_batch_file(file_part.filename or "", data)
    stored = store.add(
        file_part.filename or "upload",
        purpose,
        data,
        file_part.content_type or "application/octet-stream",
    )
    return stored.to_json()


def _check_batch_file(filename: str, data: bytes) -> None:
    if not filename.endswith(".jsonl"):
        raise ApiError(
            400,
            "Invalid file format for Batch API. Must be .jsonl",
            param="file",
            code="invalid_file_format",
        )
    if len(data) > MAX_BATCH_FILE_BYTES:
        raise ApiError(
            400,
            "The batch input file is larger than the 200 MB limit.",
            param="file",
            code="file_too_large",
        )
    if not data.strip():
        raise ApiError(400, "The batch input file is empty.", param="file", code="empty_file")


def listing(store: FileStore, query: dict[str, list[str]]) -> dict[str, Any]:
    purpose = (query.get("purpose") or [None])[0]
    files = [f.to_json() for f in store.all() if purpose is None or f.purpose == purpose]
    return {"object": "list", "data": files, "has_more": False}


def content(store: FileStore, file_id: str) -> tuple[bytes, str]:
    stored = store.get(file_id)
    return stored.data, stored.content_type


def deleted(store: FileStore, file_id: str) -> dict[str, Any]:
    store.delete(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()
