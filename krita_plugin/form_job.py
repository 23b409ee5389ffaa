"""The docker's form → the core's settings and ``JobSpec``, as GIMP and the CLI build theirs.

The form's options override the saved settings for this job (and are saved back when the job
starts); references are read here, on the main thread, because layer pixels come from Krita.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from . import document
from .core import jobs
from .core.errors import InputError
from .core.geometry import Bounds, Extent
from .core.options import settings_options
from .core.settings import Settings, load_settings
from .form_values import FormValues, Reference


def settings_for(values: FormValues | None = None) -> Settings:
    """The saved settings with the form's options on top (the saved ones alone without a form)."""
    settings = load_settings()
    if values is None:
        return settings
    # every job option the form holds, under its Settings name (``core.options``)
    update = {
        opt.settings: getattr(values, opt.name)
        for opt in settings_options()
        if opt.settings and hasattr(values, opt.name)
    }
    return settings.model_copy(update=update)


def spec_for(
    values: FormValues, settings: Settings, doc: Any, color: document.ColorInfo
) -> jobs.JobSpec:
    """The job the form describes, its references read from ``doc`` and from disk."""
    refs = tuple(load_reference(ref, doc, color) for ref in values.references)
    return job_spec(values, settings, refs, document.describe_document(doc))


def job_spec(
    values: FormValues,
    settings: Settings,
    references: tuple[jobs.InputImage, ...] = (),
    source_document: str = "",
) -> jobs.JobSpec:
    """The core job of the form's values over ``settings`` (``settings_for``): the mode the form
    names (core's ``choose_mode`` decides what it uses), the prompt and the references read."""
    return jobs.JobSpec.from_settings(
        settings,
        values.mode,
        values.prompt,
        references=references,
        source_document=source_document,
    )


def reference_sizes(refs: list[Reference], doc: Any) -> list[Extent]:
    """The sizes the listed references will be sent at, without reading their pixels (for the
    live estimate): a file's from its header, a layer's from its bounds on the canvas. One that
    cannot be read is left out here; the job itself refuses it with a clear message."""
    sizes = []
    canvas = Bounds.of_extent(document.canvas_extent(doc))
    for ref in refs:
        if ref.kind == "file":
            try:
                with Image.open(ref.key) as image:
                    sizes.append(Extent(*image.size))
            except Exception:  # gone or not an image: the job says so
                continue
        else:
            node = document.find_node(doc, ref.key)
            box = document.node_bounds(node).intersect(canvas) if node is not None else None
            if box is not None and not box.is_empty:
                sizes.append(box.extent)
    return sizes


def load_reference(ref: Reference, doc: Any, color: document.ColorInfo) -> jobs.InputImage:
    """A listed reference as an upload; a clear ``InputError`` when it has gone."""
    if ref.kind == "file":
        path = Path(ref.key)
        try:
            return jobs.reference_from_bytes(path.name, path.read_bytes())
        except OSError as exc:
            raise InputError(f"Reference file {path} can't be read: {exc.strerror}.") from None
    node = document.find_node(doc, ref.key)
    if node is None:
        raise InputError(f"Reference layer {ref.label!r} is not in this document any more.")
    return document.layer_reference(doc, node, color)
