"""A whole-image result becomes its layer while it decodes (``pipeline.start_layer``): the same
layer as the long way, saved to history before anyone hears of it, and a job that ends early
(cancelled, or a band failing) leaves no thread running and its paid image kept."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image, ImageOps

from core import png_rows, resample
from core.client import ImageResult
from core.errors import ApiUnavailable, Cancelled
from core.geometry import Extent
from core.history import History
from core.jobs import JobSpec, prepare_job, run_job
from core.pipeline import Mode, build_layer, decode, start_layer
from core.settings import Settings

CANVAS = Extent(1400, 1000)


@pytest.fixture(autouse=True)
def banded(monkeypatch):
    """Bands on two workers however many cores this machine lends, small enough to be many."""
    monkeypatch.setattr(resample, "workers", lambda: 2)
    monkeypatch.setattr(resample, "MIN_BANDED_PIXELS", 1)
    monkeypatch.setattr(resample, "BAND_PIXELS", 40_000)


class HandOver:
    """A client that has its results already: hands each to ``on_image`` as the real one
    does, then returns, or raises ``after`` once ``raise_after`` images are handed over."""

    def __init__(self, results: list[bytes], raise_after: int | None = None, after=None):
        self.results, self.raise_after, self.after = results, raise_after, after

    def run(
        self, request, *, on_partial=None, on_image=None, cancel=None, on_sent=None
    ) -> ImageResult:
        for index, data in enumerate(self.results):
            if index == self.raise_after:
                raise self.after
            on_image(index, data)
        usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
        return ImageResult(list(self.results), "req_rows", usage, request.size, "png", 0.0)


def prepared_whole(settings: Settings, n: int = 1):
    picture = Image.radial_gradient("L").resize(CANVAS)
    picture = Image.merge("RGB", (picture, ImageOps.mirror(picture), ImageOps.flip(picture)))
    spec = JobSpec.from_settings(settings, Mode.EDIT_IMAGE, "warmer", n=n)
    pixels = picture.convert("RGBA")
    return prepare_job(spec, CANVAS, None, lambda b: pixels.crop(b.box), settings)


def results_for(prepared, n: int) -> list[bytes]:
    """What the API might send: the upload changed, once per variant."""
    files = []
    with Image.open(io.BytesIO(prepared.upload.image_png)) as sent:
        for shift in range(n):
            buffer = io.BytesIO()
            sent.convert("RGB").point(lambda v, s=shift: (v + 40 * (s + 1)) % 256).save(
                buffer, "PNG"
            )
            files.append(buffer.getvalue())
    return files


def resize_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("gpt-image-resize")]


def test_the_layer_made_while_decoding_is_the_layer_of_the_long_way(tmp_path, monkeypatch):
    settings = Settings()
    prepared = prepared_whole(settings, n=2)
    plan = prepared.plan
    results = results_for(prepared, 2)
    assert decode(results[0]).size != plan.crop.extent  # resized back: the rows path
    by_rows = []
    real = png_rows.open_rows
    monkeypatch.setattr(png_rows, "open_rows", lambda data: by_rows.append(1) or real(data))
    history = History(tmp_path / "h")
    seen_on_disk = []

    def on_event(event):
        if event.kind == "image":  # reported only once it is on disk, whole
            folder = history.root / history.list()[0].id
            stored = folder / f"result-{event.index + 1}.png"
            seen_on_disk.append(stored.exists() and stored.read_bytes() == results[event.index])

    result = run_job(
        prepared, settings, on_event=on_event, history=history, client=HandOver(results)
    )
    # the first result resized while it decoded; the second, decoded whole, once its turn came
    assert by_rows == [1] and seen_on_disk == [True, True]
    for data, image, patch in zip(results, result.images, result.patches, strict=True):
        slow = build_layer(plan, decode(data))
        assert image.tobytes() == decode(data).tobytes()
        assert patch.bounds == slow.bounds and patch.image.mode == "RGBA"
        assert patch.image.tobytes() == slow.image.tobytes()
        assert patch.mask.tobytes() == slow.mask.tobytes()
    assert all(path.exists() for path in result.paths)  # on disk before returned
    assert resize_threads() == []


def slow_bands(monkeypatch) -> list[tuple[int, int]]:
    """Each band of the first pass takes a while; returns the bands that ran."""
    ran = []
    real = resample.Resizing._horizontal

    def slow(self, span):
        time.sleep(0.02)
        ran.append(span)
        return real(self, span)

    monkeypatch.setattr(resample.Resizing, "_horizontal", slow)
    return ran


def test_a_cancel_while_a_layer_is_in_flight_stops_it_and_keeps_the_image(tmp_path, monkeypatch):
    settings = Settings()
    prepared = prepared_whole(settings, n=2)
    results = results_for(prepared, 2)
    ran = slow_bands(monkeypatch)
    history = History(tmp_path / "h")
    client = HandOver(results, raise_after=1, after=Cancelled())
    with pytest.raises(Cancelled):
        run_job(prepared, settings, history=history, client=client)
    assert resize_threads() == []
    height = decode(results[0]).height
    width = prepared.plan.crop.width
    all_bands = resample._splits(height, resample._bands(width * height, 2))
    assert len(ran) < len(all_bands)  # the bands not started were dropped
    (job,) = history.list()
    assert job.status == "cancelled"
    assert [p.read_bytes() for p in job.images] == results[:1]  # the paid one is kept


def test_a_band_that_fails_fails_the_job_and_keeps_the_image(tmp_path, monkeypatch):
    settings = Settings()
    prepared = prepared_whole(settings)
    results = results_for(prepared, 1)
    real = resample.Resizing._horizontal
    calls = []

    def failing(self, span):
        calls.append(span)
        if len(calls) == 2:
            raise MemoryError("band 2")
        return real(self, span)

    monkeypatch.setattr(resample.Resizing, "_horizontal", failing)
    history = History(tmp_path / "h")
    with pytest.raises(ApiUnavailable) as raised:
        run_job(prepared, settings, history=history, client=HandOver(results))
    assert "band 2" in raised.value.details["reason"]
    assert resize_threads() == []
    (job,) = history.list()
    assert job.status == "failed" and [p.read_bytes() for p in job.images] == results


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("same_size", [False, True])
def test_every_result_start_layer_takes_gives_build_layers_layer(mode, same_size):
    """RGB resized by rows; RGBA (resized premultiplied), grey, and a result of the crop's own
    size decoded whole: each the layer ``build_layer`` makes of it."""
    prepared = prepared_whole(Settings())
    plan = prepared.plan
    size = plan.crop.extent if same_size else plan.api_size
    picture = Image.radial_gradient("L").resize(size)
    result = Image.merge(
        "RGBA", (picture, ImageOps.flip(picture), picture, ImageOps.mirror(picture))
    )
    buffer = io.BytesIO()
    result.convert(mode).save(buffer, "PNG")
    data = buffer.getvalue()

    pending = start_layer(plan, data, upload=prepared.upload)
    try:
        patch = pending.patch()
    finally:
        pending.close()
    slow = build_layer(plan, decode(data), upload=prepared.upload)
    assert pending.image.tobytes() == decode(data).tobytes()
    assert patch.image.tobytes() == slow.image.tobytes() and patch.bounds == slow.bounds
    assert resize_threads() == []
