"""Image files read as the person sees them, and composites written back without damage.

Every file the CLI takes (``--image``, ``--selection``, history ``--image``) goes through
``open_image``, so one place decides what "this picture" means:

- **size first**: the header's size is checked before any pixel is decoded, so a decompression
  bomb or an absurd header is refused (``InputError``, exit 2) without allocating it;
- **orientation**: an EXIF ``Orientation`` is applied, so pixels, selection and output are the
  displayed picture (output files carry no orientation tag);
- **animation**: a multi-frame GIF/WebP/APNG gives its first frame and says so;
- **depth**: 16-bit PNGs are read at their full depth (gray, gray+alpha, RGB, RGBA; Pillow's own
  8-bit view of 16-bit gray clips it to white, and it reads gray+alpha at 8 bits), the pipeline gets the correctly scaled 8-bit view, and a 16-bit
  PNG output keeps the original values outside the selection (``deep``);
- **colour**: a file with a non-sRGB ICC profile is converted to sRGB for the model and the
  result converted back into the file's space, so an AdobeRGB photo is not shifted; the profile
  is embedded in the output.

The composite is made in the file's own space and depth (``compose``): outside the blend mask
the output holds the input's exact values.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageCms, UnidentifiedImageError

from .errors import InputError
from .lazynp import np

#: Largest canvas accepted from a file: bigger headers are refused before decoding.
MAX_IMAGE_SIDE = 32768
MAX_IMAGE_PIXELS = 100_000_000
_ORIENTATION_TAG = 0x0112
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: 16-bit PNG raw modes whose low bytes Pillow can also unpack (same filter width, other byte).
_DEEP_RAWMODES = {"RGBA;16B": "RGBA;16L", "RGB;16B": "RGB;16L"}
#: 16-bit gray+alpha has no low-byte unpacker; its 4 bytes a pixel unpack as plain 8-bit RGBA
#: (same filter width), which holds (gray high, gray low, alpha high, alpha low).
_GRAY_ALPHA_16 = "LA;16B"
#: Pillow mode of a 16-bit picture's 8-bit view, by its channel count.
_DEEP_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class SourceImage:
    """One picture from a file, as displayed.

    ``pixels`` is the pipeline's RGBA (8-bit, sRGB); ``file_pixels`` the same picture in the
    file's own colour space (identical object when no conversion was needed); ``deep`` the
    file's 16-bit values (H×W×C uint16) when it had them; ``warnings`` what the person should
    know about how it was read.
    """

    pixels: Image.Image
    file_pixels: Image.Image
    has_alpha: bool
    name: str = ""
    icc_profile: bytes | None = None
    deep: np.ndarray | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.size

    @property
    def converted(self) -> bool:
        """True when the model sees sRGB converted from the file's profile."""
        return self.file_pixels is not self.pixels


def check_dimensions(width: int, height: int, what: str) -> None:
    """``InputError`` for a canvas too large to hold (before anything is allocated)."""
    if width <= 0 or height <= 0:
        raise InputError(f"{what} has no pixels ({width}x{height}).")
    if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise InputError(
            f"{what} is {width}x{height}; the largest image accepted is "
            f"{MAX_IMAGE_SIDE} px a side and {MAX_IMAGE_PIXELS // 1_000_000} megapixels.",
            hint="Scale it down or crop it first.",
        )


def refuse_special_file(path: Path, what: str) -> None:
    """``InputError`` for a pipe, device or socket: reading one can block forever or never end."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"No such image: {what}") from None
    except OSError as exc:
        raise InputError(f"Cannot read {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} is a folder, not an image file.")
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} is not a regular file (a pipe or device); give an image file.")


def open_checked(source: Path | bytes, what: str) -> Image.Image:
    """Open lazily (header only) and refuse absurd sizes before any decoding (``InputError``)."""
    if not isinstance(source, bytes):
        refuse_special_file(Path(source), what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise InputError(f"No such image: {what}") from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, not an image file.") from None
    except Image.DecompressionBombError:
        raise InputError(
            f"{what} is too large: over {MAX_IMAGE_PIXELS // 1_000_000} megapixels "
            "(the largest image accepted).",
            hint="Scale it down or crop it first.",
        ) from None
    except UnidentifiedImageError as exc:
        if isinstance(source, bytes):  # Pillow's reason names the BytesIO, not the file
            raise InputError(f"{what} is not an image Pillow can read.") from None
        raise InputError(f"Cannot read {what} as an image: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"Cannot read {what} as an image: {exc}") from None
    try:
        check_dimensions(*image.size, what)
    except InputError:
        image.close()
        raise
    return image


#: Compressed bytes handed to Pillow's PNG decoder per call at most (``_in_large_reads``).
LARGE_READ_BYTES = 16 << 20


def _in_large_reads(image: Image.Image) -> None:
    """Let Pillow's PNG decoder take many IDAT chunks per call instead of one.

    Pillow decodes a PNG one IDAT chunk (8-64 KB) per call, and each call gives up and takes
    back the GIL. Beside a thread that holds it (``python -m core edit`` reads its image
    while the SDK and the CLI are imported), every take-back waits for that thread to let go,
    up to the 5 ms switch interval: a 4096² image took 2-3 times as long as alone. Read in
    large runs of chunks, it waits a few times instead. The bytes decoded are the same; only
    a plain (not animated) PNG is read so."""
    read = getattr(image, "load_read", None)
    if image.format != "PNG" or read is None or getattr(image, "is_animated", False):
        return

    def large_read(read_bytes: int) -> bytes:
        parts, total = [], 0
        while total < LARGE_READ_BYTES:
            try:
                part = read(LARGE_READ_BYTES - total)
            except (IndexError, struct.error):  # a truncated file: what came first is decoded
                if not parts:  # first (the next call fails the same way), as Pillow does
                    raise
                break
            if not part:  # the image data ended (the next chunk is not IDAT)
                break
            parts.append(part)
            total += len(part)
        return b"".join(parts)

    image.load_read = large_read  # type: ignore[method-assign]


def _load(image: Image.Image, what: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            _in_large_reads(image)
            image.load()
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise InputError(f"Cannot read {what} as an image: {exc}") from None
    except MemoryError:
        raise InputError(f"{what} is too large to decode in memory.") from None


def _first_frame(image: Image.Image, what: str, notes: list[str]) -> None:
    frames = getattr(image, "n_frames", 1)
    if getattr(image, "is_animated", False) or frames > 1:
        image.seek(0)
        notes.append(f"{what} is animated ({frames} frames); only the first frame is used.")


def _deep_values(data: bytes | None, path: Path | None, image: Image.Image) -> np.ndarray | None:
    """The 16-bit values of a 16-bit colour or gray+alpha PNG (H×W×C uint16), decoded by Pillow
    with other raw modes: the high bytes, then the low bytes, of the same unfiltered rows."""
    if image.format != "PNG" or len(image.tile) != 1:
        return None
    rawmode = image.tile[0].args if hasattr(image.tile[0], "args") else image.tile[0][3]
    if image.mode.startswith("I;16") or image.mode == "I":
        return None  # 16-bit gray: Pillow keeps its full depth itself
    if rawmode == _GRAY_ALPHA_16:
        (planes,) = _decode_as(data, path, ("RGBA",))
        planes = planes.astype(np.uint16)
        return np.stack(
            [planes[..., 0] << 8 | planes[..., 1], planes[..., 2] << 8 | planes[..., 3]], -1
        )
    if not isinstance(rawmode, str) or rawmode not in _DEEP_RAWMODES:
        return None
    high, low = _decode_as(data, path, (rawmode, _DEEP_RAWMODES[rawmode]))
    return (high.astype(np.uint16) << 8) | low


def _decode_as(
    data: bytes | None, path: Path | None, rawmodes: tuple[str, ...]
) -> list[np.ndarray]:
    """The PNG decoded once per raw mode (same rows, other unpacking), each as an array."""
    planes = []
    for raw in rawmodes:
        with Image.open(io.BytesIO(data) if data is not None else path) as again:
            tile = again.tile[0]
            again.tile = [tile._replace(args=raw) if hasattr(tile, "_replace") else tile]
            again.load()
            planes.append(np.asarray(again, dtype=np.uint16 if raw != "RGBA" else np.uint8))
    return planes


def _gray16(image: Image.Image, what: str) -> tuple[Image.Image, np.ndarray]:
    """16-bit (or 32-bit integer) gray as correctly scaled 8-bit L plus its 16-bit values.
    32-bit values a 16-bit PNG cannot hold are refused: clipping them would change the
    picture outside the selection, which an edit promises to keep."""
    values = np.asarray(image.convert("I") if image.mode != "I" else image, dtype=np.int64)
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low < 0 or high > 65535:
        raise InputError(
            f"{what} holds 32-bit values ({low} to {high}) that a 16-bit PNG cannot keep.",
            hint="Convert it to 16 or 8 bits first.",
        )
    values = values.astype(np.uint16)
    return Image.fromarray(_to_8bit(values), "L"), values[..., None]


def _float_gray(image: Image.Image) -> Image.Image:
    values = np.nan_to_num(np.asarray(image, dtype=np.float64))
    scale = 255.0 if values.size and values.max() <= 1.0 else 1.0
    return Image.fromarray(np.clip(values * scale, 0, 255).round().astype(np.uint8), "L")


def _to_8bit(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TRANSPOSE_ARRAY = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(_ORIENTATION_TAG, 1) or 1)
    except Exception:  # a broken EXIF block: show the pixels as stored
        return 1
    return value if value in _TRANSPOSE else 1


def _orient(
    pixels: Image.Image, deep: np.ndarray | None, orientation: int
) -> tuple[Image.Image, np.ndarray | None]:
    """Apply an EXIF orientation to the pixels and to the deep values alike."""
    if orientation not in _TRANSPOSE:
        return pixels, deep
    if deep is not None:
        deep = np.ascontiguousarray(_TRANSPOSE_ARRAY[orientation](deep))
    return pixels.transpose(_TRANSPOSE[orientation]), deep


def _profile(image: Image.Image) -> bytes | None:
    icc = image.info.get("icc_profile")
    return icc if isinstance(icc, bytes) and icc else None


def _is_srgb(icc: bytes) -> bool:
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:
        return False
    return "srgb" in description.lower().replace(" ", "")


def _to_srgb(rgba: Image.Image, icc: bytes, what: str, notes: list[str]) -> Image.Image:
    """The picture in sRGB for the model (the file's own space is kept for the output)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(rgba, source, _SRGB, outputMode=rgba.mode)
    except Exception as exc:  # an unusable profile: say so, use the numbers as they are
        notes.append(f"{what}: its colour profile could not be used ({exc}); read as sRGB.")
        return rgba


def from_srgb(rgba: Image.Image, source: SourceImage) -> Image.Image:
    """A pipeline (sRGB) picture in ``source``'s own colour space, for compositing and output."""
    if not source.converted or source.icc_profile is None:
        return rgba
    profile = ImageCms.ImageCmsProfile(io.BytesIO(source.icc_profile))
    return ImageCms.profileToProfile(rgba, _SRGB, profile, outputMode=rgba.mode)


def open_image(source: Path | bytes, what: str | None = None) -> SourceImage:
    """A picture file as displayed: size-checked, oriented, first frame, full depth, sRGB."""
    path = None if isinstance(source, bytes) else Path(source)
    what = what or (str(path) if path is not None else "the image")
    data = source if isinstance(source, bytes) else None
    notes: list[str] = []
    with open_checked(source, what) as image:
        _first_frame(image, what, notes)
        if image.mode == "CMYK":
            raise InputError(
                f"{what} is a CMYK image; convert it to RGB first.",
                hint="Its colours can't be edited and written back as CMYK.",
            )
        deep = _deep_values(data, path, image)
        _load(image, what)
        has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
        icc = _profile(image)
        gray_alpha = deep is not None and deep.shape[-1] == 2  # Pillow's mode says RGBA
        colour = image.mode in ("RGB", "RGBA", "P", "RGBX", "PA") and not gray_alpha
        orientation = _orientation(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            base, deep = _gray16(image, what)
        elif image.mode == "F":
            base = _float_gray(image)
            notes.append(
                f"{what} holds 32-bit floating-point values; it is edited and written as 8-bit."
            )
        else:
            base = image
        if deep is not None and deep.shape[-1] > 1:  # the correctly rounded 8-bit view
            base = Image.fromarray(_to_8bit(deep))  # LA, RGB or RGBA
        target = "RGBA" if has_alpha else "RGB"  # Pillow holds both as 4 bytes a pixel
        file_pixels, deep = _orient(
            base if base.mode == target else base.convert(target), deep, orientation
        )
    file_pixels.info.clear()
    pixels = file_pixels
    if icc is not None and colour and not _is_srgb(icc):
        pixels = _to_srgb(file_pixels, icc, what, notes)
    return SourceImage(
        pixels=pixels,
        file_pixels=file_pixels,
        has_alpha=has_alpha,
        name=path.name if path is not None else "",
        icc_profile=icc,
        deep=deep,
        warnings=tuple(notes),
    )


def open_mask(source: Path | bytes, what: str | None = None) -> tuple[Image.Image, SourceImage]:
    """A selection mask file as 8-bit coverage L (alpha if it varies, else brightness; 16-bit
    masks scaled, not clipped), oriented like the picture it was drawn on."""
    read = open_image(source, what)
    pixels = read.file_pixels  # a mask is numbers, not colours: no profile conversion
    if read.has_alpha:
        alpha = pixels.getchannel("A")
        low, high = alpha.getextrema()
        if low != high:
            return alpha, read
    if read.deep is not None:
        gray = read.deep[..., 0] if read.deep.shape[-1] <= 2 else _luma16(read.deep)
        return Image.fromarray(_to_8bit(gray), "L"), read
    return pixels.convert("L"), read


def _luma16(values: np.ndarray) -> np.ndarray:
    rgb = values[..., :3].astype(np.float64)
    return np.clip(rgb @ np.array([0.299, 0.587, 0.114]), 0, 65535).round().astype(np.uint16)


# --- writing ----------------------------------------------------------------------------------


def compose(
    source: SourceImage, result: Image.Image, mask: Image.Image, box: tuple[int, int]
) -> Image.Image | np.ndarray:
    """The full picture with ``result`` (pipeline sRGB RGBA, placed at ``box``) blended through
    ``mask`` (L), in the file's own colour space; a ``uint16`` array when the file was 16-bit.

    Where ``mask`` is 0 the output is the input, value for value.
    """
    patch = from_srgb(result, source)
    x, y = box
    w, h = patch.size
    if source.deep is None:
        base = source.file_pixels
        out = base.copy()
        under = base.crop((x, y, x + w, y + h)).convert("RGBA")
        blended = Image.composite(patch.convert("RGBA"), under, mask)
        out.paste(blended if out.mode == "RGBA" else blended.convert(out.mode), (x, y))
        return out
    deep = source.deep
    channels = deep.shape[-1]
    new = np.asarray(patch.convert(_DEEP_MODES[channels]), dtype=np.uint32) * 257
    if channels == 1:
        new = new[..., None]
    weight = np.asarray(mask, dtype=np.uint32)[..., None]
    under = deep[y : y + h, x : x + w].astype(np.uint32)
    blended = (new * weight + under * (255 - weight) + 127) // 255
    out = deep.copy()
    out[y : y + h, x : x + w] = blended.astype(np.uint16)
    return out


def encode_output(
    picture: Image.Image | np.ndarray, fmt: str, source: SourceImage | None, keep_alpha: bool
) -> bytes:
    """Encode a composite for a file of Pillow format ``fmt`` (PNG/JPEG/WEBP), keeping the ICC
    profile, and 16-bit depth where PNG can hold it."""
    icc = source.icc_profile if source is not None else None
    if isinstance(picture, np.ndarray):
        if fmt == "PNG":
            return _png16(picture if keep_alpha else _without_alpha(picture), icc)
        channels = picture.shape[-1]
        eight = _to_8bit(picture)
        mode = _DEEP_MODES[channels]
        picture = Image.fromarray(eight[..., 0] if channels == 1 else eight, mode)
    image = picture
    if fmt == "JPEG":
        image = for_jpeg(image)
    elif not keep_alpha and image.mode in ("RGBA", "LA"):
        image = image.convert("RGB")
    options: dict[str, object] = {"lossless": True} if fmt == "WEBP" else {}
    if icc:
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def for_jpeg(image: Image.Image) -> Image.Image:
    """``image`` as JPEG can hold it (RGB or L): transparent parts flattened onto white, as
    image editors export them, not shown in whatever colour the hidden pixels happened to
    keep (which dropping the alpha channel would do)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _without_alpha(values: np.ndarray) -> np.ndarray:
    """16-bit values less their alpha channel (gray+alpha → gray, RGBA → RGB)."""
    return values[..., :-1] if values.shape[-1] in (2, 4) else values


def _png16(values: np.ndarray, icc: bytes | None) -> bytes:
    """A 16-bit PNG (Pillow writes 16-bit gray but no 16-bit colour): gray, RGB or RGBA."""
    height, width, channels = values.shape
    if channels == 1:
        buffer = io.BytesIO()
        Image.fromarray(values[..., 0].astype("<u2")).save(
            buffer, "PNG", **({"icc_profile": icc} if icc else {})
        )
        return buffer.getvalue()
    colour_type = {2: 4, 3: 2, 4: 6}[channels]
    rows = np.empty((height, 1 + width * channels * 2), dtype=np.uint8)
    rows[:, 0] = 0  # filter "none": zlib does the work
    rows[:, 1:] = values.astype(">u2").reshape(height, -1).view(np.uint8)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header)]
    if icc:
        parts.append(chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)))
    parts += [chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), chunk(b"IEND", b"")]
    return b"".join(parts)
