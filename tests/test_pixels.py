"""Host pixel formats ⇄ pipeline RGBA: byte order, depth, linear light, gray."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.geometry import Extent
from core.pixels import (
    PixelFormat,
    from_host,
    is_linear_profile,
    krita_pixel_format,
    mask_to_host,
    to_host,
)

SIZE = Extent(5, 3)


def sample() -> Image.Image:
    image = Image.new("RGBA", SIZE)
    for i, (x, y) in enumerate((x, y) for y in range(SIZE.height) for x in range(SIZE.width)):
        image.putpixel((x, y), (i * 17 % 256, 255 - i * 13 % 256, i * 7 % 256, 255 - i))
    return image


def test_krita_bgra8_byte_order() -> None:
    data = bytes([10, 20, 30, 40]) * SIZE.pixels  # B, G, R, A
    image = from_host(data, SIZE, PixelFormat.BGRA8)
    assert image.getpixel((0, 0)) == (30, 20, 10, 40)
    assert to_host(image, PixelFormat.BGRA8) == data


def test_gimp_rgba8_is_passed_through() -> None:
    data = bytes(range(SIZE.pixels * 4))
    image = from_host(data, SIZE, PixelFormat.RGBA8)
    assert image.getpixel((0, 0)) == (0, 1, 2, 3)
    assert to_host(image, PixelFormat.RGBA8) == data


def test_krita_bgra16_scales_and_orders() -> None:
    pixel = struct.pack("<4H", 0, 32896, 65535, 65535)  # B=0, G=128*257, R=max, A=max
    image = from_host(pixel * SIZE.pixels, SIZE, PixelFormat.BGRA16)
    assert image.getpixel((4, 2)) == (255, 128, 0, 255)
    back = to_host(image, PixelFormat.BGRA16)
    assert struct.unpack("<4H", back[:8]) == (0, 128 * 257, 65535, 65535)


@pytest.mark.parametrize("fmt", [PixelFormat.RGBA_F16, PixelFormat.RGBA_F32])
def test_float_rgba_linear_light_is_encoded_to_srgb(fmt: PixelFormat) -> None:
    dtype = np.float16 if fmt is PixelFormat.RGBA_F16 else np.float32
    linear = np.array([0.2140, 0.0, 1.0, 0.5], dtype=dtype)  # 0.214 linear ≈ sRGB 128
    data = np.tile(linear, SIZE.pixels).tobytes()
    image = from_host(data, SIZE, fmt, linear=True)
    r, g, b, a = image.getpixel((0, 0))
    assert abs(r - 128) <= 1 and g == 0 and b == 255 and a == 128
    plain = from_host(data, SIZE, fmt, linear=False)
    assert abs(plain.getpixel((0, 0))[0] - 55) <= 1
    back = np.frombuffer(to_host(image, fmt, linear=True), dtype=dtype)
    assert abs(float(back[0]) - 0.2140) < 0.005 and float(back[3]) == pytest.approx(
        128 / 255, abs=1e-3
    )


def test_float_out_of_range_and_nan_are_clamped() -> None:
    data = np.tile(np.array([2.0, -1.0, np.nan, 1.0], np.float32), SIZE.pixels).tobytes()
    assert from_host(data, SIZE, PixelFormat.RGBA_F32).getpixel((0, 0)) == (255, 0, 0, 255)


@pytest.mark.parametrize("fmt", list(PixelFormat))
def test_round_trip_keeps_8bit_values(fmt: PixelFormat) -> None:
    image = sample()
    if fmt.order == "GA":
        image = image.convert("LA").convert("RGBA")
    for linear in (False, True):
        data = to_host(image, fmt, linear=linear)
        assert len(data) == SIZE.pixels * fmt.pixel_bytes
        assert from_host(data, SIZE, fmt, linear=linear).tobytes() == image.tobytes()


def test_gray_alpha_becomes_rgba() -> None:
    data = bytes([200, 99]) * SIZE.pixels
    assert from_host(data, SIZE, PixelFormat.GRAYA8).getpixel((1, 1)) == (200, 200, 200, 99)


def test_wrong_byte_count_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="5x3 needs 60"):
        from_host(b"\0" * 10, SIZE, PixelFormat.BGRA8)


def test_krita_formats_and_refusals() -> None:
    assert krita_pixel_format("RGBA", "U8") is PixelFormat.BGRA8
    assert krita_pixel_format("RGBA", "U16") is PixelFormat.BGRA16
    assert krita_pixel_format("RGBA", "F32") is PixelFormat.RGBA_F32
    assert krita_pixel_format("GRAYA", "U16") is PixelFormat.GRAYA16
    for model in ("CMYKA", "LABA", "XYZA"):
        with pytest.raises(InputError, match="Convert a copy"):
            krita_pixel_format(model, "U8")


def test_linear_profile_names() -> None:
    assert is_linear_profile("sRGB-elle-V2-g10.icc")
    assert is_linear_profile("scRGB (linear)")
    assert not is_linear_profile("sRGB-elle-V2-srgbtrc.icc")
    assert not is_linear_profile("sRGB built-in")


def test_mask_to_host_depths() -> None:
    mask = Image.new("L", SIZE, 128)
    assert mask_to_host(mask) == bytes([128]) * SIZE.pixels
    assert struct.unpack("<H", mask_to_host(mask, PixelFormat.BGRA16)[:2]) == (128 * 257,)
    assert np.frombuffer(mask_to_host(mask, PixelFormat.RGBA_F32), np.float32)[0] == pytest.approx(
        128 / 255
    )
