"""One Expand… run: plan on the untouched image, send, then resize + fill in one undo group.

The visible image is read (only the context band core asks for) before anything changes; when
the result is in history, the image is resized with the original at the offset core chose and
the fill goes on top as a layer with a layer mask (the new area + the feathered overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

from core import jobs  # noqa: E402
from core import settings as core_settings  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.expand import Borders, borders_for_aspect, check_borders, expand_note  # noqa: E402
from core.naming import job_layer_name  # noqa: E402
from core.pipeline import Mode  # noqa: E402

from . import canvas, logs, runner  # noqa: E402
from .expand_args import ExpandOptions  # noqa: E402
from .job import Outcome, collect_references, image_label, outcome_of  # noqa: E402

log = logs.get("expand")


def borders_for(image: Gimp.Image, options: ExpandOptions) -> Borders:
    if options.aspect:
        return borders_for_aspect(canvas.canvas_extent(image), options.aspect, options.anchor)
    return check_borders(Borders(*options.sides))


def spec_for(
    image: Gimp.Image, options: ExpandOptions, settings: Any, references: tuple = ()
) -> jobs.JobSpec:
    return jobs.JobSpec.from_settings(
        settings,
        Mode.EXPAND,
        options.prompt,
        model=options.model,
        quality=options.quality,
        resolution=options.resolution,
        n=options.variants,
        references=references,
        source_document=image_label(image),
        borders=borders_for(image, options),
        overlap_px=options.overlap,
    )


def prepare(
    image: Gimp.Image, options: ExpandOptions, settings: Any, references: tuple = ()
) -> jobs.PreparedJob:
    """Plan and read (the visible image, only the band core needs); the image is unchanged."""
    spec = spec_for(image, options, settings, references)
    with canvas.visible_projection(image) as source:
        return jobs.prepare_job(
            spec,
            canvas.canvas_extent(image),
            None,
            lambda box: canvas.read_region(source, box),
            settings,
        )


def execute(
    image: Gimp.Image,
    options: ExpandOptions,
    reference_layers: Sequence[Gimp.Drawable],
    progress: runner.Progress,
    settings: Any,
) -> Outcome:
    """The whole run; raises ``GptImageError`` (image untouched) or returns the fill layer.

    References (``references``, ``reference-layer*``) guide the fill as they guide an edit."""
    references = collect_references(options, reference_layers)
    prepared = prepare(image, options, settings, references)
    plan = prepared.plan
    log.info("expand plan: %s estimate=%s", plan.to_dict(), prepared.estimate_usd)
    result = runner.run_in_background(
        prepared,
        settings,
        progress,
        timeout_s=options.timeout_s,
        cancel_path=runner.cancel_file(core_settings.data_dir()),
    )
    note = expand_note(plan)
    if note:
        log.info("%s", note)
        progress.set_text(note)
    info = {
        "history_id": result.history_id,
        "request_id": result.request_id,
        "prompt": options.prompt,
        "model": options.model,
        "quality": options.quality,
        "mode": plan.mode.value,
        "expansion": plan.expansion.to_dict(),
        "note": note,
    }
    layer = write_results(image, plan, result.patches, options.prompt, info)
    return outcome_of(layer, result)


def write_results(image: Gimp.Image, plan: Any, patches: list, prompt: str, info: dict):
    """Resize the canvas and add the fill on top, in one undo group; all or nothing. The fill
    is named after ``prompt`` as core names an expand's (``job_layer_name``), as in Krita."""
    if not patches:
        raise InputError("The API returned no image.", hint="Try again; nothing was changed.")
    expansion = plan.expansion
    old_w, old_h = image.get_width(), image.get_height()
    if (old_w, old_h) != tuple(expansion.image):
        raise InputError(
            f"The image changed size while the job ran ({old_w}x{old_h}, was "
            f"{expansion.image}); the result is in history.",
        )
    several = len(patches) > 1
    names = [
        job_layer_name(Mode.EXPAND, prompt, i if several else None) for i in range(len(patches))
    ]
    offset = expansion.offset
    image.undo_group_start()
    try:
        if not image.resize(*expansion.canvas, offset.x, offset.y):
            raise InputError(f"GIMP refused to resize the image to {expansion.canvas}.")
        layer = None
        try:
            group = job_layer_name(Mode.EXPAND, prompt)
            layer = canvas.insert_results(image, None, patches, names, group)
            canvas.tag_layer(layer, info)
        except Exception:
            if layer is not None and layer.is_valid():
                image.remove_layer(layer)
            image.resize(old_w, old_h, -offset.x, -offset.y)  # the image stays as it was
            raise
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    return layer
