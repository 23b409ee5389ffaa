"""One batch job's files: read its image and selection, prepare it, write its outputs.

The same steps as ``python -m core edit`` / ``generate`` (the CLI's own readers and encoders),
so a batch line and the single command with the same options give the same file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PIL import Image

from ..errors import InputError
from ..geometry import Extent
from ..jobs import PreparedJob, patches_from_history, prepare_job
from ..pipeline import LayerPatch, composite
from ..selection import SelectionMask
from ..settings import Settings, atomic_write
from .jobfile import BatchJob


@dataclass
class Canvas:
    """The image being edited (None for text-to-image) and its selection."""

    pixels: Image.Image | None
    had_alpha: bool = False
    selection: SelectionMask | None = None

    @property
    def extent(self) -> Extent | None:
        return Extent(*self.pixels.size) if self.pixels is not None else None


def load_canvas(job: BatchJob) -> Canvas:
    """The job's image as RGBA and its selection, read the way ``edit`` reads them."""
    from ..cli.options import read_image_raw, read_selection

    if job.image is None:
        return Canvas(None)
    raw = read_image_raw(job.image)
    had_alpha = raw.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in raw.info
    pixels = raw.convert("RGBA")
    rect = ",".join(str(v) for v in job.rect) if job.rect is not None else None
    selection = read_selection(
        SimpleNamespace(rect=rect, selection=job.selection), Extent(*pixels.size)
    )
    return Canvas(pixels, had_alpha, selection)


def prepare(job: BatchJob, settings: Settings) -> tuple[PreparedJob, Canvas]:
    """Plan, read the crop, build the upload, estimate: ``prepare_job`` on the job's files."""
    canvas = load_canvas(job)
    pixels = canvas.pixels
    prepared = prepare_job(
        job.spec,
        canvas.extent,
        canvas.selection,
        (lambda bounds: pixels.crop(bounds.box)) if pixels is not None else None,
        settings,
    )
    return prepared, canvas


def write_outputs(
    job: BatchJob, canvas: Canvas, patches: list[LayerPatch], encoded: list[bytes]
) -> list[Path]:
    """The composites (edits) or the images themselves (generate), one file per result."""
    from ..cli.jobs import encode, flatten
    from ..history import image_extension

    files: list[tuple[Path, bytes]] = []
    if canvas.pixels is not None:
        for path, patch in zip(job.outputs, patches, strict=False):
            full = flatten(composite(canvas.pixels, patch), canvas.had_alpha)
            files.append((path, encode(full, path)))
    else:
        for path, data in zip(job.outputs, encoded, strict=False):
            same = _pil_format(path) == image_extension(data).upper()
            files.append((path, data if same else encode(_decode(data), path)))
    written = []
    for path, data in files:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        except OSError as exc:
            raise InputError(f"Cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written


def outputs_from_history(job: BatchJob, record: Any) -> list[Path]:
    """A paid result already in history, written out again without sending anything."""
    canvas = load_canvas(job)
    if canvas.pixels is not None:
        return write_outputs(job, canvas, patches_from_history(record), [])
    return write_outputs(job, canvas, [], [p.read_bytes() for p in record.images])


def _pil_format(path: Path) -> str:
    from ..cli.jobs import PIL_FORMATS

    return PIL_FORMATS[path.suffix.lower()]


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
