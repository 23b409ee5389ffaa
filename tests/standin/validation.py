"""Request validation that mirrors the real Images API (see docs/images-api.md).

Each check raises ``ApiError`` with the API's own wording, status, type, param and code, so a
client tested against the stand-in meets the same refusals it would meet for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .api_errors import (
    ApiError,
    integer_range,
    invalid_value,
    missing,
    size_error,
    unknown_parameter,
)

MODELS_25 = (
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
)
FLEXIBLE_MODELS = ("gpt-image-2", "gpt-image-2-2026-04-21", *MODELS_25)
FIXED_MODELS = ("gpt-image-1.5", "gpt-image-1-mini", "gpt-image-1")
IMAGE_MODELS = FLEXIBLE_MODELS + FIXED_MODELS
TEXT_MODELS = ("gpt-5", "gpt-5-mini", "gpt-4.1-mini")
FIXED_SIZES = ["1024x1024", "1536x1024", "1024x1536", "auto"]
FIDELITY_MODELS = ("gpt-image-1", "gpt-image-1.5")
QUALITIES = ["low", "medium", "high", "auto"]
QUALITIES_25 = ["low", "medium", "high", "xhigh", "max", "auto"]
BACKGROUNDS = ["transparent", "opaque", "auto"]
FORMATS = ["png", "jpeg", "webp"]
MODERATIONS = ["low", "auto"]
FIDELITIES = ["high", "low"]

MAX_PROMPT = 32000
MAX_IMAGES = 16
MAX_MASK_BYTES = 4 * 1024 * 1024
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840

COMMON_PARAMS = {
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "stream",
    "partial_images",
    "user",
    "safety_identifier",
}
EDIT_ONLY_PARAMS = {"image", "image[]", "mask", "input_fidelity"}


@dataclass(frozen=True)
class ImageParams:
    model: str
    prompt: str
    n: int
    size: tuple[int, int] | None  # None = auto
    quality: str
    background: str
    output_format: str
    output_compression: int | None
    moderation: str
    stream: bool
    partial_images: int
    input_fidelity: str | None

    @property
    def size_text(self) -> str:
        return "auto" if self.size is None else f"{self.size[0]}x{self.size[1]}"


def validate_params(raw: dict[str, Any], *, edit: bool) -> ImageParams:
    """Check the non-file parameters of a generations or edits request."""
    allowed = COMMON_PARAMS | (EDIT_ONLY_PARAMS if edit else set())
    for name in raw:
        if name not in allowed:
            raise unknown_parameter(name)
    model = raw.get("model")
    if not model:
        raise missing("model")
    if model not in IMAGE_MODELS:
        raise ApiError(
            400,
            f"Invalid value: '{model}'. Value must be one of {', '.join(IMAGE_MODELS)}.",
            param="model",
            code="invalid_value",
        )
    prompt = raw.get("prompt")
    if prompt is None or prompt == "":
        raise missing("prompt")
    if len(prompt) > MAX_PROMPT:
        raise ApiError(
            400,
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{MAX_PROMPT}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    n = _integer(raw, "n", 1)
    _raise(integer_range("n", n, 1, 10))
    quality = _choice(raw, "quality", QUALITIES_25 if model in MODELS_25 else QUALITIES, "auto")
    background = _choice(raw, "background", BACKGROUNDS, "auto")
    output_format = _choice(raw, "output_format", FORMATS, "png")
    moderation = _choice(raw, "moderation", MODERATIONS, "auto")
    compression = _optional_integer(raw, "output_compression")
    if compression is not None:
        _raise(integer_range("output_compression", compression, 0, 100))
        if output_format == "png" and compression < 100:
            raise ApiError(
                400,
                "Compression less than 100 is not supported for PNG output format.",
                param="output_compression",
                code="invalid_value",
            )
    if background == "transparent" and output_format == "jpeg":
        raise ApiError(
            400,
            "Transparent background is not supported for output format 'jpeg'. Use 'png' or 'webp'.",
            type="image_generation_user_error",
            param="background",
            code="invalid_value",
        )
    partials = _integer(raw, "partial_images", 0)
    _raise(integer_range("partial_images", partials, 0, 3))
    fidelity = raw.get("input_fidelity")
    if fidelity is not None:
        if model not in FIDELITY_MODELS and not (model == "gpt-image-1-mini" and fidelity == "low"):
            raise ApiError(
                400,
                f"input_fidelity is not supported for model '{model}'.",
                param="input_fidelity",
                code="invalid_input_fidelity_model",
            )
        if fidelity not in FIDELITIES:
            raise invalid_value("input_fidelity", fidelity, FIDELITIES)
    return ImageParams(
        model=model,
        prompt=prompt,
        n=n,
        size=validate_size(model, str(raw.get("size") or "auto")),
        quality=quality,
        background=background,
        output_format=output_format,
        output_compression=compression,
        moderation=moderation,
        stream=_boolean(raw.get("stream", False)),
        partial_images=partials,
        input_fidelity=fidelity,
    )


def validate_size(model: str, size: str) -> tuple[int, int] | None:
    """gpt-image-2: x16, edge ≤ 3840, ratio ≤ 3, pixel budget; others: the three fixed sizes."""
    if size == "auto":
        return None
    if model not in FLEXIBLE_MODELS:
        if size not in FIXED_SIZES:
            raise invalid_value("size", size, FIXED_SIZES)
        w, _, h = size.partition("x")
        return int(w), int(h)
    w_text, sep, h_text = size.partition("x")
    if not sep or not w_text.isdigit() or not h_text.isdigit():
        raise size_error(f"Invalid size '{size}'. Size must be 'auto' or WIDTHxHEIGHT.")
    w, h = int(w_text), int(h_text)
    if w % 16 or h % 16:
        raise size_error(f"Invalid size '{size}'. Width and height must both be divisible by 16.")
    if max(w, h) > MAX_EDGE:
        raise size_error(
            f"Invalid size '{size}'. The longest edge must be less than or equal to {MAX_EDGE} pixels."
        )
    if max(w, h) > 3 * min(w, h):
        raise size_error(
            f"Invalid size '{size}'. The aspect ratio (long edge to short edge) must not exceed 3:1."
        )
    if w * h < MIN_PIXELS:
        raise size_error("Requested resolution is below the current minimum pixel budget.")
    if w * h > MAX_PIXELS:
        raise size_error("Requested resolution is above the current maximum pixel budget.")
    return w, h


def _raise(error: ApiError | None) -> None:
    if error is not None:
        raise error


def _choice(raw: dict[str, Any], name: str, allowed: list[str], default: str) -> str:
    value = raw.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise invalid_value(name, value, allowed)
    return str(value)


def _integer(raw: dict[str, Any], name: str, default: int) -> int:
    value = _optional_integer(raw, name)
    return default if value is None else value


def _optional_integer(raw: dict[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _type_error(name, "boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # multipart fields arrive as text
        try:
            return int(value)
        except ValueError:
            raise _type_error(name, "string") from None
    raise _type_error(name, type(value).__name__)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApiError(
        400,
        "Invalid type for 'stream': expected a boolean.",
        param="stream",
        code="invalid_type",
    )


def _type_error(name: str, got: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{name}': expected an integer, but got a {got} instead.",
        param=name,
        code="invalid_type",
    )
