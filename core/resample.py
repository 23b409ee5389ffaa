"""Resizes of large pictures on all cores, value for value what Pillow computes on one.

A Pillow resize is two one-axis passes (horizontal, then vertical) that release the GIL but run
on one core. Here each pass is split: the horizontal pass in bands of rows (each band is a
horizontal resize of its own rows), the vertical one in bands of columns (a vertical resize of
its own columns). A band's coefficients are exactly those of the whole pass, so the result is
the same bytes as the two passes over the whole picture, on every Pillow version, whichever
order a version's own two-axis resize chooses; a 4096² ↔ 2880² LANCZOS resize takes about half
the time on two cores. Pillow 13 runs its two passes in the order it estimates cheaper; these
always run horizontal first, which is what it picks for a uniform scale (every crop ↔ API
resize of the pipeline) and what older versions always do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from PIL import Image

#: Pictures smaller than this (pixels, larger side of the resize) are resized in one go: a
#: thread's start costs more than a band saves.
MIN_BANDED_PIXELS = 1 << 20
#: Pixels of one band at most: bands in flight are copies, kept small beside the picture.
BAND_PIXELS = 1 << 20
#: Pillow resizes these modes in place; LA and RGBA it resizes premultiplied (``La``/``RGBa``).
_DIRECT = ("L", "RGB", "RGBX", "RGBa", "La", "I", "F", "CMYK")
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def workers() -> int:
    """Bands per pass: the cores this process may use, at most four."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on every platform
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def resize(
    image: Image.Image,
    size: tuple[int, int],
    resample: Image.Resampling = Image.Resampling.LANCZOS,
) -> Image.Image:
    """``image`` resized to ``size`` with ``resample``: horizontal pass, then vertical, each on
    all cores for a large picture. Modes Pillow resizes premultiplied (RGBA, LA) are too."""
    size = (int(size[0]), int(size[1]))
    image.load()  # a file not yet decoded: once, here, not by two bands at the same time
    if image.size == size:
        return image.copy()
    if image.mode in _PREMULTIPLIED:
        premultiplied = image.convert(_PREMULTIPLIED[image.mode])
        return resize(premultiplied, size, resample).convert(image.mode)
    if image.mode not in _DIRECT or resample == Image.Resampling.NEAREST:
        return image.resize(size, resample)
    width, height = image.size
    cores = workers()
    if cores == 1 or max(width * height, size[0] * size[1]) < MIN_BANDED_PIXELS:
        if size[0] != width:
            image = image.resize((size[0], height), resample)
        return image.resize(size, resample) if size[1] != height else image
    with ThreadPoolExecutor(cores, thread_name_prefix="gpt-image-resize") as pool:
        if size[0] != width:
            bands = _bands(max(width, size[0]) * height, cores)
            image = _horizontal(pool, image, size[0], resample, bands)
        if size[1] != height:
            bands = _bands(image.width * max(height, size[1]), cores)
            image = _vertical(pool, image, size[1], resample, bands)
    return image


def _bands(pixels: int, cores: int) -> int:
    """A multiple of ``cores`` bands of at most about ``BAND_PIXELS`` each."""
    return cores * max(1, -(-pixels // (BAND_PIXELS * cores)))


def _splits(length: int, parts: int) -> list[tuple[int, int]]:
    edges = [length * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in pairwise(edges) if b > a]


def _horizontal(
    pool: ThreadPoolExecutor, image: Image.Image, width: int, resample: int, bands: int
) -> Image.Image:
    """Rows [a, b) of the result are the horizontal resize of rows [a, b) of ``image``."""
    rows = _splits(image.height, bands)

    def band(span: tuple[int, int]) -> Image.Image:
        top, bottom = span
        part = image.crop((0, top, image.width, bottom))
        return part.resize((width, bottom - top), resample)

    return _joined(pool, band, rows, (width, image.height), image.mode, vertical=False)


def _vertical(
    pool: ThreadPoolExecutor, image: Image.Image, height: int, resample: int, bands: int
) -> Image.Image:
    """Columns [a, b) of the result are the vertical resize of columns [a, b) of ``image``."""
    columns = _splits(image.width, bands)

    def band(span: tuple[int, int]) -> Image.Image:
        left, right = span
        part = image.crop((left, 0, right, image.height))
        return part.resize((right - left, height), resample)

    return _joined(pool, band, columns, (image.width, height), image.mode, vertical=True)


def _joined(
    pool: ThreadPoolExecutor,
    band: Callable[[tuple[int, int]], Image.Image],
    spans: Sequence[tuple[int, int]],
    size: tuple[int, int],
    mode: str,
    *,
    vertical: bool,
) -> Image.Image:
    out = Image.new(mode, size)
    for (start, _), part in zip(spans, pool.map(band, spans), strict=True):
        out.paste(part, (start, 0) if vertical else (0, start))
    return out
