"""One way to run a job for every caller: start it, pump its typed events, cancel it, get its
result. ONE worker thread per job; the caller never waits on it.

The worker runs the whole job (``jobs.run_job``: history, the API attempts, each paid image
written to history as it arrives) and puts events in a queue. The caller drains them from its
own event loop: Krita from a Qt timer, GIMP from a GLib source, the CLI in a wait loop. The
last event is always exactly one of ``Done``, ``Failed`` or ``JobCancelled``.

Cancel is immediate for the caller: ``cancel()`` tells the worker (its ``CancelToken`` shuts the
request's sockets down and stops every callback) and the next pump reports ``JobCancelled``
even if the worker is still unwinding or the answer came in meanwhile (the person asked for
nothing; whatever was paid is in history already, never in the document). A worker stuck in a
call nothing can interrupt (the SDK's first import) is left behind as a daemon thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from PIL import Image

from .client import CancelToken
from .errors import Cancelled, ConfigError, GptImageError, InternalError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """A status line from the job ("Sending edit request…", "Done: 2 image(s)")."""

    kind: ClassVar[str] = "progress"
    message: str
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class RequestSent:
    """The request is out (each attempt's body fully sent): the API is working on it."""

    kind: ClassVar[str] = "sent"
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class PartialPreview:
    """A partial image streamed while the model works (not paid for, not kept)."""

    kind: ClassVar[str] = "partial"
    index: int
    image: Image.Image | None = field(repr=False)
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class ImageSaved:
    """Final image ``index`` (0-based): already in history when this arrives."""

    kind: ClassVar[str] = "image"
    index: int
    image: Image.Image | None = field(repr=False)
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class Done:
    kind: ClassVar[str] = "done"
    result: Any = field(repr=False)


@dataclass(frozen=True)
class Failed:
    kind: ClassVar[str] = "failed"
    error: GptImageError


@dataclass(frozen=True)
class JobCancelled:
    """The job was cancelled; ``error`` is the worker's own ``Cancelled`` when it ended so (it
    says truthfully whether the request had reached the API and may be billed)."""

    kind: ClassVar[str] = "cancelled"
    reason: str = "Cancelled."
    error: Cancelled | None = None


JobUpdate = Progress | RequestSent | PartialPreview | ImageSaved | Done | Failed | JobCancelled
#: ``work(cancel, emit)``: the job itself, run on the handle's worker thread.
Work = Callable[[CancelToken, Callable[[Any], None]], T]


def typed(event: Any) -> JobUpdate | None:
    """A ``jobs.JobEvent`` (what ``run_job`` reports) as the handle's typed event."""
    kind = getattr(event, "kind", "")
    elapsed = float(getattr(event, "elapsed_s", 0.0) or 0.0)
    if kind == "partial":
        return PartialPreview(event.index, event.image, elapsed)
    if kind == "image":
        return ImageSaved(event.index, event.image, elapsed)
    if kind == "status" and getattr(event, "message", ""):
        return Progress(str(event.message), elapsed)
    if kind == "sent":
        return RequestSent(elapsed)
    if isinstance(event, (Progress, RequestSent, PartialPreview, ImageSaved)):
        return event
    return None


class JobHandle(Generic[T]):
    """One job on one daemon worker thread; see the module docstring.

    ``log_path`` names the log with tracebacks in an internal error's message;
    ``import_error`` turns a dependency that fails to load (openai loads with the first job)
    into the host's own message.
    """

    def __init__(
        self,
        work: Work[T],
        *,
        name: str = "gpt-image-job",
        log_path: Callable[[], str | None] | None = None,
        import_error: Callable[[ImportError], GptImageError] | None = None,
    ) -> None:
        self.token = CancelToken()
        self._work = work
        self._name = name
        self._log_path = log_path or (lambda: None)
        self._import_error = import_error
        self._events: queue.Queue[JobUpdate] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._end: JobUpdate | None = None  # what the caller was told last (Done/Failed/…)
        self._cancel_reason: str | None = None
        #: How the worker itself ended (None while it runs), reported to the caller or not.
        self.worker_outcome: JobUpdate | None = None
        self.started_at: float | None = None

    # --- the caller's side -----------------------------------------------------------------

    def start(self) -> JobHandle[T]:
        if self._thread is not None:
            raise RuntimeError("a job handle starts once")
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        return self

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    @property
    def finished(self) -> bool:
        """True once the caller has been handed the last event (done, failed or cancelled)."""
        return self._end is not None

    @property
    def cancelled(self) -> bool:
        return self._cancel_reason is not None

    def cancel(self, reason: str = "Cancelled.") -> None:
        """Stop the job; the next ``pump`` ends with ``JobCancelled`` at once (any thread)."""
        if self._end is not None or self._cancel_reason is not None:
            return
        self._cancel_reason = reason
        self.token.cancel()

    def pump(self) -> list[JobUpdate]:
        """The events since the last pump, without blocking; the caller's event loop calls it.
        After a cancel only ``JobCancelled`` is reported, whatever the worker still sends."""
        return self._drain(block_s=0.0)

    def wait(self, timeout_s: float | None = None) -> list[JobUpdate]:
        """Like ``pump`` but waits up to ``timeout_s`` for an event (the CLI's loop)."""
        return self._drain(block_s=timeout_s)

    def result(self, timeout_s: float | None = None) -> T:
        """Wait for the end and return the job's result; raise its error, or ``Cancelled``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.finished:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self.wait(0.1 if left is None else min(0.1, left))
            if deadline is not None and time.monotonic() >= deadline and not self.finished:
                raise TimeoutError("the job is still running")
        end = self._end
        if isinstance(end, Done):
            return end.result
        if isinstance(end, Failed):
            raise end.error
        own = self.worker_outcome
        if isinstance(own, JobCancelled) and own.error is not None:
            raise own.error
        raise Cancelled(end.reason if isinstance(end, JobCancelled) else "Cancelled.")

    def join(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the worker thread itself to end (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def _drain(self, block_s: float | None) -> list[JobUpdate]:
        if self._end is not None:
            return []
        if self._cancel_reason is not None:
            self._end = JobCancelled(self._cancel_reason)
            return [self._end]
        out: list[JobUpdate] = []
        try:
            if block_s != 0.0:
                out.append(self._events.get(timeout=block_s))
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        if self._cancel_reason is not None:  # cancelled while we drained: nothing else counts
            self._end = JobCancelled(self._cancel_reason)
            return [self._end]
        for index, event in enumerate(out):
            if isinstance(event, (Done, Failed, JobCancelled)):
                self._end = event
                return out[: index + 1]
        return out

    # --- the worker's side -----------------------------------------------------------------

    def _emit(self, event: Any) -> None:
        update = typed(event)
        if update is not None and not self.token.cancelled:
            self._events.put(update)

    def _main(self) -> None:
        try:
            result = self._work(self.token, self._emit)
        except Cancelled as error:
            self._end_with(JobCancelled(self._cancel_reason or str(error), error))
        except InternalError as error:  # a bug core caught: name the log with the traceback
            self._end_with(Failed(error.with_log(self._log_path())))
        except GptImageError as error:
            self._end_with(Failed(error))
        except ImportError as error:  # a broken install shows with the first job
            if self._import_error is not None:
                bad = self._import_error(error)
            else:
                bad = ConfigError(f"A dependency failed to load ({error.name or error}: {error}).")
            self._end_with(Failed(bad))
        except KeyboardInterrupt:
            self._end_with(JobCancelled(self._cancel_reason or "Cancelled."))
        except Exception as error:  # a bug must reach the caller, not kill the thread silently
            log.exception("gpt-image job failed")
            bug = InternalError.from_exception(error, request_sent=None, log_path=self._log_path())
            self._end_with(Failed(bug))
        else:
            self._end_with(Done(result))

    def _end_with(self, update: JobUpdate) -> None:
        self.worker_outcome = update
        self._events.put(update)


def start_job(
    prepared: Any,
    settings: Any,
    *,
    after: Callable[[Any], None] | None = None,
    before: Callable[[], None] | None = None,
    history: Any = None,
    client: Any = None,
    **handle_options: Any,
) -> JobHandle[Any]:
    """``jobs.run_job(prepared, settings)`` on a started handle. ``before`` runs first on the
    worker (Krita saves the form's options there), ``after(result)`` last (Krita turns the
    results into its own bytes there, so its main thread only inserts). A ``ReadJob`` (pixels
    read, upload not built) is finished on the worker too."""
    from . import jobs

    def work(cancel: CancelToken, emit: Callable[[Any], None]) -> Any:
        if before is not None:
            before()
        job = jobs.finish_prepare(prepared) if isinstance(prepared, jobs.ReadJob) else prepared
        result = jobs.run_job(
            job, settings, on_event=emit, cancel=cancel, history=history, client=client
        )
        if after is not None:
            after(result)
        return result

    return JobHandle(work, **handle_options).start()


@runtime_checkable
class TellsAfterCancel(Protocol):
    """A result made of several requests (a comparison) that came back although the person
    cancelled: only it knows which of its requests finished, which were cut off at the API and
    which were never sent, so it tells ``cancelled_after`` itself."""

    def after_cancel(self) -> tuple[bool | None, str]:
        """Whether anything was (or may be) billed, and the sentence that says so."""
        ...


def cancelled_after(handle: JobHandle, reason: str, hint: str | None = None) -> Cancelled:
    """The ``Cancelled`` a host reports once it cancelled ``handle``: ``reason`` and, told
    truthfully from how the worker itself ended, whether anything was sent or billed. The
    client knows whether the request had gone out (its ``Cancelled`` says "may_be_billed"); a
    worker that finished anyway was billed and kept its result in history; a worker still
    running (or one that hit a bug) is not known either way."""
    own = handle.worker_outcome
    error = own.error if isinstance(own, JobCancelled | Failed) else None
    billed: bool | None
    if isinstance(own, Done) and isinstance(own.result, TellsAfterCancel):
        billed, text = own.result.after_cancel()  # several requests: each told for itself
    elif isinstance(own, Done):
        billed, text = (
            True,
            "The answer had already arrived, so it was billed; it is kept in History.",
        )
    elif own is None or isinstance(error, InternalError):
        billed, text = (
            None,
            (
                "Whether the request reached the API (and is billed) is not known; History "
                "will show it."
            ),
        )
    elif error is not None and error.details.get("may_be_billed"):
        billed, text = True, "The request had already reached the API, so it may still be billed."
    elif isinstance(own, Failed):
        billed, text = False, "The request had failed; nothing was billed."
    else:
        billed, text = False, "No request was in flight at the API, so nothing was billed."
    return Cancelled(
        f"{reason.rstrip()} {text}",
        hint=hint,
        request_id=getattr(error, "request_id", None),
        details={"may_be_billed": billed},
    )


__all__ = [
    "Done",
    "Failed",
    "ImageSaved",
    "JobCancelled",
    "JobHandle",
    "JobUpdate",
    "PartialPreview",
    "Progress",
    "RequestSent",
    "TellsAfterCancel",
    "cancelled_after",
    "start_job",
    "typed",
]
