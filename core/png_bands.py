"""PNG files compressed in bands of rows on all cores, the rows no result touches ahead of time.

A PNG's pixels are one zlib stream of filtered rows; Pillow makes it on one core, in one go,
after the result is blended in. Here every band of rows is filtered on its own (filter *Sub*:
each byte minus the one a pixel to its left, so no band needs a row outside it) and deflated on
its own, ending on a byte boundary (``Z_FULL_FLUSH``); concatenated, the pieces are one valid
deflate stream (as pigz makes them), and their Adler-32 sums combine into the stream's. zlib
releases the GIL, so bands compress in parallel. The rows a job leaves alone are the same in
every output file: they are compressed once, while the API is still working
(``BandedPng.start``), and only the rows under the results are compressed after they arrive.

Only 8-bit RGB and RGBA pictures (what ``python -m core edit`` writes for plain files), and
8-bit gray masks by ``encode_gray``; the file decodes to exactly the picture given, with its
ICC profile when there is one.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageChops

#: Rows per band: big enough for zlib to find its matches, small enough to spread over cores.
BAND_ROWS = 128
#: IDAT chunks of at most this many bytes (any size is valid; PNG tools like them bounded).
CHUNK_BYTES = 1 << 20
_MODES = {"RGB": (2, 3), "RGBA": (6, 4), "L": (0, 1)}  # PNG colour type, bytes per pixel
#: What ``supports`` answers for (pictures; a gray ``L`` mask is encoded only when asked).
_PICTURES = ("RGB", "RGBA")
_ADLER_BASE = 65521


@dataclass(frozen=True)
class _Piece:
    data: bytes  # raw deflate, ending on a byte boundary (not final)
    adler: int
    length: int


def supports(image: Image.Image) -> bool:
    return image.mode in _PICTURES


def encode(image: Image.Image, level: int = 1, strategy: int = zlib.Z_DEFAULT_STRATEGY) -> bytes:
    """``image`` (RGB or RGBA) as PNG bytes, compressed in bands on all cores: about twice as
    fast as Pillow's own encoder at the same level on one core (which also tries every filter
    on every row), for a file of about the same size."""
    with BandedPng(image, (0, 0), level=level, strategy=strategy) as png:
        buffer = io.BytesIO()
        png.start().writer()(buffer)
        return buffer.getvalue()


def encode_gray(mask: Image.Image, level: int = 1, strategy: int = zlib.Z_RLE) -> bytes:
    """An ``L`` mask as an 8-bit gray PNG (a selection's coverage, kept in History), in bands
    on all cores: several times faster than Pillow's encoder, which tries every filter on
    every row (a 1500x1000 ellipse: 7 ms there)."""
    with BandedPng(mask, (0, 0), mode="L", level=level, strategy=strategy) as png:
        buffer = io.BytesIO()
        png.start().writer()(buffer)
        return buffer.getvalue()


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of A+B from those of A and of B (zlib's ``adler32_combine``)."""
    rem = second_length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 += (second & 0xFFFF) + _ADLER_BASE - 1
    sum2 += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + _ADLER_BASE - rem
    sum1 %= _ADLER_BASE
    sum2 %= _ADLER_BASE
    return sum1 | (sum2 << 16)


def _filtered(image: Image.Image, top: int, bottom: int, mode: str) -> bytes:
    """Rows [top, bottom) in ``mode`` as PNG scanlines, each with filter Sub (type 1): every
    byte minus the same byte of the pixel to its left, modulo 256 (Pillow's chops; no numpy,
    which a CLI edit then never imports)."""
    pixel = _MODES[mode][1]
    band = image.crop((0, top, image.width, bottom))
    band = band if band.mode == mode else band.convert(mode)  # a band at a time: no full copy
    left = Image.new(mode, band.size)  # each pixel's left neighbour (zeros before the first)
    left.paste(band.crop((0, 0, band.width - 1, band.height)), (1, 0))
    raw = ImageChops.subtract_modulo(band, left).tobytes()
    row = band.width * pixel
    return b"".join(b"\x01" + raw[i : i + row] for i in range(0, len(raw), row))


def _piece(
    image: Image.Image,
    top: int,
    bottom: int,
    level: int,
    mode: str,
    strategy: int = zlib.Z_DEFAULT_STRATEGY,
) -> _Piece:
    data = _filtered(image, top, bottom, mode)
    packer = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    deflated = packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)
    return _Piece(deflated, zlib.adler32(data), len(data))


def _bands(top: int, bottom: int) -> list[tuple[int, int]]:
    return [(y, min(y + BAND_ROWS, bottom)) for y in range(top, bottom, BAND_ROWS)]


def _zlib_header(level: int) -> bytes:
    flevel = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    cmf, flg = 0x78, flevel << 6
    return bytes((cmf, flg + (31 - (cmf * 256 + flg) % 31) % 31))


def _chunk(handle: BinaryIO, kind: bytes, data: bytes) -> None:
    handle.write(struct.pack(">I", len(data)) + kind + data)
    handle.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


class BandedPng:
    """One picture's PNG files: ``start`` compresses the rows outside ``changing`` (which must
    then stay as they are), ``writer`` gives a function that writes the file of the picture as
    it is at that moment (the rows in ``changing`` compressed then)."""

    def __init__(
        self,
        image: Image.Image,
        changing: tuple[int, int],
        *,
        mode: str | None = None,
        level: int = 1,
        icc_profile: bytes | None = None,
        workers: int = 2,
        strategy: int = zlib.Z_DEFAULT_STRATEGY,
    ) -> None:
        self.mode = mode or image.mode  # the file's: RGBA pixels can be written as RGB
        gray = image.mode == "L" and mode == "L"  # asked for by name (``encode_gray``)
        if not (gray or supports(image)) or self.mode not in _PICTURES + (("L",) if gray else ()):
            raise ValueError(f"BandedPng writes RGB, RGBA or L, not {image.mode} as {self.mode}")
        self.image = image
        self.top, self.bottom = max(0, changing[0]), min(image.height, changing[1])
        self.level = level
        self.icc_profile = icc_profile
        self.strategy = strategy
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gpt-image-png")
        self._fixed: dict[tuple[int, int], Future[_Piece]] = {}

    def start(self) -> BandedPng:
        """Compress the rows that stay as they are, in the background."""
        for band in [*_bands(0, self.top), *_bands(self.bottom, self.image.height)]:
            self._fixed[band] = self._pool.submit(self._compress, band)
        return self

    def writer(self) -> Callable[[BinaryIO], None]:
        """Compress the changing rows now (in parallel) and return the file's writer."""
        changing = {
            band: self._pool.submit(self._compress, band) for band in _bands(self.top, self.bottom)
        }
        bands = {**self._fixed, **changing}
        pieces = [bands[band].result() for band in sorted(bands)]
        return lambda handle: self._write(handle, pieces)

    def wait(self) -> None:
        """Until the rows outside ``changing`` are compressed: after that, nothing reads the
        picture until ``writer`` (so it may be changed inside ``changing``)."""
        for piece in self._fixed.values():
            piece.result()

    def _compress(self, band: tuple[int, int]) -> _Piece:
        return _piece(self.image, *band, self.level, self.mode, self.strategy)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BandedPng:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, handle: BinaryIO, pieces: list[_Piece]) -> None:
        colour, _ = _MODES[self.mode]
        handle.write(b"\x89PNG\r\n\x1a\n")
        width, height = self.image.size
        _chunk(handle, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
        if self.icc_profile:
            _chunk(handle, b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(self.icc_profile))
        adler = 1
        stream = [_zlib_header(self.level)]
        for piece in pieces:
            stream.append(piece.data)
            adler = adler32_combine(adler, piece.adler, piece.length)
        stream.append(zlib.compressobj(self.level, zlib.DEFLATED, -15).flush())  # final block
        stream.append(struct.pack(">I", adler))
        buffer, size = [], 0
        for part in stream:
            buffer.append(part)
            size += len(part)
            if size >= CHUNK_BYTES:
                _chunk(handle, b"IDAT", b"".join(buffer))
                buffer, size = [], 0
        if buffer:
            _chunk(handle, b"IDAT", b"".join(buffer))
        _chunk(handle, b"IEND", b"")
