"""The stand-in HTTP server: routing, auth, recording, answers (JSON and SSE) and faults.

In process::

    with StandIn() as api:            # or api = StandIn(); api.start(); ...; api.stop()
        client = OpenAI(api_key="sk-test", base_url=api.base_url)
        api.queue_faults([{"kind": "rate_limit", "retry_after": 1}])
        api.requests, api.stats()

Control endpoints (no auth): ``GET /_standin/requests``, ``POST /_standin/reset``,
``POST /_standin/faults`` (JSON list), ``GET /_standin/faults``, ``GET /_standin/stats``.
Azure routes ``/openai/deployments/{d}/images/...?api-version=...`` are served too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import batch_api, imaging
from .api_errors import ApiError, auth_error
from .faults import Fault, delay_from_prompt, error_for, fault_from_prompt
from .multipart import parse_multipart
from .validation import IMAGE_MODELS, TEXT_MODELS, ImageParams, validate_params

INVALID_KEY = "sk-invalid"
_AZURE = re.compile(r"^/openai/deployments/([^/]+)(/.*)$")


class _State:
    """Everything the handler threads share, behind one lock."""

    def __init__(self, event_delay: float) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.faults: deque[Fault] = deque()
        self.event_delay = event_delay
        self.stopping = threading.Event()
        self.counters = {"image_requests": 0, "generated": 0, "completed": 0, "images_delivered": 0}
        # Bumped by reset(): a request still running from before a reset (a slow answer nobody
        # waits for any more) must not count towards the next test's numbers.
        self.epoch = 0
        self.files = batch_api.FileStore()
        self.batches = batch_api.BatchStore(self.files)  # Files and Batch APIs (batch_api.py)

    def reset(self) -> None:
        with self.lock:
            self.files = batch_api.FileStore()
            self.batches = batch_api.BatchStore(self.files)
            self.requests.clear()
            self.faults.clear()
            for name in self.counters:
                self.counters[name] = 0
            self.epoch += 1

    def count(self, name: str, amount: int = 1, *, epoch: int | None = None) -> None:
        with self.lock:
            if epoch is None or epoch == self.epoch:
                self.counters[name] += amount

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None


class StandIn:
    """A real HTTP server on 127.0.0.1 (port 0 = any free port) imitating the Images API."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, event_delay: float = 0.0) -> None:
        self._host = host
        self._port = port
        self._state = _State(event_delay)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving in a background thread; returns ``base_url`` (``http://127.0.0.1:P/v1``)."""
        server = ThreadingHTTPServer((self._host, self._port), _Handler)
        server.daemon_threads = True
        server.state = self._state  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="standin", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("stand-in not started")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        """Scheme, host and port; also the Azure ``azure_endpoint``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # control -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copies of the recorded requests, oldest first (never the Authorization value)."""
        with self._state.lock:
            return json.loads(json.dumps(self._state.requests))

    def image_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["endpoint"] in ("generations", "edits")]

    @property
    def batches(self) -> batch_api.BatchStore:
        """The Batch API's batches and ``executed`` lines (see ``batch_api``)."""
        return self._state.batches

    def stats(self) -> dict[str, int]:
        """image_requests received, generated (reached the model: billable), completed, images_delivered."""
        with self._state.lock:
            return dict(self._state.counters)

    def reset(self) -> None:
        self._state.reset()

    def queue_faults(self, faults: list[dict[str, Any] | Fault]) -> None:
        parsed = [f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults]
        with self._state.lock:
            self._state.faults.extend(parsed)

    @property
    def event_delay(self) -> float:
        return self._state.event_delay

    @event_delay.setter
    def event_delay(self, seconds: float) -> None:
        self._state.event_delay = seconds


class _Cut(Exception):
    """The connection was dropped on purpose (stream_cut) or by the client."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

    @property
    def state(self) -> _State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # A client hanging up mid-answer is normal here (cancel and timeout tests).
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # plumbing ------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        self.request_id = "req_" + uuid.uuid4().hex[:24]
        self.epoch = self.state.epoch
        url = urlsplit(self.path)
        body = self._read_body()
        try:
            if url.path.startswith("/_standin/"):
                self._control(method, url.path, body)
                return
            self._api(method, url.path, parse_qs(url.query), body)
        except (BrokenPipeError, ConnectionResetError, _Cut):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", self.request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, error: ApiError) -> None:
        self._send_json(error.status, error.body(), error.headers)

    def _drop(self) -> None:
        """Abort the TCP connection mid-answer, like a proxy or server crash would."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Cut()

    # control endpoints ---------------------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> None:
        state = self.state
        if path == "/_standin/requests" and method == "GET":
            with state.lock:
                self._send_json(200, state.requests)
        elif path == "/_standin/reset" and method == "POST":
            state.reset()
            self._send_json(200, {"ok": True})
        elif path == "/_standin/faults" and method == "POST":
            try:
                faults = [Fault.from_dict(f) for f in json.loads(body or b"[]")]
            except (ValueError, TypeError, AttributeError) as exc:
                self._send_error(ApiError(400, f"bad fault list: {exc}"))
                return
            with state.lock:
                state.faults.extend(faults)
                queued = len(state.faults)
            self._send_json(200, {"ok": True, "queued": queued})
        elif path == "/_standin/faults" and method == "GET":
            with state.lock:
                self._send_json(200, [{"kind": f.kind, **f.options} for f in state.faults])
        elif path == "/_standin/stats" and method == "GET":
            with state.lock:
                self._send_json(200, dict(state.counters))
        else:
            self._send_error(ApiError(404, f"Unknown stand-in control endpoint {method} {path}"))

    # the API -------------------------------------------------------------------------------
    def _api(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        record: dict[str, Any] = {
            "id": self.request_id,
            "time": time.time(),
            "method": method,
            "path": path,
            "query": {k: v[0] for k, v in query.items()},
            "content_type": self.headers.get("Content-Type"),
            "header_names": sorted({h.lower() for h in self.headers}),
            "azure_deployment": None,
            "endpoint": None,
            "params": {},
            "images": [],
            "mask": None,
            "fault": None,
            "status": None,
            "outcome": None,
        }
        with self.state.lock:
            self.state.requests.append(record)
        try:
            route, azure = self._route(path, query, record)
            self._authorize(azure)
            if (method, route) == ("POST", "/images/generations"):
                self._images(record, body, edit=False)
            elif (method, route) == ("POST", "/images/edits"):
                self._images(record, body, edit=True)
            elif (method, route) == ("GET", "/models"):
                record["endpoint"] = "models"
                self._models(record)
            elif (method, route) == ("POST", "/responses"):
                record["endpoint"] = "responses"
                self._responses(record, body)
            elif route.split("/")[1] in ("files", "batches"):
                record["endpoint"] = route.split("/")[1]
                batch_api.handle(self, method, route, query, body)
                record["status"], record["outcome"] = 200, "ok"
            else:
                raise ApiError(404, f"Invalid URL ({method} {path})")
        except ApiError as error:
            record["status"], record["outcome"] = error.status, "error"
            record["error_code"] = error.code
            self._send_error(error)
        except _Cut:
            record["outcome"] = "cut"
            raise
        except (BrokenPipeError, ConnectionResetError):
            record["outcome"] = "client_gone"
            raise
        finally:
            record["answered"] = time.time()  # with "time": the stand-in's own time (benchmarks)

    def _route(
        self, path: str, query: dict[str, list[str]], record: dict[str, Any]
    ) -> tuple[str, bool]:
        if path.startswith("/v1/"):
            return path[3:], False
        match = _AZURE.match(path)
        azure_route = (
            match.group(2)
            if match
            else path[len("/openai") :]
            if path.startswith("/openai/")
            else None
        )
        if azure_route is None:
            raise ApiError(404, f"Invalid URL ({self.command} {path})")
        if not query.get("api-version"):
            raise ApiError(404, "Resource not found", code="404")
        record["azure_deployment"] = match.group(1) if match else None
        record["api_version"] = query["api-version"][0]
        return azure_route, True

    def _authorize(self, azure: bool) -> None:
        auth = self.headers.get("Authorization") or ""
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if azure and not key:
            key = (self.headers.get("api-key") or "").strip()
        if not key or key == INVALID_KEY:
            raise auth_error(key)

    def _models(self, record: dict[str, Any]) -> None:
        data = [
            {"id": name, "object": "model", "created": 1776729600, "owned_by": "system"}
            for name in (*IMAGE_MODELS, *TEXT_MODELS)
        ]
        record["status"], record["outcome"] = 200, "ok"
        self._send_json(200, {"object": "list", "data": data})

    def _responses(self, record: dict[str, Any], body: bytes) -> None:
        payload = _json_body(body)
        record["params"] = payload
        model = payload.get("model")
        if not model:
            raise ApiError(
                400,
                "Missing required parameter: 'model'.",
                param="model",
                code="missing_required_parameter",
            )
        if str(model).startswith("gpt-image"):
            raise ApiError(
                400,
                f"The model '{model}' is not supported with the Responses API.",
                param="model",
                code="invalid_value",
            )
        text = _input_text(payload.get("input"))
        if not text:
            raise ApiError(
                400,
                "Missing required parameter: 'input'.",
                param="input",
                code="missing_required_parameter",
            )
        brief = rewrite_prompt(text)
        record["status"], record["outcome"] = 200, "ok"
        self._send_json(200, _response_object(model, brief, text))

    def _images(self, record: dict[str, Any], body: bytes, *, edit: bool) -> None:
        record["endpoint"] = "edits" if edit else "generations"
        self.state.count("image_requests", epoch=self.epoch)
        fault = self.state.next_fault()
        uploads: list[imaging.Upload] = []
        mask: imaging.Upload | None = None
        if edit:
            parts = parse_multipart(self.headers.get("Content-Type") or "", body)
            raw: dict[str, Any] = {p.name: p.text() for p in parts if not p.is_file}
            record["params"] = dict(raw)
            record["parts"] = [
                {"name": p.name, "filename": p.filename, "content_type": p.content_type}
                for p in parts
                if p.is_file
            ]
        else:
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                raise ApiError(400, "Invalid Content-Type header: expected application/json.")
            raw = _json_body(body)
            record["params"] = dict(raw)
        if fault is None:
            fault = fault_from_prompt(str(raw.get("prompt") or ""))
        if fault is not None:
            record["fault"] = fault.kind
            error = error_for(fault, str(raw.get("model") or "gpt-image-2"))
            if error is not None:
                raise error
        for name in ("image", "image[]", "mask"):
            if edit and name in raw:  # a text field where a file belongs
                raise ApiError(
                    400,
                    f"Invalid type for '{name}': expected a file.",
                    param=name,
                    code="invalid_type",
                )
        params = validate_params({k: v for k, v in raw.items()}, edit=edit)
        if edit:
            uploads = imaging.read_images(parts)
            mask = imaging.read_mask(parts, uploads[0])
            record["images"] = [u.describe() for u in uploads]
            record["mask"] = mask.describe() if mask else None
        self.state.count("generated", epoch=self.epoch)
        slow = fault is not None and fault.kind == "slow"
        if slow and self.state.stopping.wait(float(fault.get("seconds"))):
            raise _Cut()
        finals = [
            imaging.edit(params, uploads[0], mask, i) if edit else imaging.generate(params, i)
            for i in range(params.n)
        ]
        size = finals[0].size
        usage = imaging.usage(params, size, uploads)
        if fault is not None and fault.kind == "malformed":
            record["status"], record["outcome"] = 200, "malformed"
            self._send_raw(
                200, b'{"created": 1776729600, "data": [{"b64_json": "iVBOR', "application/json"
            )
            return
        delay = self.state.event_delay or delay_from_prompt(params.prompt)
        if fault is not None and fault.kind == "delay":
            delay = float(fault.get("seconds"))
        if params.stream:
            self._stream(record, params, finals, usage, fault, delay, edit)
        else:
            self._complete(record, params, finals, usage, fault, delay)

    def _complete(
        self, record, params: ImageParams, finals, usage, fault: Fault | None, delay: float
    ) -> None:
        if delay and self.state.stopping.wait(delay):
            raise _Cut()
        payload = {
            "created": int(time.time()),
            "background": "transparent" if params.background == "transparent" else "opaque",
            "data": [{"b64_json": _b64(imaging.encode(img, params))} for img in finals],
            "output_format": params.output_format,
            "quality": params.quality if params.quality != "auto" else "medium",
            "size": "{}x{}".format(*finals[0].size),
            "usage": usage,
        }
        if fault is not None and fault.kind == "stream_cut":
            data = json.dumps(payload).encode()
            record["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", self.request_id)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self._drop()
        record["status"], record["outcome"] = 200, "ok"
        with self._counted_delivery(len(finals)):
            self._send_json(200, payload)

    def _stream(
        self,
        record,
        params: ImageParams,
        finals,
        usage,
        fault: Fault | None,
        delay: float,
        edit: bool,
    ) -> None:
        prefix = "image_edit" if edit else "image_generation"
        record["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", self.request_id)
        self.end_headers()
        self.wfile.flush()
        cut_after = (
            int(fault.get("after")) if fault is not None and fault.kind == "stream_cut" else None
        )
        error_after = (
            int(fault.get("after", 1))
            if fault is not None and fault.kind == "stream_error"
            else None
        )
        common = {
            "background": "transparent" if params.background == "transparent" else "opaque",
            "output_format": params.output_format,
            "quality": params.quality if params.quality != "auto" else "medium",
            "size": "{}x{}".format(*finals[0].size),
        }
        events: list[tuple[str, dict[str, Any]]] = []
        for image in finals:
            for k in range(params.partial_images):
                preview = imaging.encode(imaging.partial(image, k, params.partial_images), params)
                events.append(
                    (
                        f"{prefix}.partial_image",
                        {"b64_json": _b64(preview), "partial_image_index": k, **common},
                    )
                )
            final = imaging.encode(image, params)
            events.append(
                (f"{prefix}.completed", {"b64_json": _b64(final), **common, "usage": usage})
            )
        for sent, (name, data) in enumerate(events):
            if cut_after is not None and sent >= cut_after:
                record["outcome"] = "cut"
                self._drop()
            if error_after is not None and sent >= error_after:
                self._stream_error(record, fault)
                return
            if sent and delay and self.state.stopping.wait(delay):
                raise _Cut()
            self._event(name, {"type": name, "created_at": int(time.time()), **data})
        with self._counted_delivery(len(finals)):
            self._chunk(b"")
        record["outcome"] = "ok"

    @contextlib.contextmanager
    def _counted_delivery(self, images: int) -> Iterator[None]:
        """Count a delivery before its last bytes go out (the client may return at once), and
        take it back if the write fails, so tests reading stats() right after never race."""
        self.state.count("completed", epoch=self.epoch)
        self.state.count("images_delivered", images, epoch=self.epoch)
        try:
            yield
        except BaseException:
            self.state.count("completed", -1, epoch=self.epoch)
            self.state.count("images_delivered", -images, epoch=self.epoch)
            raise

    def _stream_error(self, record: dict[str, Any], fault: Fault) -> None:
        code = fault.get("code")
        error: dict[str, Any] = {
            "type": "image_generation_user_error"
            if code == "moderation_blocked"
            else "server_error",
            "code": code,
            "message": "Your request was rejected by the safety system."
            if code == "moderation_blocked"
            else "The server had an error while processing your request.",
            "param": None,
        }
        if code == "moderation_blocked":
            error["moderation_details"] = {
                "moderation_stage": fault.get("stage") or "output",
                "categories": ["sexual"],
            }
        self._event("error", {"type": "error", "error": error})
        self._chunk(b"")
        record["outcome"] = "stream_error"

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self._chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", self.request_id)
        self.end_headers()
        self.wfile.write(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"")
    except ValueError:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly.)",
        ) from None
    if not isinstance(payload, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return payload


def _input_text(value: Any) -> str:
    """Text out of a Responses ``input``: a string or a list of messages / content parts."""
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for item in value or []:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(t for t in texts if t)


def rewrite_prompt(text: str) -> str:
    """The stand-in's deterministic 'improved prompt': a structured brief around the input."""
    subject = " ".join(text.split())
    return (
        f"Subject: {subject}\n"
        "Composition: centred subject, clear foreground and background separation\n"
        "Style: photographic, natural colours\n"
        "Lighting: soft daylight\n"
        "Constraints: no text, no watermark"
    )


def _response_object(model: str, text: str, prompt: str) -> dict[str, Any]:
    stamp = int(time.time())
    tokens_in = max(1, len(prompt) // 4)
    tokens_out = max(1, len(text) // 4)
    return {
        "id": "resp_" + uuid.uuid4().hex,
        "object": "response",
        "created_at": stamp,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_" + uuid.uuid4().hex,
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": tokens_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": tokens_in + tokens_out,
        },
    }
