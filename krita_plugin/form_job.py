"""The docker's form → the core's settings and ``JobSpec``, as GIMP and the CLI build theirs.

The form's options override the saved settings for this job (and are saved back when the job
starts); references are read here, on the main thread, because layer pixels come from Krita.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import document
from .core import jobs
from .core.errors import InputError
from .core.options import settings_options
from .core.settings import Settings, load_settings
from .form import FormValues, Reference


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
    return jobs.JobSpec.from_settings(
        settings,
        values.mode,
        values.prompt,
        references=refs,
        source_document=document.describe_document(doc),
    )


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
