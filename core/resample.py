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

A picture still being filled from the top (a PNG result decoding by rows, ``core.png_rows``)
is resized by a ``Resizing``: the horizontal pass starts on each band of rows once its rows are
final, while the rest is decoded.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
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
    *,
    result_mode: str | None = None,
) -> Image.Image:
    """``image`` resized to ``size`` with ``resample``: horizontal pass, then vertical, each on
    all cores for a large picture. Modes Pillow resizes premultiplied (RGBA, LA) are too.

    ``result_mode``: the result converted to it (an RGB result as the RGBA a layer is), band
    by band inside the last pass, so a large picture is never copied whole for it; the bytes
    are those of converting the whole result.
    """
    image.load()  # a file not yet decoded: once, here, not by two bands at the same time
    return Resizing(image, size, resample, result_mode=result_mode).result()


class Resizing:
    """One ``resize`` of a picture whose rows may still be arriving from the top.

    ``ready(rows)`` says the first ``rows`` rows are final: the horizontal pass starts on each
    band inside them, on the worker threads. ``result()`` says all are, waits for the bands
    and makes the vertical pass; ``close()`` (also after an error) drops the bands not yet
    started and waits for those running, so no thread outlives it. A resize that is not done
    in bands (small, or another filter or mode) waits for ``result()``.
    """

    def __init__(
        self,
        image: Image.Image,
        size: tuple[int, int],
        resample: Image.Resampling = Image.Resampling.LANCZOS,
        *,
        result_mode: str | None = None,
    ) -> None:
        self.image, self.resample = image, resample
        self.size = (int(size[0]), int(size[1]))
        mode = image.mode
        self.result_mode = result_mode if result_mode != mode else None
        width, height = image.size
        self._cores = workers()
        self._banded = (
            self.size != image.size
            and mode in _DIRECT
            and resample != Image.Resampling.NEAREST
            and self._cores > 1
            and max(width * height, self.size[0] * self.size[1]) >= MIN_BANDED_PIXELS
        )
        self._pool: ThreadPoolExecutor | None = None
        self._rows: list[tuple[int, int]] = []
        self._started: list[Future[None]] = []
        if self._banded and self.size[0] != width:
            self._pool = ThreadPoolExecutor(self._cores, thread_name_prefix="gpt-image-resize")
            self._rows = _splits(height, _bands(max(width, self.size[0]) * height, self._cores))
            # the first pass's picture: each band pastes its rows in as it ends (no band is
            # kept beside it), so it is never all there twice; every row is pasted over
            last = self.size[1] == height
            self._first = Image.new(
                (self.result_mode if last else None) or mode, (self.size[0], height), None
            )

    @property
    def takes_rows(self) -> bool:
        """Whether ``ready`` starts work (a horizontal pass in bands): worth feeding rows."""
        return self._pool is not None

    def ready(self, rows: int) -> None:
        """The first ``rows`` rows of the picture are final."""
        if self._pool is None:
            return
        while len(self._started) < len(self._rows) and self._rows[len(self._started)][1] <= rows:
            self._started.append(
                self._pool.submit(self._horizontal, self._rows[len(self._started)])
            )

    def result(self) -> Image.Image:
        """The resized picture (every row of the source is final now)."""
        try:
            return self._result()
        finally:
            self.close()

    def close(self) -> None:
        for band in self._started:
            band.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _result(self) -> Image.Image:
        image, size, resample = self.image, self.size, self.resample
        if not self._banded:
            return self._whole()
        height = image.height
        if self._pool is not None:  # the horizontal pass: its bands, each pasted in
            self.ready(height)
            for band in self._started:
                band.result()
            image = self._first
        if size[1] != height:
            with ThreadPoolExecutor(self._cores, thread_name_prefix="gpt-image-resize") as pool:
                bands = _bands(image.width * max(height, size[1]), self._cores)
                image = _vertical(pool, image, size[1], resample, bands, self.result_mode)
        return image

    def _horizontal(self, span: tuple[int, int]) -> None:
        """Rows [a, b) of the horizontal pass: the horizontal resize of rows [a, b), pasted
        into the pass's picture (bands write disjoint rows)."""
        top, bottom = span
        image = self.image
        part = image.crop((0, top, image.width, bottom)).resize(
            (self.size[0], bottom - top), self.resample
        )
        part = _converted(part, self.result_mode if self.size[1] == image.height else None)
        self._first.paste(part, (0, top))

    def _whole(self) -> Image.Image:
        """One go on the calling thread, or modes and filters the bands do not take."""
        image, size, resample = self.image, self.size, self.resample
        if image.size == size:
            return _converted(image.copy(), self.result_mode)
        work, mode = image, image.mode
        if mode in _PREMULTIPLIED:
            premultiplied = work.convert(_PREMULTIPLIED[mode])
            work = resize(premultiplied, size, resample).convert(mode)
        elif mode not in _DIRECT or resample == Image.Resampling.NEAREST:
            work = work.resize(size, resample)
        else:  # Pillow's own two passes, in the order the bands make them
            if size[0] != image.width:
                work = work.resize((size[0], image.height), resample)
            work = work.resize(size, resample) if size[1] != image.height else work
        return _converted(work, self.result_mode)


def _converted(image: Image.Image, mode: str | None) -> Image.Image:
    """``image`` (one this module made) in ``mode``, ``None`` for as it is; RGB becomes RGBA in
    place (Pillow keeps a spare byte a pixel for RGB), alpha 255 as converting gives."""
    if mode is None:
        return image
    if image.mode == "RGB" and mode == "RGBA":
        image.putalpha(255)
        return image
    return image.convert(mode)


def _bands(pixels: int, cores: int) -> int:
    """A multiple of ``cores`` bands of at most about ``BAND_PIXELS`` each."""
    return cores * max(1, -(-pixels // (BAND_PIXELS * cores)))


def _splits(length: int, parts: int) -> list[tuple[int, int]]:
    edges = [length * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in pairwise(edges) if b > a]


def _vertical(
    pool: ThreadPoolExecutor,
    image: Image.Image,
    height: int,
    resample: int,
    bands: int,
    after: str | None,
) -> Image.Image:
    """Columns [a, b) of the result are the vertical resize of columns [a, b) of ``image``."""
    columns = _splits(image.width, bands)

    def band(span: tuple[int, int]) -> Image.Image:
        left, right = span
        part = image.crop((left, 0, right, image.height))
        return _converted(part.resize((right - left, height), resample), after)

    out = Image.new(after or image.mode, (image.width, height), None)  # all pasted over
    for (left, _), part in zip(columns, pool.map(band, columns), strict=True):
        out.paste(part, (left, 0))
    return out
