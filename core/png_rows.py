"""A PNG result decoded a band of rows at a time, so work on its first rows can start while the
rest is still being decoded (``resample.Resizing`` resizes them back to canvas size).

Pillow decodes a PNG in one call. Here the IDAT stream is inflated by ``zlib`` a band at a
time, and the band's filtered rows go on to Pillow's own PNG decoder, wrapped as *stored*
deflate blocks (a five-byte header per 64 KB, nothing to inflate), which undoes the filters
and writes the rows into the picture. The pixels are Pillow's by construction, and after
each band the rows decoded so far are final. Only what every result of the API is: 8-bit RGB
or RGBA, not interlaced; ``open_rows`` says ``None`` for anything else (decode it whole).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from PIL import Image

#: Rows inflated and decoded per step: each step's rows are handed on at once.
STEP_ROWS = 64
#: Largest stored deflate block.
_STORED = 0xFFFF
_BYTES_PER_PIXEL = {"RGB": 3, "RGBA": 4}
#: A zlib stream's two header bytes (deflate, 32 KB window, no dictionary); the decoder
#: finishes at the last row, before it would read the stream's checksum.
_ZLIB_HEADER = b"\x78\x01"


class RowDecode:
    """One PNG being decoded: ``image`` (its size and mode, filled as ``rows`` runs)."""

    def __init__(self, image: Image.Image, decoder: Any, idat: list[memoryview]) -> None:
        self.image = image
        self._decoder = decoder
        self._idat = idat

    def rows(self, step: int = STEP_ROWS) -> Iterator[int]:
        """Decode on the calling thread; after each band, yield how many rows (from the top)
        are final. ``OSError`` for a truncated or corrupt file, as Pillow's own decode."""
        width, height = self.image.size
        stride = 1 + width * _BYTES_PER_PIXEL[self.image.mode]  # a filter byte leads each row
        inflater = zlib.decompressobj()
        chunks = iter(self._idat)
        pending: bytes | memoryview = b""
        done = 0
        self._feed(_ZLIB_HEADER)
        while done < height:
            count = min(step, height - done)
            want = count * stride
            band = bytearray()
            while len(band) < want:
                if not pending:
                    pending = inflater.unconsumed_tail or next(chunks, b"")
                    if not pending:
                        raise OSError(f"image file is truncated ({done} of {height} rows)")
                band += inflater.decompress(pending, want - len(band))
                pending = inflater.unconsumed_tail
            view = memoryview(band)
            for start in range(0, want, _STORED):
                piece = view[start : start + _STORED]
                self._feed(struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF))
                self._feed(piece)
            done += count
            yield done

    def _feed(self, data: bytes | memoryview) -> None:
        _, error = self._decoder.decode(data)
        if error < 0:
            raise OSError(f"broken PNG data (decoder error {error})")


def open_rows(data: bytes) -> RowDecode | None:
    """``data`` ready to decode by rows, or ``None`` when it is not an 8-bit RGB/RGBA PNG
    without interlacing (or this Pillow's decoder interface is not the expected one)."""
    try:
        header = Image.open(io.BytesIO(data))
    except Exception:  # not an image at all: the whole decode says so, as it always did
        return None
    with header:
        tile = header.tile
        mode = header.mode
        simple = (
            header.format == "PNG"
            and mode in _BYTES_PER_PIXEL
            and len(tile) == 1
            and tile[0][0] == "zip"
            and tile[0][3] == mode  # 8-bit: 16-bit RGB is raw mode "RGB;16B"
            and not header.info.get("interlace")
            and not getattr(header, "is_animated", False)
        )
        if not simple:
            return None
        info, size = dict(header.info), header.size
    idat = _idat_chunks(data)
    if idat is None:
        return None
    image = Image.new(mode, size, None)  # every row is written by the decoder
    try:
        decoder = Image._getdecoder(mode, "zip", mode)
        decoder.setimage(image.im, (0, 0, *size))
    except (AttributeError, TypeError):  # pragma: no cover - another Pillow's internals
        return None
    image.info.update(info)
    return RowDecode(image, decoder, idat)


def _idat_chunks(data: bytes) -> list[memoryview] | None:
    """The IDAT chunks' contents in order (not copied); ``None`` if the chunks do not parse."""
    view = memoryview(data)
    chunks, position = [], 8
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        start = position + 8
        if start + length > len(data):
            chunks.append(view[start:])  # a truncated file: decoded as far as it goes
            break
        if kind == b"IDAT":
            chunks.append(view[start : start + length])
        elif kind == b"IEND":
            break
        position = start + length + 4  # and the CRC
    return chunks or None
