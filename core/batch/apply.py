"""One batch job's files: read its image and selection, prepare it, write its outputs.

The same steps as ``python -m core edit`` / ``generate`` (the CLI's own image reader, blending
and output writers), so a batch line and the single command with the same options give the
same file, and a failed write says where the paid result is kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PIL import Image

from ..geometry import Extent
from ..history import History
from ..jobs import PreparedJob, patches_from_history, prepare_job
from ..selection import SelectionMask
from ..settings import Settings
from .jobfile import BatchJob


@dataclass
class Canvas:
    """The image being edited (``core.imagefile.SourceImage``; None for text-to-image)."""

    source: Any = None
    selection: SelectionMask | None = None

    @property
    def extent(self) -> Extent | None:
        return Extent(*self.source.size) if self.source is not None else None


def load_canvas(job: BatchJob) -> Canvas:
    """The job's image and selection, read the way ``edit`` reads them."""
    from ..cli.options import read_image, read_selection

    if job.image is None:
        return Canvas()
    source = read_image(job.image)
    rect = ",".join(str(v) for v in job.rect) if job.rect is not None else None
    selection = read_selection(
        SimpleNamespace(rect=rect, selection=job.selection), Extent(*source.size)
    )
    return Canvas(source, selection)


def prepare(job: BatchJob, settings: Settings) -> tuple[PreparedJob, Canvas]:
    """Plan, read the crop, build the upload, estimate: ``prepare_job`` on the job's files."""
    from ..cli.jobs import crop_reader

    canvas = load_canvas(job)
    reader = crop_reader(canvas.source.pixels) if canvas.source is not None else None
    prepared = prepare_job(job.spec, canvas.extent, canvas.selection, reader, settings)
    return prepared, canvas


def write_outputs(job: BatchJob, canvas: Canvas, result: Any, history: History) -> list[Path]:
    """The composites (edits) or the images themselves (generate), one file per result.

    ``result`` has ``history_id`` and ``patches`` (edits) or ``encoded`` + ``images`` (generate).
    """
    from ..cli.jobs import result_files, write_edit_outputs
    from ..cli.outputs import save_outputs

    outputs = list(job.outputs)
    if canvas.source is not None:
        return write_edit_outputs(canvas.source, outputs, result, history)
    files = result_files(outputs, result)
    save_outputs(files, result, history)
    return [path for path, _ in files]


def outputs_from_history(job: BatchJob, record: Any, history: History) -> list[Path]:
    """A paid result already in history, written out again without sending anything."""
    canvas = load_canvas(job)
    if canvas.source is not None:
        result = SimpleNamespace(history_id=record.id, patches=patches_from_history(record))
    else:
        encoded = [path.read_bytes() for path in record.images]
        result = SimpleNamespace(
            history_id=record.id, encoded=encoded, images=[_decode(d) for d in encoded]
        )
    return write_outputs(job, canvas, result, history)


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
