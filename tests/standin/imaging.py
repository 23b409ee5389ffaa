"""Deterministic images derived from the request, so a test can tell what was sent.

Generations: a flat background with a centred block, both colours from hash(prompt, index).
Edits: the first input image, resized to the requested size, inverted and tinted (tint from
hash(prompt, index)) wherever the mask is transparent, or everywhere when there is no mask.
Partials: blocky low-detail versions of the final image. Usage: plausible token counts.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from .api_errors import ApiError, mask_error
from .multipart import Part
from .validation import MAX_IMAGES, MAX_MASK_BYTES, ImageParams

ACCEPTED_MIMES = ("image/png", "image/jpeg", "image/webp")
MAX_IMAGE_BYTES = 50 * 1024 * 1024
DEFAULT_SIZE = (1024, 1024)
OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}
#: b of OpenAI's output-token formula for the flexible-size models (docs/images-api.md).
FORMULA_B = {
    "gpt-image-2": {"low": 16, "medium": 48, "high": 96},
    "gpt-image-2.5": {"low": 16, "medium": 24, "high": 48, "xhigh": 64, "max": 96},
}
PARTIAL_TOKENS = 100


@dataclass(frozen=True)
class Upload:
    """One decoded input image (or the mask) with what the record shows about it."""

    field: str
    filename: str | None
    content_type: str | None
    image: Image.Image
    format: str
    nbytes: int

    def describe(self) -> dict[str, object]:
        return {
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "format": self.format,
            "size": list(self.image.size),
            "mode": self.image.mode,
            "bytes": self.nbytes,
            # the decoded pixels, so callers can prove two requests carried the same picture
            "pixels_sha256": hashlib.sha256(self.image.tobytes()).hexdigest(),
        }


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def generation_colors(prompt: str, index: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(background, block) colours of generated image ``index`` for ``prompt``."""
    d = _digest("gen", prompt, index)
    return (d[0], d[1], d[2]), (255 - d[0], d[3], 255 - d[2])


def edit_tint(prompt: str, index: int) -> tuple[int, int, int]:
    """Tint mixed into the inverted input where an edit applies."""
    d = _digest("edit", prompt, index)
    return d[0], d[1], d[2]


def edited_pixel(original: tuple[int, int, int], prompt: str, index: int) -> tuple[int, int, int]:
    """The colour an editable pixel of ``original`` comes back as (before encoding loss)."""
    tint = edit_tint(prompt, index)
    return tuple((255 - o + t) // 2 for o, t in zip(original, tint, strict=True))  # type: ignore[return-value]


def read_images(parts: list[Part]) -> list[Upload]:
    """The ``image`` / ``image[]`` parts, checked like the API checks them."""
    files = [p for p in parts if p.name in ("image", "image[]")]
    if not files:
        raise ApiError(
            400,
            "Missing required parameter: 'image'.",
            param="image",
            code="missing_required_parameter",
        )
    if len(files) > MAX_IMAGES:
        raise ApiError(
            400,
            f"Invalid 'image': too many images. Expected an array with maximum length {MAX_IMAGES}, "
            f"but got an array with length {len(files)} instead.",
            param="image",
            code="array_above_max_length",
        )
    return [_read_image(p, i) for i, p in enumerate(files)]


def _read_image(part: Part, position: int) -> Upload:
    mime = part.content_type or "application/octet-stream"
    if mime not in ACCEPTED_MIMES:
        raise ApiError(
            400,
            f"Invalid file '{part.name}': unsupported mimetype ('{mime}'). Supported file formats "
            "are 'image/jpeg', 'image/png', and 'image/webp'.",
            param=part.name,
            code="unsupported_file_mimetype",
        )
    if len(part.data) > MAX_IMAGE_BYTES:
        raise ApiError(
            400,
            f"Image {position + 1} is larger than 50 MB.",
            param=part.name,
            code="invalid_image",
        )
    image, fmt = _decode(part.data)
    if image is None:
        raise ApiError(
            400,
            f"Invalid image file or mode for image {position + 1}, please check your image file.",
            param=part.name,
            code="invalid_image",
        )
    return Upload(part.name, part.filename, part.content_type, image, fmt, len(part.data))


def read_mask(parts: list[Part], first: Upload) -> Upload | None:
    """The mask: a PNG with alpha, exactly the first image's size, under 4 MB."""
    found = [p for p in parts if p.name == "mask"]
    if not found:
        return None
    part = found[0]
    if len(part.data) >= MAX_MASK_BYTES:
        raise mask_error("mask must be smaller than 4 MB")
    image, fmt = _decode(part.data)
    if image is None or fmt != "PNG":
        raise mask_error("mask must be a PNG image")
    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        raise mask_error("mask image missing alpha channel")
    if image.size != first.image.size:
        raise mask_error("mask size does not match image size")
    return Upload(part.name, part.filename, part.content_type, image, fmt, len(part.data))


def _decode(data: bytes) -> tuple[Image.Image | None, str]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        return None, ""
    return image, image.format or ""


def generate(params: ImageParams, index: int) -> Image.Image:
    size = params.size or DEFAULT_SIZE
    back, block = generation_colors(params.prompt, index)
    image = Image.new("RGB", size, back)
    w, h = size
    ImageDraw.Draw(image).rectangle((w // 4, h // 4, 3 * w // 4 - 1, 3 * h // 4 - 1), fill=block)
    return image


def edit(params: ImageParams, first: Upload, mask: Upload | None, index: int) -> Image.Image:
    source = first.image.convert("RGBA")
    size = params.size or source.size
    if source.size != size:
        source = source.resize(size, Image.Resampling.BILINEAR)
    rgb = source.convert("RGB")
    tint = Image.new("RGB", size, edit_tint(params.prompt, index))
    edited = ImageChops.add(ImageChops.invert(rgb), tint, scale=2.0)
    if mask is None:
        region = Image.new("L", size, 255)
    else:
        alpha = mask.image.convert("RGBA").getchannel("A")
        if alpha.size != size:
            alpha = alpha.resize(size, Image.Resampling.NEAREST)
        region = alpha.point(lambda a: 255 if a == 0 else 0)
    result = Image.composite(edited, rgb, region)
    if params.background == "transparent":
        result.putalpha(source.getchannel("A"))
    return result


def partial(final: Image.Image, k: int, total: int) -> Image.Image:
    """A blocky preview: coarser for earlier partials."""
    factor = max(2, 32 >> k) if total else 8
    w, h = final.size
    small = final.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.BOX)
    return small.resize((w, h), Image.Resampling.NEAREST)


def encode(image: Image.Image, params: ImageParams) -> bytes:
    out = io.BytesIO()
    fmt = params.output_format
    transparent = params.background == "transparent" and fmt != "jpeg"
    if not transparent and image.mode != "RGB":
        image = image.convert("RGB")
    if fmt == "png":
        image.save(out, "PNG", compress_level=1)
    elif fmt == "jpeg":
        image.save(out, "JPEG", quality=params.output_compression or 95)
    else:
        image.save(out, "WEBP", quality=params.output_compression or 95)
    return out.getvalue()


def output_tokens_per_image(model: str, quality: str, size: tuple[int, int]) -> int:
    """What the API bills per image: the formula for flexible models, the table otherwise.
    Under quality auto the API picks medium."""
    quality = "medium" if quality == "auto" else quality
    family = "gpt-image-2.5" if model.startswith("gpt-image-2.5") else model.split("-20")[0]
    if family in FORMULA_B:
        b = FORMULA_B[family][quality]
        w, h = size
        return math.ceil(b * round(b / (max(w, h) / min(w, h))) * (2e6 + w * h) / 4e6)
    return math.ceil(OUTPUT_TOKENS_1024[quality] * size[0] * size[1] / (1024 * 1024))


def usage(params: ImageParams, size: tuple[int, int], inputs: list[Upload]) -> dict[str, object]:
    """Token counts shaped like the API's: output by size and quality, input by text and images."""
    per_image = output_tokens_per_image(params.model, params.quality, size)
    output_tokens = params.n * (
        per_image + PARTIAL_TOKENS * (params.partial_images if params.stream else 0)
    )
    text_tokens = max(1, len(params.prompt) // 4)
    image_tokens = sum(
        65 + 129 * math.ceil(u.image.size[0] / 512) * math.ceil(u.image.size[1] / 512)
        for u in inputs
    )
    return {
        "input_tokens": text_tokens + image_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
        "total_tokens": text_tokens + image_tokens + output_tokens,
    }
