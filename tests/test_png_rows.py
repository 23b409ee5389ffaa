"""core.png_rows: a PNG decoded by rows is Pillow's own decode, row for row, as it goes."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageFile

from core import png_rows


def picture(size: tuple[int, int], mode: str) -> Image.Image:
    noise = Image.effect_noise(size, 50)
    gradient = Image.linear_gradient("L").resize(size)
    bands = [noise, gradient, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient]
    return Image.merge(mode, bands[: len(mode)])


def png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def interlaced(data: bytes) -> bytes:
    """The same file with IHDR saying Adam7 (Pillow writes none itself)."""
    ihdr = bytearray(data[12:29])  # type + 13 bytes of fields
    ihdr[-1] = 1
    crc = zlib.crc32(bytes(ihdr)).to_bytes(4, "big")
    return data[:12] + bytes(ihdr) + crc + data[33:]


def pillows(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize(
    ("size", "options"),
    [((300, 200), {}), ((257, 131), {"compress_level": 1}), ((64, 1), {}),
     ((1000, 150), {"compress_level": 9}), ((90, 700), {"compress_type": zlib.Z_RLE})],
)  # fmt: skip
def test_rows_decode_to_pillows_pixels_and_are_final_when_counted(mode, size, options):
    data = png(picture(size, mode), **options)
    whole = pillows(data)
    decode = png_rows.open_rows(data)
    assert decode is not None and decode.image.size == size and decode.image.mode == mode
    stride = size[0] * len(mode)
    counts = []
    for done in decode.rows(step=17):
        counts.append(done)
        # the rows counted are final already: equal to Pillow's
        assert decode.image.crop((0, 0, size[0], done)).tobytes() == whole[: done * stride]
    assert counts == sorted(set(counts)) and counts[-1] == size[1]
    assert decode.image.tobytes() == whole


def test_many_small_idat_chunks_are_one_stream():
    image = picture((400, 300), "RGB")
    with Image.open(io.BytesIO(png(image))) as check:
        assert check.tobytes() == image.tobytes()
    old = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = 4096  # Pillow writes an IDAT chunk per block
    try:
        data = png(image)
    finally:
        ImageFile.MAXBLOCK = old
    assert data.count(b"IDAT") > 10
    decode = png_rows.open_rows(data)
    assert decode is not None
    for _ in decode.rows():
        pass
    assert decode.image.tobytes() == image.tobytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda: png(picture((50, 40), "RGB").convert("P")),
        lambda: png(picture((50, 40), "RGB").convert("L")),
        lambda: png(Image.new("I;16", (50, 40), 300)),
        lambda: interlaced(png(picture((50, 40), "RGB"))),
        lambda: jpeg(picture((50, 40), "RGB")),
        lambda: b"not an image at all",
    ],
    ids=["palette", "grey", "16-bit", "interlaced", "jpeg", "garbage"],
)
def test_what_is_not_an_8bit_rgb_png_is_left_to_the_whole_decode(make):
    assert png_rows.open_rows(make()) is None


def test_a_truncated_file_fails_like_pillows_own_decode():
    data = png(picture((300, 300), "RGB"))
    cut = data[: len(data) // 2]
    with pytest.raises(OSError), Image.open(io.BytesIO(cut)) as image:
        image.load()
    decode = png_rows.open_rows(cut)
    assert decode is not None
    counted = []
    with pytest.raises(OSError, match="truncated"):
        for done in decode.rows():
            counted.append(done)
    assert counted and counted[-1] < 300  # the rows before the cut came through


def test_corrupt_data_raises_instead_of_giving_pixels():
    data = bytearray(png(picture((300, 300), "RGB"), compress_level=0))
    start = data.index(b"IDAT") + 4 + 2 + 5  # past the zlib header and a stored block header
    data[start] = 9  # the first row's filter type: no such filter
    with pytest.raises(OSError):
        decode = png_rows.open_rows(bytes(data))
        assert decode is not None
        for _ in decode.rows():
            pass
