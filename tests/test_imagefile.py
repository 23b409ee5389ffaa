"""``core.imagefile``: bytes that are no image; its PNG read in large runs of IDAT chunks (``_in_large_reads``): the same
picture and metadata as Pillow's own chunk-by-chunk read, and the same refusal of a cut file."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from core import png_rows
from core.errors import InputError
from core.imagefile import _in_large_reads, open_image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def small_chunked_png(orientation: int = 6) -> tuple[bytes, Image.Image, int]:
    """An RGBA PNG in 8 KB IDAT chunks (as libpng writes them) with a text chunk and an EXIF
    orientation *after* the image data; its picture; how many IDAT bytes it holds."""
    rng = random.Random(7)
    picture = Image.frombytes("RGBA", (320, 200), rng.randbytes(320 * 200 * 4))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=1)
    data = buffer.getvalue()
    idat = b"".join(png_rows._idat_chunks(data))
    head = data[: data.index(b"IDAT") - 4]
    exif = Image.Exif()
    exif[0x0112] = orientation
    body = b"".join(_chunk(b"IDAT", idat[i : i + 8192]) for i in range(0, len(idat), 8192))
    tail = _chunk(b"tEXt", b"Comment\x00after the pixels") + _chunk(b"eXIf", exif.tobytes()[6:])
    return head + body + tail + _chunk(b"IEND", b""), picture, len(idat)


def test_one_read_takes_every_idat_chunk() -> None:
    data, _, idat_bytes = small_chunked_png()
    assert idat_bytes > 5 * 8192  # several chunks, or the test proves nothing
    with Image.open(io.BytesIO(data)) as image:
        image.load_prepare()  # what Pillow's load does before its first read
        _in_large_reads(image)
        assert len(image.load_read(65536)) == idat_bytes
        assert image.load_read(65536) == b""


def test_the_picture_and_what_follows_its_pixels_are_read_as_pillow_reads_them() -> None:
    data, picture, _ = small_chunked_png(orientation=6)
    source = open_image(data, "chunked.png")
    with Image.open(io.BytesIO(data)) as plain:
        plain.load()
        assert plain.info.get("Comment") == "after the pixels"
        assert plain.tobytes() == picture.tobytes()
    # the EXIF orientation after the pixels is applied, as for any other file
    assert source.pixels.size == (200, 320)
    assert source.pixels.tobytes() == picture.transpose(Image.Transpose.ROTATE_270).tobytes()


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_a_cut_png_is_still_refused_as_truncated(keep: float) -> None:
    data, _, _ = small_chunked_png()
    with pytest.raises(InputError, match="truncated"):
        open_image(data[: int(len(data) * keep)], "cut.png")


@pytest.mark.parametrize("data", [b"", b"plain text, not a picture", b"\x89PNG\r\n\x1a\n"])
def test_bytes_that_are_no_image_are_refused_by_name(data):
    """A host's or a reference's bytes: Pillow's reason would name a BytesIO object."""
    with pytest.raises(InputError) as refused:
        open_image(data, "The canvas")
    assert refused.value.message == "The canvas is not an image Pillow can read."
