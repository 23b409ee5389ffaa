"""One Edit… or Generate… run, from argument values to new layers. Main thread only.

Reads what the job needs from the image (selection, crop pixels, reference layers), hands the
HTTP part to ``runner`` and writes the results in one undo group. Nothing touches the image
before the results are in hand, so an error or a cancel leaves it as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

from core import jobs  # noqa: E402
from core import settings as core_settings  # noqa: E402
from core.client import InputImage  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.geometry import Bounds  # noqa: E402
from core.naming import reference_file_name  # noqa: E402
from core.pipeline import Mode  # noqa: E402

from . import canvas, logs, runner  # noqa: E402
from .arguments import (  # noqa: E402
    EDIT_PROC,
    JobOptions,
    Reference,
    check_reference_count,
    job_spec,
    layer_name,
    resolve_references,
)

log = logs.get("job")


@dataclass
class Outcome:
    layer: Gimp.Layer
    history_id: str
    cost_usd: float | None
    estimate_usd: float | None = None
    elapsed_s: float = 0.0
    images: int = 1


def image_label(image: Gimp.Image) -> str:
    """What history records as the source document: the file path, else the image name."""
    file = image.get_file()
    path = file.get_path() if file is not None else None
    return path or image.get_name() or f"GIMP image {image.get_id()}"


def reference_from_file(path: str) -> InputImage:
    """An image file as the API receives it (core converts formats the API does not take)."""
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"Reference file not found: {path}", hint="Check the path in references."
        ) from None
    except OSError as exc:
        raise InputError(f"Reference file {path} cannot be read ({exc.strerror}).") from None
    return jobs.reference_from_bytes(os.path.basename(path), data)


def reference_from_drawable(drawable: Gimp.Drawable) -> InputImage:
    image = canvas.read_whole(drawable)
    return InputImage(
        reference_file_name(drawable.get_name()), canvas.png_bytes(image), "image/png"
    )


def drawable_by_id(item_id: int) -> Gimp.Drawable | None:
    """The drawable (layer, mask, channel) with this item id in any open image, else None."""
    if not 0 < item_id < 2**31:  # ids are positive gint32; larger ones would overflow
        return None
    item = Gimp.Item.get_by_id(item_id)
    return item if isinstance(item, Gimp.Drawable) else None


def layer_by_name(image_name: str, name: str) -> Gimp.Drawable | None:
    """The layer ``name`` of the first open image called ``image_name`` that has one (the
    image name is what GIMP shows: the file's name, or ``[Untitled]``)."""
    for image in Gimp.get_images():
        if image.get_name() == image_name:
            layer = image.get_layer_by_name(name)
            if layer is not None:
                return layer
    return None


def resolve(options: JobOptions, drawables: Sequence[Gimp.Drawable]) -> tuple[Reference, ...]:
    """The ``references`` entries, then the ``reference-layer*`` drawables, each drawable once.
    ``InputError`` (→ CALLING_ERROR) before any pixel is read or written."""
    extra = [d for d in drawables if d is not None]
    try:
        check_reference_count(len(options.references) + len(extra))
        named = resolve_references(options.references, drawable_by_id, layer_by_name)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    refs, seen = [], set()
    for ref in (*named, *(Reference("layer", d, d.get_name()) for d in extra)):
        if ref.kind == "layer":
            if ref.value.get_id() in seen:
                continue
            seen.add(ref.value.get_id())
        refs.append(ref)
    return tuple(refs)


def collect_references(
    options: JobOptions, drawables: Sequence[Gimp.Drawable]
) -> tuple[InputImage, ...]:
    """Every reference as the API receives it: files as they are, layers exported as PNG."""
    return tuple(
        reference_from_drawable(ref.value)
        if ref.kind == "layer"
        else reference_from_file(ref.value)
        for ref in resolve(options, drawables)
    )


def _requested(proc_name: str) -> str:
    """The mode asked for: Edit… lets core decide (``jobs.choose_mode``), Generate… generates."""
    return jobs.EDIT if proc_name == EDIT_PROC else Mode.GENERATE.value


def _layer_box(proc_name: str, options: JobOptions, source: Any) -> Bounds | None:
    """The edited layer's box on the canvas, for core's layer-smaller-than-the-image rule
    (None: the visible image is edited, or nothing is)."""
    if proc_name != EDIT_PROC or options.source != "layer" or source is None:
        return None
    return _canvas_box(source)


def estimate(
    proc_name: str,
    image: Gimp.Image,
    drawables: Sequence[Gimp.Drawable],
    options: JobOptions,
    reference_drawables: Sequence[Gimp.Drawable],
    settings: Any,
) -> tuple[Any, Any]:
    """(plan, estimate) of exactly the job ``execute`` runs for these inputs: the same mode
    choice, spec, references and core planner, without reading pixels (the dialog's line)."""
    anchor = canvas.anchor_layer(drawables)
    selection = canvas.read_selection(image)
    references = collect_references(options, reference_drawables)
    spec = job_spec(_requested(proc_name), options, references, settings, image_label(image))
    return jobs.estimate_job(
        spec,
        canvas.canvas_extent(image),
        selection,
        settings,
        layer_bounds=_layer_box(proc_name, options, anchor),
    )


def _canvas_box(drawable: Gimp.Drawable) -> Bounds:
    _ok, x, y = drawable.get_offsets()
    return Bounds(x, y, drawable.get_width(), drawable.get_height())


@contextlib.contextmanager
def _source(image: Gimp.Image, options: JobOptions, anchor: Gimp.Drawable | None, needed: bool):
    """The drawable an edit reads: the active layer, or the visible image (also when no layer
    is active). Text-to-image reads no pixels and gets None."""
    if not needed:
        yield None
    elif options.source == "visible" or anchor is None:
        with canvas.visible_projection(image) as layer:
            yield layer
    else:
        yield anchor


def execute(
    proc_name: str,
    image: Gimp.Image,
    drawables: Sequence[Gimp.Drawable],
    options: JobOptions,
    reference_drawables: Sequence[Gimp.Drawable],
    progress: runner.Progress,
    settings: Any,
) -> Outcome:
    """The whole run; raises ``GptImageError`` (image untouched) or returns the new layer."""
    anchor = canvas.anchor_layer(drawables)
    selection = canvas.read_selection(image)
    references = collect_references(options, reference_drawables)
    with _source(image, options, anchor, needed=proc_name == EDIT_PROC) as source:
        spec = job_spec(_requested(proc_name), options, references, settings, image_label(image))
        log.info(
            "%s: model=%s quality=%s resolution=%s n=%d refs=%d selection=%s",
            proc_name,
            options.model,
            options.quality,
            options.resolution,
            options.variants,
            len(references),
            selection.bounds if selection is not None else None,
        )
        from .variants import read_as_seen  # a masked layer is read as it shows

        read_crop = None if source is None else (lambda box: read_as_seen(source, box))
        prepared = jobs.prepare_job(
            spec,
            canvas.canvas_extent(image),
            selection,
            read_crop,
            settings,
            layer_bounds=_layer_box(proc_name, options, source),
        )
    log.info("plan: %s estimate=%s", prepared.plan.to_dict(), prepared.estimate_usd)
    result = runner.run_in_background(
        prepared,
        settings,
        progress,
        timeout_s=options.timeout_s,
        cancel_path=runner.cancel_file(core_settings.data_dir()),
    )
    log.info(
        "job %s done: %d image(s), request %s, cost %s, %.1f s",
        result.history_id,
        len(result.patches),
        result.request_id,
        result.cost_usd,
        result.elapsed_s,
    )
    info = {
        "history_id": result.history_id,
        "request_id": result.request_id,
        "prompt": options.prompt,
        "model": options.model,
        "quality": options.quality,
        "mode": prepared.plan.mode.value,
    }
    # one result layer showing variant 1 and keeping all of them (Filters → GPT Image → Variants…)
    from . import variants

    stack = variants.stack_for_result(settings, str(result.history_id))
    layer = _write_results(image, anchor, options, result.patches[:1], info, stack)
    return outcome_of(layer, result)


def outcome_of(layer: Gimp.Layer, result: Any) -> Outcome:
    """What the run reports: the layer, the history id, the actual cost beside the estimate."""
    return Outcome(
        layer,
        str(result.history_id or ""),
        result.cost_usd,
        result.estimate_usd,
        result.elapsed_s,
        len(result.patches),
    )


def _write_results(
    image: Gimp.Image,
    anchor: Gimp.Layer | None,
    options: JobOptions,
    patches: Sequence[Any],
    info: dict,
    stack: Any = None,
) -> Gimp.Layer:
    if not patches:
        raise InputError("The API returned no image.", hint="Try again; nothing was changed.")
    names = [
        layer_name(options.prompt, i if len(patches) > 1 else None) for i in range(len(patches))
    ]
    image.undo_group_start()
    try:
        layer = canvas.insert_results(image, anchor, patches, names, layer_name(options.prompt))
        try:
            canvas.tag_layer(layer, info)
            if stack is not None:
                from . import variants

                variants.write_stack(layer, stack)
        except Exception:
            image.remove_layer(layer)  # all or nothing: the image stays as it was
            raise
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    return layer
