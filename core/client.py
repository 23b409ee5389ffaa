"""The OpenAI Images API client: with its private ``client_*`` helpers, the only importer of ``openai``.

One ``ImageClient.run`` = one image job: generate (JSON ``/images/generations``) when there is no
input image, edit (multipart ``/images/edits``) otherwise, references included. Partial previews
stream to ``on_partial``; each final image goes to ``on_image`` the moment it is decoded (the
caller writes it to disk at once: it is paid for). ``CancelToken.cancel()`` from any thread makes
``run`` raise ``Cancelled`` promptly, shuts the connection down, and no callback starts after it.

Retries follow ``core.retry`` (the SDK's own are off): only transient failures, never anything
that may already have been billed. Errors are ``core.errors`` classes with the API's message,
code, request id and a hint; the API key never appears in them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import client_errors as errs
from .client_request import Call, ImageRequest, InputImage, build_call, lookup_caps  # noqa: F401 (re-exported)
from .client_transport import (
    Tracker,
    check_proxies,
    make_sdk_client,
    proxy_for,
    warm_sdk,
)
from .errors import Cancelled, ConfigError, GptImageError, InputError
from .retry import RetryPolicy, is_transient_status, parse_retry_after

if TYPE_CHECKING:
    from .backoff import SharedBackoff

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PROVIDERS = ("openai", "azure", "compatible")
IMPROVE_INSTRUCTIONS = (
    "You rewrite rough requests for an image model into a clear, structured image brief. Keep "
    "the person's intent, subject and any quoted text exactly; add concrete detail about "
    "composition, style, lighting and colour only where the request leaves it open. Answer with "
    "the brief only, no preamble."
)
#: How long ``cancel()`` waits for a callback that is already running to return.
CALLBACK_GRACE_S = 1.0


@dataclass(frozen=True)
class PartialImage:
    index: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ImageResult:
    images: list[bytes] = field(repr=False)
    request_id: str | None
    usage: dict[str, Any] | None
    size: str | None  # "WxH" of the first image as decoded (the API's own may say "auto")
    output_format: str
    elapsed_s: float


class CancelToken:
    """Cancel from any thread. After ``cancel()`` returns, no client callback starts."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._delivery = threading.RLock()
        self._hooks: list[Callable[[], None]] = []
        self._hooks_lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        if self._event.is_set():
            return
        self._event.set()
        with self._hooks_lock:
            hooks = list(self._hooks)
        for hook in hooks:
            with contextlib.suppress(Exception):  # aborting is best effort; the flag is what counts
                hook()
        # Let a callback already running finish (bounded, so a callback waiting on us can't hang us).
        if self._delivery.acquire(timeout=CALLBACK_GRACE_S):
            self._delivery.release()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as cancelled."""
        return self._event.wait(seconds)

    def on_cancel(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Register ``hook`` to run on cancel (at once if already cancelled); returns a remover."""
        with self._hooks_lock:
            self._hooks.append(hook)
        if self.cancelled:
            hook()

        def remove() -> None:
            with self._hooks_lock:
                if hook in self._hooks:
                    self._hooks.remove(hook)

        return remove

    def deliver(self, callback: Callable[..., None], *args: Any) -> bool:
        """Run ``callback(*args)`` unless cancelled; False (and no call) once cancelled."""
        with self._delivery:
            if self.cancelled:
                return False
            callback(*args)
            return True


@dataclass(frozen=True)
class Connection:
    """Where and how to reach the API. Built by ``core.settings``; env vars are not read here."""

    api_key: str = field(repr=False)
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    provider: str = "openai"
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str | None = None
    timeout_s: float = 300.0
    max_retries: int = 2

    @property
    def resolved_base_url(self) -> str:
        if self.provider == "azure":
            return (self.azure_endpoint or "").rstrip("/") + "/openai"
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    def validate(self) -> None:
        """``ConfigError`` naming the missing or wrong setting."""
        if self.provider not in PROVIDERS:
            raise ConfigError(
                f"Unknown provider {self.provider!r}.", hint=f"Use one of: {', '.join(PROVIDERS)}."
            )
        if not self.api_key:
            raise ConfigError("No API key.", hint="Enter the API key in settings.")
        if self.provider == "compatible" and not self.base_url:
            raise ConfigError(
                "An OpenAI-compatible provider needs a base URL.",
                hint="Set the base URL in settings, e.g. http://localhost:8080/v1.",
            )
        if self.provider == "azure" and not (self.azure_endpoint and self.api_version):
            raise ConfigError(
                "Azure OpenAI needs an endpoint and an api-version.",
                hint="Set the Azure endpoint (https://NAME.openai.azure.com), deployment and api-version in settings.",
            )
        if self.provider != "azure":
            _check_url(self.resolved_base_url, "The base URL (base_url / OPENAI_BASE_URL)")
        else:
            _check_url(self.resolved_base_url, "The Azure endpoint (azure_endpoint)")
        check_proxies()
        for value, what in (
            (self.organization, "The organization id (organization / OPENAI_ORG_ID)"),
            (self.project, "The project id (project / OPENAI_PROJECT_ID)"),
            (self.azure_deployment, "The Azure deployment (azure_deployment)"),
            (self.api_version, "The Azure API version (api_version)"),
        ):
            _check_header_value(value, what)
        if not self.timeout_s or self.timeout_s <= 0:
            raise ConfigError(f"Timeout must be positive, not {self.timeout_s!r}.")
        if self.max_retries < 0:
            raise ConfigError(f"Retries must be 0 or more, not {self.max_retries!r}.")


def preload_sdk() -> threading.Thread:
    """Start importing the SDK on a background thread and return at once.

    ``import openai`` takes ~0.3 s (more on a busy machine); a caller that has other work first
    (decoding its input) overlaps the two. A later import waits for this one instead of starting
    over; if it fails, that later import raises the error where it can be reported.
    """

    def load() -> None:
        warm_sdk()

    thread = threading.Thread(target=load, name="gpt-image-sdk-import", daemon=True)
    thread.start()
    return thread


def _check_header_value(value: str | None, what: str) -> None:
    """``ConfigError`` for a setting sent in an HTTP header (or URL) that can't be: whitespace,
    control or non-ASCII characters would fail inside the HTTP layer, looking like a network
    failure after sending, when nothing was sent."""
    if not value:
        return
    if any(ch.isspace() or not ch.isascii() or not ch.isprintable() for ch in value):
        raise ConfigError(
            f"{what} holds a space, control or non-ASCII character.",
            hint="Copy it again from the provider's dashboard.",
            code="invalid_setting",
        )


def _check_url(url: str, what: str) -> None:
    """``ConfigError`` unless ``url`` is an http(s) URL with a host (checked before sending)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"{what} {url!r} is not a valid URL ({exc}).", code="invalid_base_url"
        ) from None
    bad_host = not parts.hostname or any(ch.isspace() or not ch.isprintable() for ch in url)
    if parts.scheme.lower() not in ("http", "https") or bad_host:
        raise ConfigError(
            f"{what} {url!r} is not a valid http:// or https:// URL.",
            hint="Use e.g. https://api.openai.com/v1 or http://localhost:8080/v1.",
            code="invalid_base_url",
        )


class _Malformed(Exception):
    """The API's answer could not be read (bad JSON, missing or broken base64)."""


Work = Callable[[Any, Tracker, Callable[[str, Any], None]], Any]


class ImageClient:
    """Runs image jobs, connection checks and prompt rewrites against one connection."""

    def __init__(
        self,
        connection: Connection,
        *,
        custom_models: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        backoff: SharedBackoff | None = None,
    ) -> None:
        connection.validate()
        self._connection = connection
        self._custom_models = custom_models
        self._policy = retry_policy or RetryPolicy(max_retries=connection.max_retries)
        self._backoff = backoff  # shared by concurrent jobs: one 429 pauses them all

    @property
    def connection(self) -> Connection:
        return self._connection

    # public ------------------------------------------------------------------------------
    def run(
        self,
        request: ImageRequest,
        *,
        on_partial: Callable[[PartialImage], None] | None = None,
        on_image: Callable[[int, bytes], None] | None = None,
        cancel: CancelToken | None = None,
        on_send: Callable[[], None] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> ImageResult:
        """Make the images; raises ``InputError``, ``ApiRefused``, ``ApiUnavailable``, ``Cancelled``.

        ``on_send`` runs (on the SDK thread) just before each attempt's request is built and
        sent, after any shared back-off: a batch journals it, so a run that dies later knows
        the request may have reached the API. ``on_sent`` runs (on the same thread) once an
        attempt's request body is fully sent: a host does its own deferred work while the API
        works, not while the request is still going out."""
        token = cancel or CancelToken()
        caps = lookup_caps(request.model, self._custom_models)
        call = build_call(request, caps)
        started = time.monotonic()
        images: list[bytes] = []

        def deliver(kind: str, payload: Any) -> bool:
            if kind == "partial":
                return on_partial is None or token.deliver(on_partial, payload)
            if kind == "image":
                index, data = payload
                images.append(data)
                return on_image is None or token.deliver(on_image, index, data)
            return True

        def work(sdk: Any, tracker: Tracker, emit: Callable[[str, Any], None]) -> Any:
            if on_send is not None:
                on_send()
            tracker.on_sent = on_sent
            return _image_work(sdk, call, tracker, emit)

        try:
            meta = self._execute(work, token, deliver)
        except GptImageError as error:
            if request.background == "transparent" and caps.transparent_preview:
                raise errs.transparency_refused(error, request.model) from None
            raise
        if not images:
            raise self._scrub(
                errs.malformed("no image in the answer", self._context(1, meta.get("request_id")))
            )
        return ImageResult(
            images=images,
            request_id=meta.get("request_id"),
            usage=meta.get("usage"),
            size=_measure(images[0]) or meta.get("size"),
            output_format=meta.get("output_format") or request.output_format,
            elapsed_s=time.monotonic() - started,
        )

    def check(self) -> dict[str, Any]:
        """A cheap authenticated call (list models) proving the key and endpoint work."""

        def work(sdk: Any, tracker: Tracker, emit: Callable[[str, Any], None]) -> dict[str, Any]:
            try:
                raw = sdk.models.with_raw_response.list()
                tracker.request_id = raw.headers.get("x-request-id")
                models = sorted(m.id for m in raw.parse().data)
                return {
                    "ok": True,
                    "provider": self._connection.provider,
                    "base_url": str(sdk.base_url),
                    "models": models,
                    "image_models": [m for m in models if "image" in m],
                    "request_id": tracker.request_id,
                }
            finally:
                sdk.close()

        return self._execute(work, CancelToken())

    def call(self, fn: Callable[[Any], Any], *, cancel: CancelToken | None = None) -> Any:
        """Run ``fn(sdk)`` (one Files or Batches call) with the retries and error mapping of
        image jobs: only what cannot have reached the API, or was refused as transient, is
        repeated, so a batch is never created twice."""

        def work(sdk: Any, tracker: Tracker, emit: Callable[[str, Any], None]) -> Any:
            try:
                return fn(sdk)
            finally:
                sdk.close()

        return self._execute(work, cancel or CancelToken())

    def improve_prompt(self, prompt: str, model: str) -> str:
        """Rewrite a rough prompt into a structured brief with a text model (Responses API)."""
        if not prompt or not prompt.strip():
            raise InputError("There is no prompt to improve.", hint="Type a rough prompt first.")
        if not model:
            raise InputError(
                "No text model given for prompt improvement.",
                hint="Set one in settings, e.g. gpt-5-mini.",
            )

        def work(sdk: Any, tracker: Tracker, emit: Callable[[str, Any], None]) -> str:
            try:
                raw = sdk.responses.with_raw_response.create(
                    model=model, instructions=IMPROVE_INSTRUCTIONS, input=prompt
                )
                tracker.request_id = raw.headers.get("x-request-id")
                return str(raw.parse().output_text or "").strip()
            finally:
                sdk.close()

        return self._execute(work, CancelToken())

    # attempts and retries ----------------------------------------------------------------
    def _execute(
        self, work: Work, token: CancelToken, deliver: Callable[[str, Any], bool] | None = None
    ) -> Any:
        """Run ``work`` with the retry policy; map whatever finally fails."""
        attempt = 0
        while True:
            attempt += 1
            if token.cancelled:
                raise Cancelled()
            tracker = Tracker()
            try:
                return self._attempt(work, token, tracker, deliver)
            except GptImageError:
                raise  # Cancelled: must not wait for the import lock the worker may hold
            except Exception as exc:
                if not _is_api_failure(exc):
                    raise
                wait = self._retry_wait(exc, tracker, attempt)
                if wait is None:
                    raise self._map(exc, tracker, attempt) from None
                if self._backoff is not None and getattr(exc, "status_code", None) == 429:
                    self._backoff.hold(wait)  # every worker waits; the gate paces the retries
                    continue
            if token.wait(wait):
                raise Cancelled()

    def _attempt(
        self,
        work: Work,
        token: CancelToken,
        tracker: Tracker,
        deliver: Callable[[str, Any], bool] | None,
    ) -> Any:
        """One attempt on the calling thread: the job's one worker (``core.job_handle``), whose
        owner never waits on it. A cancel shuts the attempt's sockets down (``Tracker.abort``),
        which wakes a blocked read at once; from then on no callback starts."""
        remove = token.on_cancel(tracker.abort)
        try:
            # the first call imports openai (seconds on a busy machine); a cancel meanwhile
            # is seen right after it, before anything is sent
            sdk = make_sdk_client(self._connection, tracker)
            if tracker.aborted:
                sdk.close()
                raise Cancelled()
            # a shared back-off is waited out here, as late as possible before sending
            if self._backoff is not None and (self._backoff.wait(token.wait) or tracker.aborted):
                sdk.close()
                raise Cancelled()

            def emit(kind: str, payload: Any) -> None:
                if token.cancelled or (deliver is not None and not deliver(kind, payload)):
                    raise _cancelled(tracker)

            return work(sdk, tracker, emit)
        except GptImageError:
            tracker.abort()
            raise
        except Exception:
            tracker.abort()  # whatever is still open of this attempt closes now
            if token.cancelled:  # the sockets were shut down under the SDK: that is the cancel
                raise _cancelled(tracker) from None
            raise
        finally:
            remove()

    def _retry_wait(self, exc: Exception, tracker: Tracker, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when this failure must not be retried."""
        import openai

        limit = self._policy.max_retries
        if isinstance(exc, openai.APIStatusError) and exc.status_code == 429:
            limit = self._policy.retries_for_rate_limit
        if attempt > limit:
            return None
        if isinstance(exc, openai.APIStatusError):
            if not is_transient_status(exc.status_code, _status_code(exc)):
                return None
            return self._policy.delay(attempt, parse_retry_after(exc.response.headers))
        if isinstance(exc, openai.APIConnectionError) and tracker.failed_before_sending(exc):
            return self._policy.delay(attempt)
        return None

    def _map(self, exc: Exception, tracker: Tracker, attempts: int) -> GptImageError:
        import openai

        sent = not (
            isinstance(exc, openai.APIConnectionError) and tracker.failed_before_sending(exc)
        )
        ctx = self._context(attempts, getattr(exc, "request_id", None) or tracker.request_id, sent)
        if isinstance(exc, _Malformed):
            error: GptImageError = errs.malformed(str(exc), ctx)
        elif isinstance(exc, openai.APIStatusError):
            error = errs.from_status(exc.status_code, exc.body, exc.message, ctx.request_id, ctx)
        elif isinstance(exc, openai.APITimeoutError):
            error = errs.from_transport(exc, timed_out=True, ctx=ctx)
        elif isinstance(exc, openai.APIConnectionError):
            error = errs.from_transport(exc, timed_out=False, ctx=ctx)
        elif isinstance(exc, openai.APIResponseValidationError):
            error = errs.malformed(exc.message, ctx)
        else:  # an error event inside a stream: HTTP 200 was already sent
            error = errs.from_stream_error(exc.body, exc.message, ctx)
        return self._scrub(error)

    def _context(self, attempts: int, request_id: str | None, sent: bool = True) -> errs.Context:
        return errs.Context(
            attempts=attempts,
            request_id=request_id,
            request_sent=sent,
            timeout_s=self._connection.timeout_s,
            base_url=self._connection.resolved_base_url,
            proxy=proxy_for(self._connection.resolved_base_url),
        )

    def _scrub(self, error: GptImageError) -> GptImageError:
        return errs.scrub_error(error, self._connection.api_key)


# work done in the SDK thread -------------------------------------------------------------
def _image_work(
    sdk: Any, call: Call, tracker: Tracker, emit: Callable[[str, Any], None]
) -> dict[str, Any]:
    try:
        endpoint = (
            sdk.images.with_raw_response.generate
            if call.endpoint == "generations"
            else sdk.images.with_raw_response.edit
        )
        raw = endpoint(**call.kwargs)
        tracker.request_id = raw.headers.get("x-request-id")
        try:
            parsed = raw.parse()
        except (ValueError, TypeError) as exc:  # JSON that doesn't decode or doesn't fit
            raise _Malformed(f"invalid JSON: {exc}") from None
        meta = _consume_stream(parsed, emit) if call.stream else _consume_response(parsed, emit)
        meta["request_id"] = tracker.request_id
        return meta
    finally:
        sdk.close()


def _consume_response(response: Any, emit: Callable[[str, Any], None]) -> dict[str, Any]:
    for index, item in enumerate(response.data or []):
        emit("image", (index, _decode(getattr(item, "b64_json", None))))
    return {
        "usage": _dump(response.usage),
        "size": response.size,
        "output_format": response.output_format,
    }


def _consume_stream(stream: Any, emit: Callable[[str, Any], None]) -> dict[str, Any]:
    """Partials as they come; each ``*.completed`` event is one final image (n > 1: in order)."""
    meta: dict[str, Any] = {"usage": None, "size": None, "output_format": None}
    index = 0
    with stream:
        for event in _transport_errors_as_sdk(stream):
            kind = str(getattr(event, "type", ""))
            if kind.endswith(".partial_image"):
                data = _decode(event.b64_json)
                emit("partial", PartialImage(int(event.partial_image_index or 0), data))
            elif kind.endswith(".completed"):
                emit("image", (index, _decode(event.b64_json)))
                index += 1
                meta.update(
                    usage=_dump(getattr(event, "usage", None)) or meta["usage"],
                    size=getattr(event, "size", None),
                    output_format=getattr(event, "output_format", None),
                )
    if index == 0:
        raise _Malformed("the stream ended without a final image")
    return meta


def _transport_errors_as_sdk(stream: Any) -> Any:
    """Iterate ``stream``; raw httpx/httpx2 errors become the SDK's own connection errors.

    openai 3.x wraps mid-stream transport failures itself; openai 2.x (httpx, the one Krita's
    Python 3.10 gets) lets ``httpx.RemoteProtocolError`` and friends escape.
    """
    import openai

    try:
        yield from stream
    except openai.APIError:
        raise
    except Exception as exc:
        names = {cls.__name__ for cls in type(exc).__mro__}
        if not type(exc).__module__.startswith("httpx") or "RequestError" not in names:
            raise
        request = stream.response.request
        if "TimeoutException" in names:
            raise openai.APITimeoutError(request=request) from exc
        raise openai.APIConnectionError(request=request) from exc


def _is_api_failure(exc: Exception) -> bool:
    import openai  # already imported: the exception came from a call through the SDK

    return isinstance(exc, (openai.APIError, _Malformed))


def _cancelled(tracker: Tracker) -> Cancelled:
    """Cancelled, saying whether the API had already received (and may bill) the request."""
    if not tracker.request_sent:
        return Cancelled()
    return Cancelled(
        "Cancelled. The request had already reached the API, so it may still be billed.",
        request_id=tracker.request_id,
        details={"may_be_billed": True},
    )


def _decode(b64: Any) -> bytes:
    if not b64 or not isinstance(b64, str):
        raise _Malformed("an image without data")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Malformed(f"broken base64 image: {exc}") from None


def _dump(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    if hasattr(usage, "model_dump"):
        return usage.model_dump(exclude_none=True)
    return dict(usage) if isinstance(usage, Mapping) else json.loads(json.dumps(usage, default=str))


def _measure(data: bytes) -> str | None:
    """The real size of an encoded image ("WxH"); with size=auto the API decides it."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return "{}x{}".format(*image.size)
    except Exception:
        return None


def _status_code(exc: Any) -> str | None:
    code = getattr(exc, "code", None)
    if code is None and isinstance(getattr(exc, "body", None), dict):
        code = exc.body.get("code")
    return None if code is None else str(code)
