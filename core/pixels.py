"""Host pixel bytes ⇄ the pipeline's one format (Pillow ``RGBA``, 8-bit, sRGB-encoded).

Conversions happen once, at the edge, and only for the crop a job touches. Krita stores 8- and
16-bit RGB as B,G,R,A and float RGB as R,G,B,A; GIMP hands over ``R'G'B'A u8`` (babl converts
any precision for us). Float documents are usually linear light, so they are encoded to sRGB on
the way in and decoded on the way out; the hosts say which via ``linear``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from PIL import Image, ImageChops

from .errors import InputError
from .geometry import Extent


class PixelFormat(Enum):
    """Byte layouts the hosts hand over: (channel order, bytes per channel, numpy dtype)."""

    RGBA8 = ("RGBA", 1, "u1")
    BGRA8 = ("BGRA", 1, "u1")
    BGRA16 = ("BGRA", 2, "<u2")
    RGBA_F16 = ("RGBA", 2, "<f2")
    RGBA_F32 = ("RGBA", 4, "<f4")
    GRAYA8 = ("GA", 1, "u1")
    GRAYA16 = ("GA", 2, "<u2")
    GRAYA_F16 = ("GA", 2, "<f2")
    GRAYA_F32 = ("GA", 4, "<f4")

    @property
    def order(self) -> str:
        return self.value[0]

    @property
    def channels(self) -> int:
        return len(self.value[0])

    @property
    def channel_bytes(self) -> int:
        return self.value[1]

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.channel_bytes

    @property
    def is_float(self) -> bool:
        return "f" in self.value[2]


_KRITA_FORMATS = {
    ("RGBA", "U8"): PixelFormat.BGRA8,
    ("RGBA", "U16"): PixelFormat.BGRA16,
    ("RGBA", "F16"): PixelFormat.RGBA_F16,
    ("RGBA", "F32"): PixelFormat.RGBA_F32,
    ("GRAYA", "U8"): PixelFormat.GRAYA8,
    ("GRAYA", "U16"): PixelFormat.GRAYA16,
    ("GRAYA", "F16"): PixelFormat.GRAYA_F16,
    ("GRAYA", "F32"): PixelFormat.GRAYA_F32,
}


def is_opaque(image: Image.Image) -> bool:
    """Whether every pixel of an image with alpha is fully opaque (all 255 ⟺ nothing left
    once inverted: a tenth of the time of ``getextrema``)."""
    return ImageChops.invert(image.getchannel("A")).getbbox() is None


def krita_pixel_format(color_model: str, color_depth: str) -> PixelFormat:
    """The layout of ``pixelData`` for a Krita colour model and depth, or a clear refusal."""
    try:
        return _KRITA_FORMATS[(color_model, color_depth)]
    except KeyError:
        raise InputError(
            f"Documents in {color_model}/{color_depth} are not supported.",
            hint="Convert a copy to RGB/Alpha or Grayscale/Alpha "
            "(Image > Convert Image Color Space) and edit that.",
        ) from None


def is_linear_profile(profile_name: str) -> bool:
    """Whether an ICC profile name denotes linear light (Krita's float defaults do)."""
    name = profile_name.lower()
    return any(tag in name for tag in ("g10", "linear", "scrgb", "gamma 1.0", "-v4-g10"))


def from_host(data: bytes, size: Extent, fmt: PixelFormat, *, linear: bool = False) -> Image.Image:
    """Host bytes of a ``size`` box → pipeline RGBA."""
    expected = size.width * size.height * fmt.pixel_bytes
    if len(data) != expected:
        raise InputError(
            f"Got {len(data)} bytes of {fmt.name} pixels; {size} needs {expected}.",
        )
    if fmt.channel_bytes == 1:
        mode = "LA" if fmt.order == "GA" else "RGBA"
        image = Image.frombytes(
            mode, size, bytes(data), "raw", fmt.order if mode == "RGBA" else "LA"
        )
        return image if mode == "RGBA" else image.convert("RGBA")
    np = _numpy()
    values = np.frombuffer(data, dtype=fmt.value[2]).reshape(size.height, size.width, fmt.channels)
    if fmt.is_float:
        unit = np.clip(np.nan_to_num(values.astype(np.float32)), 0.0, 1.0)
        if linear:
            unit[..., :-1] = _encode_srgb(np, unit[..., :-1])
        eight = (unit * 255.0 + 0.5).astype(np.uint8)
    else:
        eight = ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if fmt.order == "GA":
        return Image.fromarray(np.ascontiguousarray(eight), "LA").convert("RGBA")
    if fmt.order == "BGRA":
        eight = eight[..., [2, 1, 0, 3]]
    return Image.fromarray(np.ascontiguousarray(eight), "RGBA")


def to_host(image: Image.Image, fmt: PixelFormat, *, linear: bool = False) -> bytes:
    """Pipeline RGBA → host bytes in ``fmt``, row-major, for the image's whole box."""
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    if fmt.channel_bytes == 1:
        if fmt.order == "GA":
            return raw_bytes(rgba.convert("LA"))
        return raw_bytes(rgba, fmt.order)
    np = _numpy()
    source = rgba.convert("LA") if fmt.order == "GA" else rgba
    eight = np.asarray(source)
    if fmt.order == "BGRA":
        eight = eight[..., [2, 1, 0, 3]]
    if fmt.is_float:
        unit = eight.astype(np.float32) / 255.0
        if linear:
            unit[..., :-1] = _decode_srgb(np, unit[..., :-1])
        return unit.astype(fmt.value[2]).tobytes()
    return (eight.astype(np.uint16) * 257).astype(fmt.value[2]).tobytes()


def mask_to_host(mask: Image.Image, fmt: PixelFormat | None = None) -> bytes:
    """An L mask as one channel at ``fmt``'s depth (8-bit when None: Krita's mask layers)."""
    gray = mask if mask.mode == "L" else mask.convert("L")
    if fmt is None or fmt.channel_bytes == 1:
        return raw_bytes(gray)
    np = _numpy()
    values = np.asarray(gray)
    if fmt.is_float:
        return (values.astype(np.float32) / 255.0).astype(fmt.value[2]).tobytes()
    return (values.astype(np.uint16) * 257).astype(fmt.value[2]).tobytes()


def raw_bytes(image: Image.Image, rawmode: str | None = None) -> bytes:
    """``image.tobytes("raw", rawmode)`` made in one piece: Pillow's own collects 64 KB pieces
    and joins them, a second copy of a layer's bytes (64 MB for a 4096² RGBA) on the path from
    result to host. Same bytes; Pillow's way if its encoder interface is not the expected one."""
    rawmode = rawmode or image.mode
    image.load()
    size = image.width * image.height * len(rawmode) if len(rawmode) <= 4 else 0
    if not size or rawmode not in _ONE_BYTE_RAWMODES:
        return image.tobytes("raw", rawmode)
    try:
        encoder = Image._getencoder(image.mode, "raw", rawmode)
        encoder.setimage(image.im, (0, 0, *image.size))
        _, status, data = encoder.encode(size)
    except (AttributeError, TypeError):  # pragma: no cover - another Pillow's internals
        return image.tobytes("raw", rawmode)
    if status != 1 or len(data) != size:  # pragma: no cover - not all in one piece
        return image.tobytes("raw", rawmode)
    return data


#: Raw layouts of one byte per letter (what the hosts take), written by ``raw_bytes``.
_ONE_BYTE_RAWMODES = ("L", "LA", "RGB", "RGBA", "BGRA", "RGBX")


def _encode_srgb(np: Any, linear: Any) -> Any:
    return np.where(
        linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055
    ).astype(np.float32)


def _decode_srgb(np: Any, encoded: Any) -> Any:
    return np.where(
        encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4)
    ).astype(np.float32)


def _numpy() -> Any:
    """numpy is needed only for 16-bit and float documents; 8-bit never loads it."""
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - depends on the host's vendored packages
        raise InputError(
            "High bit-depth documents need numpy, which is missing from this install.",
            hint="Re-run install.py to restore the plug-in's packages.",
        ) from exc
    return numpy
