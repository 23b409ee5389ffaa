"""One job end to end, the single path both hosts and the CLI take.

``prepare_job`` (main thread, no network): plan the crop and API size, read only the crop's
pixels, build the upload files, estimate the cost. ``run_job`` (worker thread): record the job
in history, call the API, write every image to history the moment it arrives (before anyone
sees it), then map results back to ``LayerPatch``es and record usage, cost and timings.

On an error or a cancel the job is closed as "failed" / "cancelled" with the error, images that
already arrived stay in history, and the error is raised again for the caller to show.
"""

from __future__ import annotations

import io
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from . import png_bands
from .client import CancelToken, ImageClient, ImageRequest, InputImage, PartialImage
from .errors import ApiUnavailable, Cancelled, GptImageError, InputError, InternalError
from .expand import DEFAULT_OVERLAP_PX, Borders, Expansion, expand_prompt, expanded_reader
from .expand import plan_expand as _plan_expand
from .geometry import Bounds, Extent, Point
from .history import History, image_extension
from .imagefile import open_checked
from .job_record import record_options
from .models import capabilities
from .options import check_options, default, settings_options
from .pipeline import (
    BlendOptions,
    LayerPatch,
    Mode,
    PendingLayer,
    Plan,
    Upload,
    build_layer,
    build_upload,
    decode,
    start_layer,
)
from .pipeline import plan_job as _plan_job
from .pricing import Estimate, actual_cost, estimate
from .prompting import check_prompt
from .rescue import keep_elsewhere
from .selection import SelectionMask
from .settings import Settings
from .sizing import size_for_aspect

log = logging.getLogger(__name__)

EventKind = Literal["partial", "image", "status", "sent"]
#: A host's or the CLI's "edit" whose mode core decides from the selection and the layer
#: (``choose_mode``); ``read_job`` and ``estimate_job`` resolve it before anything else.
EDIT = "edit"
#: Input images the API accepts per request (the edited crop counts as one).
MAX_INPUT_IMAGES = 16
REFERENCE_MIMES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: Pillow names JPEG files "JPEG"; a few writers say "MPO" for the same bytes.


@dataclass(frozen=True)
class JobSpec:
    """What the person asked for; sizes and pixels are decided in ``prepare_job``."""

    mode: Mode | str
    prompt: str
    model: str = default("model")
    quality: str = default("quality")
    resolution: str = default("resolution")
    n: int = default("n")
    partial_images: int = default("partial_images")
    output_format: str = default("output_format")
    background: str | None = default("background")
    references: tuple[InputImage, ...] = ()
    blend: BlendOptions = field(default_factory=BlendOptions)
    source_document: str = ""
    aspect: str | None = default("aspect")
    output_compression: int | None = default("output_compression")
    moderation: str | None = default("moderation")
    user: str | None = default("user")
    #: ``Mode.EXPAND`` only: pixels added per side, and the feathered overlap into the original.
    borders: Borders | None = None
    overlap_px: int = DEFAULT_OVERLAP_PX

    @classmethod
    def from_settings(
        cls, settings: Settings, mode: Mode | str, prompt: str, **overrides: Any
    ) -> JobSpec:
        """A spec with every option from ``settings`` unless overridden."""
        values: dict[str, Any] = {
            opt.name: getattr(settings, opt.settings)
            for opt in settings_options()
            if opt.name in _SPEC_FIELDS
        }
        values["blend"] = settings.blend()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(mode=mode if mode == EDIT else Mode(mode), prompt=prompt, **values)


@dataclass(frozen=True)
class PreparedJob:
    """A job ready to send: its plan, the exact upload files and the estimate."""

    spec: JobSpec
    plan: Plan
    upload: Upload
    estimate_usd: float
    estimate: Estimate | None = None
    rerun_of: str | None = None  # the history id this job repeats, if any
    #: More job.json fields (a refine's parent_id, instruction, follow-up; a CLI source path).
    record_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobEvent:
    """Progress for the host: a partial preview, a final image (already in history), a status,
    or ``sent`` (the request is out: the API is working on it)."""

    kind: EventKind
    index: int = 0
    image: Image.Image | None = None
    elapsed_s: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class JobResult:
    history_id: str
    request_id: str | None
    usage: dict[str, Any] | None
    cost_usd: float | None
    estimate_usd: float
    images: list[Image.Image]
    patches: list[LayerPatch]
    elapsed_s: float
    paths: list[Path] = field(default_factory=list)
    plan: Plan | None = None
    size: str | None = None  # what the API reported (may differ from plan.api_size under auto)
    encoded: list[bytes] = field(default_factory=list, repr=False)  # the API's own file bytes
    #: results history could not take (full or failing disk), kept in another file instead
    rescued: dict[int, Path] = field(default_factory=dict)

    def where_kept(self) -> str:
        """Where the results are on disk, true for this job, for host and CLI messages."""
        parts = []
        if self.paths:
            parts.append(f"in History (entry {self.history_id})")
        if self.rescued:
            files = ", ".join(str(p) for _, p in sorted(self.rescued.items()))
            parts.append(f"in {files} (History could not take them)")
        return " and ".join(parts) or "nowhere on disk: History and the temp folder refused them"


#: The JobSpec fields that are options of the one definition (``core.options``).
_SPEC_FIELDS = (
    "model",
    "quality",
    "resolution",
    "n",
    "partial_images",
    "output_format",
    "output_compression",
    "background",
    "moderation",
    "aspect",
    "user",
)


# --- prepare -----------------------------------------------------------------------------------


def reference_from_bytes(name: str, data: bytes) -> InputImage:
    """An ``InputImage`` for a reference file: PNG, JPEG and WebP as they are, any other format
    Pillow reads (TIFF, BMP, PSD…) converted to PNG; ``InputError`` when it is no image."""
    image = open_checked(data, f"Reference {name}")  # absurd sizes refused from the header
    try:
        with image:
            kind = (image.format or "").lower()
            if kind not in REFERENCE_MIMES:
                buffer = io.BytesIO()
                image.convert("RGBA").save(buffer, "PNG")
                data, kind = buffer.getvalue(), "png"
    except Exception:  # Pillow raises several types for "not an image"
        raise InputError(f"Reference {name} is not an image Pillow can read.") from None
    if len(data) > 50 * 1024 * 1024:
        raise InputError(f"Reference {name} is over the API's 50 MB limit.")
    return InputImage(name=Path(name).name, data=data, mime=REFERENCE_MIMES[kind])


def _image_size(data: bytes) -> Extent:
    with Image.open(io.BytesIO(data)) as image:
        return Extent(*image.size)


def check_spec(spec: JobSpec, settings: Settings) -> JobSpec:
    """``spec`` checked against the option definition and the model's capabilities, before
    anything is read or sent; ``InputError`` (exit 2) names what the model takes."""
    caps = capabilities(spec.model, settings.custom_models)
    expanding = Mode(spec.mode) is Mode.EXPAND
    if expanding and spec.borders is None:
        raise InputError("Expand needs the borders to add.")
    prompt = check_prompt(expand_prompt(spec.prompt) if expanding else spec.prompt)
    check_options({name: getattr(spec, name) for name in _SPEC_FIELDS}, caps)
    edited = 0 if Mode(spec.mode) is Mode.GENERATE else 1
    limit = min(caps.max_input_images, MAX_INPUT_IMAGES) - edited
    if len(spec.references) > limit:
        raise InputError(
            f"{len(spec.references)} references given; at most {limit} fit in one request."
        )
    return replace(spec, prompt=prompt, mode=Mode(spec.mode))


def plan_for(
    spec: JobSpec, canvas: Extent | None, selection: SelectionMask | None, settings: Settings
) -> Plan:
    """The plan for ``spec``; text-to-image without a canvas takes its shape from ``aspect``."""
    mode = Mode(spec.mode)
    custom = settings.custom_models
    if mode is Mode.GENERATE and (canvas is None or spec.aspect):
        caps = capabilities(spec.model, custom)
        api_size = size_for_aspect(spec.aspect or "1:1", caps, spec.resolution)
        return _plan_job(
            mode,
            api_size,
            None,
            model=spec.model,
            resolution=api_size,
            blend=spec.blend,
            custom_models=custom,
        )
    if canvas is None:
        raise InputError("An edit needs the size of the image being edited.")
    if mode is Mode.EXPAND:
        if spec.borders is None:
            raise InputError("Expand needs the borders to add.")
        return _plan_expand(
            canvas,
            spec.borders,
            overlap_px=spec.overlap_px,
            model=spec.model,
            resolution=spec.resolution,
            custom_models=custom,
        )
    return _plan_job(
        mode,
        canvas,
        selection,
        model=spec.model,
        resolution=spec.resolution,
        blend=spec.blend,
        custom_models=custom,
    )


def estimate_for(
    spec: JobSpec, plan: Plan, reference_sizes: Sequence[Extent] | None = None
) -> Estimate:
    """The cost estimate for ``spec`` at ``plan``'s API size (no network); ``reference_sizes``
    (when given) are the sizes of the references, else they are read from ``spec``."""
    inputs = [plan.api_size] if plan.mode is not Mode.GENERATE else []
    if reference_sizes is None:
        reference_sizes = [_image_size(ref.data) for ref in spec.references]
    inputs += list(reference_sizes)
    return estimate(
        spec.model,
        spec.quality,
        plan.api_size,
        n=spec.n,
        partial_images=spec.partial_images,
        input_images=inputs,
        prompt=spec.prompt,
    )


def choose_mode(
    requested: Mode | str,
    selection: SelectionMask | None,
    canvas: Extent | None,
    layer_bounds: Bounds | None = None,
) -> tuple[Mode, SelectionMask | None]:
    """The policy for what a job edits, decided once for Krita, GIMP and the CLI.

    ``requested`` is the mode the person chose, or ``EDIT`` for "edit, whatever is selected".
    Generate keeps the selection (its bounds frame the result); an expand and a whole-image edit
    take none; an edit of the selection keeps it (the planner refuses a missing one). ``EDIT``
    with a selection is a masked edit; without one, a layer that covers only part of the canvas
    (``layer_bounds``, canvas coordinates) is edited as a rectangular selection of its area, one
    that covers it all (or no layer: the visible image) as a whole-image edit. ``InputError``
    when that layer lies entirely off the canvas.
    """
    if requested != EDIT:
        mode = Mode(requested)
        keep = mode in (Mode.GENERATE, Mode.EDIT_SELECTION)
        return mode, selection if keep else None
    if selection is not None:
        return Mode.EDIT_SELECTION, selection
    if layer_bounds is not None and canvas is not None:
        whole = Bounds.of_extent(canvas)
        box = layer_bounds.intersect(whole)
        if box.is_empty:
            raise InputError(
                "The active layer lies entirely outside the image.",
                hint="Move it onto the canvas, or edit the visible image instead.",
            )
        if box != whole:
            return Mode.EDIT_SELECTION, SelectionMask.from_rect(box)
    return Mode.EDIT_IMAGE, None


def _targeted(
    spec: JobSpec,
    canvas: Extent | None,
    selection: SelectionMask | None,
    layer_bounds: Bounds | None,
) -> tuple[JobSpec, SelectionMask | None]:
    """``spec`` with the mode ``choose_mode`` decides, and the selection that mode keeps."""
    mode, selection = choose_mode(spec.mode, selection, canvas, layer_bounds)
    return replace(spec, mode=mode), selection


def estimate_job(
    spec: JobSpec,
    canvas: Extent | None,
    selection: SelectionMask | None,
    settings: Settings,
    *,
    layer_bounds: Bounds | None = None,
    reference_sizes: Sequence[Extent] | None = None,
) -> tuple[Plan, Estimate]:
    """The plan and estimate of exactly the job ``read_job`` would build from the same inputs
    (mode choice, padding, grow, feather, references, variants, partials), without reading
    pixels: what hosts show before the person presses OK. ``reference_sizes`` stands in for
    ``spec.references`` when a host knows their sizes without reading their pixels."""
    spec, selection = _targeted(spec, canvas, selection, layer_bounds)
    spec = check_spec(spec, settings)
    plan = plan_for(spec, canvas, selection, settings)
    return plan, estimate_for(spec, plan, reference_sizes)


def prepare_job(
    spec: JobSpec,
    canvas: Extent | None,
    selection: SelectionMask | None,
    read_crop: Callable[[Bounds], Image.Image] | None,
    settings: Settings,
    *,
    layer_bounds: Bounds | None = None,
) -> PreparedJob:
    """Choose the mode (``choose_mode``), plan, read the crop's pixels (only those), build the upload, estimate.

    ``read_crop(bounds)`` returns RGBA pixels of ``bounds`` (canvas coordinates, always inside
    the canvas); it is not called for text-to-image. For an expand, ``canvas`` and ``read_crop``
    are the original document's (nothing is resized before the result is in hand); the plan is
    on the new canvas. A host whose UI thread must stay free calls the two halves instead:
    ``read_job`` there, ``finish_prepare`` on its worker.
    """
    return finish_prepare(
        read_job(spec, canvas, selection, read_crop, settings, layer_bounds=layer_bounds)
    )


@dataclass(frozen=True)
class ReadJob:
    """A job with its plan, estimate and crop pixels, whose upload is not built yet: what a
    host's UI thread hands its worker (``finish_prepare`` encodes it there)."""

    spec: JobSpec
    plan: Plan
    pixels: Image.Image | None = field(repr=False)
    estimate_usd: float
    estimate: Estimate | None = None


def read_job(
    spec: JobSpec,
    canvas: Extent | None,
    selection: SelectionMask | None,
    read_crop: Callable[[Bounds], Image.Image] | None,
    settings: Settings,
    *,
    layer_bounds: Bounds | None = None,
) -> ReadJob:
    """The half of ``prepare_job`` that needs the host (main thread): choose the mode, check,
    plan, estimate, read the crop's pixels. No encoding; a bad option or selection is refused
    here. ``layer_bounds``: the edited layer's box, for ``choose_mode``'s rule."""
    spec, selection = _targeted(spec, canvas, selection, layer_bounds)
    spec = check_spec(spec, settings)
    plan = plan_for(spec, canvas, selection, settings)
    pixels = None
    if plan.mode is not Mode.GENERATE:
        if read_crop is None:
            raise InputError("An edit needs the pixels of the area to edit.")
        if plan.expansion is not None:
            read_crop = expanded_reader(read_crop, plan.expansion)
        pixels = read_crop(plan.source_bounds)
    est = estimate_for(spec, plan)
    return ReadJob(spec, plan, pixels, est.usd, est)


def finish_prepare(read: ReadJob) -> PreparedJob:
    """The other half (any thread): the upload files from the pixels read."""
    upload = build_upload(read.plan, read.pixels)
    return PreparedJob(read.spec, read.plan, upload, read.estimate_usd, read.estimate)


# --- run ---------------------------------------------------------------------------------------


def build_request(prepared: PreparedJob) -> ImageRequest:
    """The client request: the crop (+ mask) first, then references; none for plain text-to-image."""
    spec, upload = prepared.spec, prepared.upload
    image = InputImage("image.png", upload.image_png, "image/png") if upload.image_png else None
    background = spec.background
    if background is None and prepared.plan.mode is not Mode.GENERATE:
        background = "opaque"  # under "auto", edits have come back partly transparent
    return ImageRequest(
        prompt=spec.prompt,
        model=prepared.plan.model,
        size=str(prepared.plan.api_size),
        quality=spec.quality,
        n=spec.n,
        output_format=spec.output_format,
        output_compression=spec.output_compression,
        background=background,
        moderation=spec.moderation,
        partial_images=spec.partial_images,
        user=spec.user,
        image=image,
        mask=upload.mask_png,
        references=tuple(spec.references),
    )


def _history_inputs(prepared: PreparedJob) -> dict[str, bytes | None]:
    inputs: dict[str, bytes | None] = {
        "image.png": prepared.upload.image_png,
        "mask.png": prepared.upload.mask_png,
    }
    selection = prepared.plan.selection
    if selection is not None:
        inputs["selection.png"] = png_bands.encode_gray(selection.coverage)
    return inputs


def job_record_settings(spec: JobSpec) -> dict[str, Any]:
    """The options that shaped the job, as stored in job.json (nothing secret)."""
    return {
        "quality": spec.quality,
        "resolution": spec.resolution,
        "aspect": spec.aspect,
        "n": spec.n,
        "partial_images": spec.partial_images,
        "output_format": spec.output_format,
        "output_compression": spec.output_compression,
        "background": spec.background,
        "moderation": spec.moderation,
        **(
            {"borders": list(spec.borders), "overlap_px": spec.overlap_px}
            if spec.borders is not None
            else {}
        ),
        "blend": {
            "padding_px": spec.blend.padding_px,
            "grow_px": spec.blend.grow_px,
            "feather_px": spec.blend.feather_px,
            "match_colour": spec.blend.match_colour,
        },
    }


def decode_image(data: bytes) -> Image.Image:
    return decode(data)


class _Run:
    """The callbacks and bookkeeping of one ``run_job`` call."""

    def __init__(
        self,
        prepared: PreparedJob,
        history: History,
        job_id: str,
        on_event: Callable[[JobEvent], None] | None,
    ) -> None:
        self.prepared = prepared
        self.history = history
        self.job_id = job_id
        self.on_event = on_event
        self.started = time.monotonic()
        self.stored: dict[int, Path] = {}
        self.rescued: dict[int, Path] = {}
        #: each result decoded once, on its way to its layer since it arrived
        self.layers: dict[int, PendingLayer] = {}
        self.timings: dict[str, float] = {}
        self._sent: Image.Image | None = None

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def emit(self, event: JobEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a host callback bug must not lose a paid image
            log.exception("Job event handler failed on %s", event.kind)

    def status(self, message: str) -> None:
        self.emit(JobEvent("status", elapsed_s=self.elapsed(), message=message))

    def sent(self) -> None:
        self.emit(JobEvent("sent", elapsed_s=self.elapsed()))

    def on_partial(self, partial: PartialImage) -> None:
        self.timings.setdefault("first_partial_s", self.elapsed())
        try:
            image = decode_image(partial.data)
        except Exception:  # a broken preview is not worth failing the job for
            log.warning("Partial image %d could not be decoded", partial.index)
            return
        self.emit(JobEvent("partial", partial.index, image, self.elapsed()))

    def on_image(self, index: int, data: bytes) -> None:
        """Result ``index`` arrived: written to history (on a second thread) while it is
        decoded and its layer begun, and reported only once it is on disk."""
        self.timings.setdefault("first_image_s", self.elapsed())
        with ThreadPoolExecutor(1, thread_name_prefix="gpt-image-save") as saver:
            saving = saver.submit(self.store, index, data)
            try:  # one layer resized ahead at a time: a first pass's memory, not n of them
                self.layers[index] = self.start_layer(data, ahead=not self.layers)
            except Exception:
                log.warning("Result image %d could not be decoded", index + 1)
            saving.result()
        if index in self.layers:
            self.emit(JobEvent("image", index, self.layers[index].image, self.elapsed()))

    def start_layer(self, data: bytes, *, ahead: bool = True) -> PendingLayer:
        upload = self.prepared.upload
        return start_layer(self.prepared.plan, data, self.uploaded(), upload=upload, ahead=ahead)

    def uploaded(self) -> Image.Image | None:
        """The uploaded picture, where the layer needs it (a colour match): the upload's own,
        or one read back from history decoded once."""
        upload, plan = self.prepared.upload, self.prepared.plan
        if upload.sent is not None or not (plan.masked and plan.blend.match_colour):
            return upload.sent
        if self._sent is None and upload.image_png:
            self._sent = decode_image(upload.image_png)
        return self._sent

    def drop_layers(self) -> None:
        """Stop the layers still in flight (a job ending without them)."""
        for layer in self.layers.values():
            layer.close()
        self.layers.clear()

    def store(self, index: int, data: bytes) -> None:
        """Write result ``index`` to history once; when history can't take it (full or failing
        disk), to a file elsewhere (``rescued``), so a paid image is on disk somewhere named."""
        if index in self.stored or index in self.rescued:
            return
        try:
            self.stored[index] = self.history.add_image(
                self.job_id, index, data, self.prepared.spec.output_format
            )
            return
        except OSError as exc:
            reason = exc.strerror or str(exc)
        kept = keep_elsewhere(data, "." + image_extension(data, self.prepared.spec.output_format))
        if kept is not None:
            self.rescued[index] = kept
            log.error(
                "Could not save result %d to history (%s); kept it as %s", index + 1, reason, kept
            )
        else:
            log.error(
                "Could not save result %d to history (%s), nor anywhere else", index + 1, reason
            )

    def where_kept(self) -> str:
        """A true sentence on where the results that arrived are, for error messages."""
        parts = []
        if self.stored:
            parts.append(f"{len(self.stored)} result(s) kept in history {self.job_id}")
        if self.rescued:
            parts.append("kept as " + ", ".join(str(p) for _, p in sorted(self.rescued.items())))
        return "; ".join(parts)

    def close(self, status: str, error: GptImageError | None = None, **fields: Any) -> None:
        self.drop_layers()
        try:
            self.history.finish(
                self.job_id,
                status,
                error=error.to_dict() if error else None,
                timings={**self.timings, "elapsed_s": self.elapsed()},
                **fields,
            )
        except (OSError, InputError) as exc:
            log.error("Could not record the end of job %s: %s", self.job_id, exc)


def _create_record(history: History, prepared: PreparedJob, request: ImageRequest) -> Any:
    spec, plan = prepared.spec, prepared.plan
    return history.create(
        prompt=spec.prompt,
        mode=plan.mode.value,
        model=plan.model,
        settings=job_record_settings(spec),
        source_document=spec.source_document,
        inputs=_history_inputs(prepared),
        references=[(ref.name, ref.data) for ref in spec.references],
        api_size=str(plan.api_size),
        canvas=list(plan.canvas),
        crop=list(plan.crop),
        plan=plan.to_dict(),
        estimate_usd=prepared.estimate_usd,
        estimate=prepared.estimate.breakdown if prepared.estimate else None,
        endpoint="edits" if request.image is not None or request.references else "generations",
        selection_origin=list(plan.selection.origin) if plan.selection is not None else None,
        rerun_of=prepared.rerun_of,
        **dict(prepared.record_fields),
    )


def run_job(
    prepared: PreparedJob,
    settings: Settings,
    *,
    on_event: Callable[[JobEvent], None] | None = None,
    cancel: CancelToken | None = None,
    history: History | None = None,
    client: ImageClient | None = None,
) -> JobResult:
    """Send the job, keep every paid image in history as it arrives, return layer patches.

    Runs on a worker thread; ``on_event`` is called from it (hosts marshal to their UI thread).
    Raises the client's ``GptImageError`` (``Cancelled`` on cancel) after recording it.
    """
    history = history if history is not None else History.from_settings(settings)
    if client is None:
        client = ImageClient(settings.connection(), custom_models=settings.custom_models)
    request = build_request(prepared)
    spec, plan = prepared.spec, prepared.plan
    try:
        record = _create_record(history, prepared, request)
    except OSError as exc:  # nothing has been sent or paid yet: refuse to start
        raise InputError(
            f"Cannot write the history folder {history.root}: {exc.strerror or exc}",
            hint="Results are kept there before they are shown; free space or fix permissions.",
        ) from None
    run = _Run(prepared, history, record.id, on_event)
    run.status(f"Sending {plan.mode.value} request ({plan.api_size}, {spec.quality})")
    try:
        result = client.run(
            request,
            on_partial=run.on_partial,
            on_image=run.on_image,
            cancel=cancel,
            on_sent=run.sent,
        )
    except Cancelled as error:
        run.close("cancelled", error, request_id=error.request_id)
        raise
    except GptImageError as error:
        run.close("failed", error, request_id=error.request_id)
        raise
    except KeyboardInterrupt:
        run.close("cancelled", Cancelled())
        raise
    except Exception as error:  # a bug: close the record, say so, never call it a network error
        log.info("Internal error in job %s:\n%s", record.id, traceback.format_exc())
        bug = InternalError.from_exception(error, request_sent=None, kept=run.where_kept())
        run.close("failed", bug)
        raise bug from error
    for index, data in enumerate(result.images):
        run.store(index, data)  # any the client did not hand over one by one
    done: dict[str, Any] = {"request_id": result.request_id, "usage": result.usage}
    try:
        done["cost_usd"] = actual_cost(result.usage, plan.model)
    except Exception as exc:  # a bug here must still close the record (images are safe)
        log.info("Internal error pricing job %s:\n%s", record.id, traceback.format_exc())
        bug = InternalError.from_exception(exc, request_sent=True, kept=run.where_kept())
        run.close("failed", bug, **done)
        raise bug from exc
    cost = done["cost_usd"]
    try:
        images, patches = [], []
        for index, data in enumerate(result.images):
            layer = run.layers.pop(index, None) or run.start_layer(data)
            try:
                patches.append(layer.patch())
            finally:
                layer.close()
            images.append(layer.image)
    except Exception as exc:
        kept = run.where_kept()
        error = ApiUnavailable(
            "The API returned an image that could not be read.",
            hint=f"The file is {kept}; try again." if kept else "Try again.",
            request_id=result.request_id,
            details={"reason": str(exc)},
        )
        run.close("failed", error, **done)
        raise error from None
    if not images:
        error = ApiUnavailable("The API returned no image.", request_id=result.request_id)
        run.close("failed", error, **done)
        raise error
    run.close("done", returned_size=result.size, **done)
    run.status(f"Done: {len(images)} image(s)")
    return JobResult(
        history_id=record.id,
        request_id=result.request_id,
        usage=result.usage,
        cost_usd=cost,
        estimate_usd=prepared.estimate_usd,
        images=images,
        patches=patches,
        elapsed_s=run.elapsed(),
        paths=[run.stored[i] for i in sorted(run.stored)],
        plan=plan,
        size=result.size,
        encoded=list(result.images),
        rescued=dict(run.rescued),
    )


def prepared_from_history(record: Any, settings: Settings) -> PreparedJob:
    """The exact job a history entry ran (same upload, mask, references, options), to run again.

    Nothing is re-planned: the stored crop, API size and upload files are reused, so the new
    results map onto the same canvas area as the old ones.
    """
    spec, plan, upload = _stored_job(record)
    spec = check_spec(spec, settings)
    est = estimate_for(spec, plan)
    return PreparedJob(spec, plan, upload, est.usd, est, rerun_of=record.id)


def patches_from_history(record: Any) -> list[LayerPatch]:
    """A past job's results as layers again: at the place they were made for, through the same
    feathered selection and colour correction as when they first arrived."""
    if not record.images:
        raise InputError("That history entry has no images.")
    _, plan, upload = _stored_job(record)
    sent = decode_image(upload.image_png) if upload.image_png else None
    try:
        return [build_layer(plan, decode_image(path.read_bytes()), sent) for path in record.images]
    except OSError as exc:
        raise InputError(f"History entry {record.id} has an unreadable image: {exc}") from None


def patch_from_history(record: Any, index: int) -> LayerPatch:
    """Image ``index`` (0-based) of a past job as a layer, decoding only that image."""
    images = record.images
    if not 0 <= index < len(images):
        raise InputError(f"History entry {record.id} has no image {index + 1}.")
    _, plan, upload = _stored_job(record)
    sent = decode_image(upload.image_png) if upload.image_png else None
    try:
        return build_layer(plan, decode_image(images[index].read_bytes()), sent)
    except OSError as exc:
        raise InputError(f"History entry {record.id} has an unreadable image: {exc}") from None


def stored_job(record: Any) -> tuple[JobSpec, Plan, Upload]:
    """The spec, plan and upload files a history entry recorded (``InputError`` if it can't)."""
    return _stored_job(record)


def _stored_job(record: Any) -> tuple[JobSpec, Plan, Upload]:
    """The spec, plan and upload files a history entry recorded."""
    data = record.data
    if getattr(record, "readable", True) is False:
        raise InputError(
            f"History entry {record.id} is unreadable: {record.unreadable_reason}.",
            hint="Its result images (if any) are still in its folder; see `history show ID`.",
        )
    try:
        options = record_options(data)
        blend = BlendOptions(**options["blend"])
        files = record.inputs
        stored = files.get("references", [])
        names = list((data.get("inputs") or {}).get("reference_names") or [])
        names += [path.name for path in stored[len(names) :]]
        references = tuple(
            InputImage(name, path.read_bytes(), _mime_of(path))
            for name, path in zip(names, stored, strict=False)
        )
        spec = JobSpec(
            mode=Mode(data["mode"]),
            prompt=str(data["prompt"]),
            model=options["model"],
            quality=options["quality"],
            resolution=options["resolution"],
            n=options["n"],
            partial_images=options["partial_images"],
            output_format=options["output_format"],
            background=options["background"],
            references=references,
            blend=blend,
            source_document=str(data.get("source_document") or ""),
            aspect=options["aspect"],
            output_compression=options["output_compression"],
            moderation=options["moderation"],
            borders=Borders(*options["borders"]) if options.get("borders") else None,
            overlap_px=int(options.get("overlap_px", DEFAULT_OVERLAP_PX)),
        )
        selection = None
        if "selection" in files:
            with Image.open(files["selection"]) as coverage:
                origin = data.get("selection_origin") or data["crop"][:2]
                selection = SelectionMask(coverage.convert("L"), Point(*origin))
        stored_plan = data.get("plan") or {}
        expansion = stored_plan.get("expansion")
        plan = Plan(
            mode=spec.mode,
            model=spec.model,
            canvas=Extent(*data["canvas"]),
            crop=Bounds(*data["crop"]),
            api_size=Extent.parse(str(data["api_size"])),
            selection=selection,
            blend=blend,
            expansion=Expansion.from_dict(expansion) if expansion else None,
        )
        upload = Upload(
            files["image"].read_bytes() if "image" in files else None,
            files["mask"].read_bytes() if "mask" in files else None,
        )
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise InputError(
            f"History entry {record.id} lacks what it needs: {exc!r}",
            hint="Entries from before a crash or by an older version may lack their inputs.",
        ) from None
    return spec, plan, upload


def _mime_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return REFERENCE_MIMES.get("jpeg" if suffix == "jpg" else suffix, "image/png")


def improve(prompt: str, settings: Settings, *, mode: str = "generate", client: Any = None) -> str:
    """'Improve my prompt' for hosts and CLI: a rewrite for the person to accept (or not)."""
    from .prompting import improve_prompt

    return improve_prompt(prompt, settings, mode=mode, client=client)


__all__: Sequence[str] = (
    "EDIT",
    "JobEvent",
    "JobResult",
    "JobSpec",
    "PreparedJob",
    "ReadJob",
    "build_request",
    "choose_mode",
    "estimate_for",
    "estimate_job",
    "finish_prepare",
    "improve",
    "patch_from_history",
    "patches_from_history",
    "plan_for",
    "prepare_job",
    "prepared_from_history",
    "read_job",
    "reference_from_bytes",
    "run_job",
)
