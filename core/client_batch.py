"""The Batch and Files APIs for image jobs: request lines, upload, create, status, results.

A batch line is the JSON form of the same request ``ImageClient.run`` would send (built and
validated by ``client_request.build_call``): generations as they are, edits with
``images: [{"image_url": data URL}]`` and ``mask: {"image_url": ...}``; an image too large for a
data URL is uploaded through the Files API and referenced as ``{"file_id"}``. Calls go through
``ImageClient.call`` (same retries, same error mapping); creating a batch is never retried after
it may have reached the API, so a batch is never made (and billed) twice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import client_errors as errs
from .client_request import build_call, lookup_caps
from .errors import ApiUnavailable, GptImageError

if TYPE_CHECKING:
    from .client import ImageClient, ImageRequest

#: The API's limit for one ``image_url`` (a base64 data URL), in characters.
MAX_DATA_URL = 20 * 1024 * 1024
COMPLETION_WINDOW = "24h"
TERMINAL_STATUSES = ("completed", "failed", "expired", "cancelled")

Uploader = Callable[[str, bytes, str], str]  # (name, data, mime) -> file id


def request_body(
    request: ImageRequest,
    custom_models: Mapping[str, str] | None = None,
    upload: Uploader | None = None,
) -> tuple[str, dict[str, Any]]:
    """``(url, body)`` of one batch line for ``request`` (``InputError`` when it is invalid)."""
    call = build_call(request, lookup_caps(request.model, custom_models))
    kwargs = dict(call.kwargs)
    kwargs.pop("stream", None)  # the Batch API does not stream
    kwargs.pop("partial_images", None)
    extra = kwargs.pop("extra_body", None) or {}
    body = {k: v for k, v in kwargs.items() if k not in ("image", "mask")}
    if call.endpoint == "edits":
        files = kwargs["image"] if isinstance(kwargs["image"], list) else [kwargs["image"]]
        body["images"] = [_image_ref(name, data, mime, upload) for name, data, mime in files]
        if "mask" in kwargs:
            name, data, mime = kwargs["mask"]
            body["mask"] = _image_ref(name, data, mime, upload)
    body.update(extra)
    return f"/v1/images/{call.endpoint}", body


def _image_ref(name: str, data: bytes, mime: str, upload: Uploader | None) -> dict[str, str]:
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if len(url) <= MAX_DATA_URL or upload is None:
        return {"image_url": url}
    return {"file_id": upload(name, data, mime)}


def batch_line(custom_id: str, url: str, body: Mapping[str, Any]) -> bytes:
    line = {"custom_id": custom_id, "method": "POST", "url": url, "body": dict(body)}
    return (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


class BatchApi:
    """Files and Batches calls over one connection (``ImageClient.call`` does the transport)."""

    def __init__(self, client: ImageClient, create_client: ImageClient | None = None) -> None:
        self._client = client
        # creating is not retried once it may have reached the API (a retry could bill twice)
        self._create_client = create_client or client

    def upload(self, name: str, data: bytes, purpose: str, mime: str = "application/jsonl") -> str:
        result = self._client.call(
            lambda sdk: sdk.files.create(file=(name, data, mime), purpose=purpose)
        )
        return str(result.id)

    def create(
        self, input_file_id: str, endpoint: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        return _dump(
            self._create_client.call(
                lambda sdk: sdk.batches.create(
                    input_file_id=input_file_id,
                    endpoint=endpoint,
                    completion_window=COMPLETION_WINDOW,
                    metadata=dict(metadata),
                )
            )
        )

    def find(self, input_file_id: str) -> dict[str, Any] | None:
        """A batch already made from ``input_file_id`` (a create whose answer was lost)."""
        page = self._client.call(lambda sdk: sdk.batches.list(limit=100))
        for batch in getattr(page, "data", []) or []:
            if getattr(batch, "input_file_id", None) == input_file_id:
                return _dump(batch)
        return None

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return _dump(self._client.call(lambda sdk: sdk.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return _dump(self._client.call(lambda sdk: sdk.batches.cancel(batch_id)))

    def content(self, file_id: str) -> bytes:
        return bytes(self._client.call(lambda sdk: sdk.files.content(file_id).content))


@dataclass(frozen=True)
class LineResult:
    """One line of a batch's output or error file."""

    custom_id: str
    images: list[bytes]
    usage: dict[str, Any] | None
    request_id: str | None
    size: str | None
    output_format: str | None
    error: GptImageError | None


def parse_result_line(raw: bytes | str, base_url: str = "") -> LineResult | None:
    """A line of an output/error file; None when it is not a result line at all."""
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        return None
    custom_id = line["custom_id"]
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    request_id = response.get("request_id") if response else None
    if line.get("error"):
        error = (
            line["error"] if isinstance(line["error"], dict) else {"message": str(line["error"])}
        )
        code = str(error.get("code") or "batch_error")
        return LineResult(
            custom_id, [], None, request_id, None, None,
            ApiUnavailable(str(error.get("message") or code), code=code, request_id=request_id),
        )  # fmt: skip
    if response is None:
        return LineResult(
            custom_id, [], None, None, None, None, ApiUnavailable("The line has no response.")
        )
    status = int(response.get("status_code") or 0)
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    if status != 200:
        ctx = errs.Context(
            attempts=1, request_id=request_id, request_sent=True, timeout_s=0.0, base_url=base_url
        )
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = str((inner or {}).get("message") or f"HTTP {status}")
        return LineResult(
            custom_id, [], None, request_id, None, None,
            errs.from_status(status, inner, message, request_id, ctx),
        )  # fmt: skip
    images = []
    for item in body.get("data") or []:
        try:
            images.append(base64.b64decode(item.get("b64_json") or "", validate=True))
        except (ValueError, TypeError, AttributeError):
            continue
    error = (
        None
        if images
        else ApiUnavailable("The line's answer holds no image.", request_id=request_id)
    )
    return LineResult(
        custom_id,
        [i for i in images if i],
        body.get("usage") if isinstance(body.get("usage"), dict) else None,
        request_id,
        body.get("size"),
        body.get("output_format"),
        error,
    )
